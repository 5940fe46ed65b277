"""HTTP API of affiliate selling: the shops' offers, the anchors' pool and applications,
and the anchors' commissions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, status

from laotie.accounts.deps import ActorDep
from laotie.affiliate import pool
from laotie.affiliate.errors import AffiliateError
from laotie.affiliate.schemas import (
    ApplicationIn,
    ApplicationOut,
    ApplicationStatus,
    DecisionIn,
    OfferIn,
    OfferOut,
    PoolItemOut,
)
from laotie.core.deps import CtxDep, Offset
from laotie.core.errors import CommonError, not_found
from laotie.core.openapi import errors
from laotie.orders import commissions, payouts
from laotie.orders.errors import OrderError
from laotie.orders.schemas import (
    CommissionsOut,
    PayoutAccountIn,
    PayoutAccountOut,
    PayoutIn,
    PayoutOut,
)

router = APIRouter(prefix="/api", tags=["affiliate"])

ID_PATTERN = r"^[A-Za-z0-9_-]{1,40}$"
Id = Annotated[str, Path(pattern=ID_PATTERN)]
Limit = Annotated[int, Query(ge=1, le=pool.MAX_PAGE)]
Minor = Annotated[int | None, Query(ge=0, le=10**12)]
TIERS = r"^(new|low|fair|good|excellent)$"


@router.put(
    "/shops/{shop_id}/pool/{product_id}",
    response_model=OfferOut,
    responses=errors(
        CommonError.NOT_FOUND,
        CommonError.FORBIDDEN,
        CommonError.CONFLICT,
        AffiliateError.COMMISSION_OUT_OF_BOUNDS,
        AffiliateError.OFFER_DATES_INVALID,
    ),
)
async def put_offer(
    shop_id: Id, product_id: Id, body: OfferIn, actor: ActorDep, ctx: CtxDep
) -> OfferOut:
    """Offer a product of the shop in the selection pool, or change its terms (its owner)."""
    return await pool.do_put_offer(ctx, actor, shop_id, product_id, body)


@router.get(
    "/shops/{shop_id}/pool",
    response_model=list[OfferOut],
    responses=errors(CommonError.NOT_FOUND, CommonError.FORBIDDEN),
)
async def shop_offers(shop_id: Id, actor: ActorDep, ctx: CtxDep) -> list[OfferOut]:
    """The shop's offers with every term and their anchors counted (its owner only)."""
    return await pool.offers_of_shop(ctx, actor, shop_id)


@router.post(
    "/pool/offers/{offer_id}/withdrawal",
    response_model=OfferOut,
    responses=errors(CommonError.NOT_FOUND),
)
async def withdraw_offer(offer_id: Id, actor: ActorDep, ctx: CtxDep) -> OfferOut:
    """Take an offer out of the pool; its anchors can no longer add or sell the product."""
    return await pool.do_withdraw_offer(ctx, actor, offer_id)


@router.get("/pool", response_model=list[PoolItemOut], responses=errors(CommonError.FORBIDDEN))
async def browse_pool(
    actor: ActorDep,
    ctx: CtxDep,
    category: Annotated[str | None, Query(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")] = None,
    min_price_minor: Minor = None,
    max_price_minor: Minor = None,
    min_commission_bps: Annotated[int | None, Query(ge=0, le=10_000)] = None,
    tier: Annotated[list[Annotated[str, Query(pattern=TIERS)]] | None, Query()] = None,
    q: Annotated[str | None, Query(max_length=80)] = None,
    limit: Limit = 20,
    offset: Offset = 0,
) -> list[PoolItemOut]:
    """The products in the pool now, the best paid first (anchors), by category, price,
    commission, the shop's trust tier and words of the title."""
    filters = pool.Filters(
        category=category,
        min_price_minor=min_price_minor,
        max_price_minor=max_price_minor,
        min_commission_bps=min_commission_bps,
        tiers=frozenset(tier or ()),
        q=q,
    )
    return await pool.browse_pool(ctx, actor, filters, limit, offset)


@router.post(
    "/pool/offers/{offer_id}/applications",
    status_code=status.HTTP_201_CREATED,
    response_model=ApplicationOut,
    responses=errors(
        CommonError.FORBIDDEN,
        AffiliateError.OFFER_CLOSED,
        AffiliateError.OWN_OFFER,
        AffiliateError.REPUTATION_TOO_LOW,
        AffiliateError.APPLICATION_EXISTS,
    ),
)
async def apply(offer_id: Id, body: ApplicationIn, actor: ActorDep, ctx: CtxDep) -> ApplicationOut:
    """Ask to sell an offer's product (anchors); an offer with a rule approves at once."""
    return await pool.do_apply(ctx, actor, offer_id, body)


@router.get(
    "/shops/{shop_id}/pool-applications",
    response_model=list[ApplicationOut],
    responses=errors(CommonError.NOT_FOUND, CommonError.FORBIDDEN),
)
async def shop_applications(
    shop_id: Id,
    actor: ActorDep,
    ctx: CtxDep,
    application_status: Annotated[ApplicationStatus | None, Query(alias="status")] = None,
) -> list[ApplicationOut]:
    """The anchors' applications to the shop's offers, newest first (its owner only)."""
    return await pool.applications_of_shop(ctx, actor, shop_id, application_status)


@router.post(
    "/pool/applications/{application_id}/decision",
    response_model=ApplicationOut,
    responses=errors(CommonError.NOT_FOUND, AffiliateError.APPLICATION_NOT_PENDING),
)
async def decide(
    application_id: Id, body: DecisionIn, actor: ActorDep, ctx: CtxDep
) -> ApplicationOut:
    """Approve or reject an application, or revoke an approval (the offering shop)."""
    return await pool.do_decide(ctx, actor, application_id, body.decision)


@router.get("/me/pool-applications", response_model=list[ApplicationOut])
async def my_applications(actor: ActorDep, ctx: CtxDep) -> list[ApplicationOut]:
    """The signed-in anchor's applications, newest first."""
    return await pool.applications_of_anchor(ctx, actor)


@router.get("/me/commissions", response_model=CommissionsOut)
async def my_commissions(actor: ActorDep, ctx: CtxDep) -> CommissionsOut:
    """The signed-in anchor's commissions: pending, released, and its balance to withdraw."""
    return await commissions.commissions_of_anchor(ctx, actor)


@router.get(
    "/me/payout-account",
    response_model=PayoutAccountOut,
    responses=errors(CommonError.NOT_FOUND),
)
async def my_payout_account(actor: ActorDep, ctx: CtxDep) -> PayoutAccountOut:
    """Where the signed-in anchor's payouts of its commissions go."""
    account = await payouts.anchor_payout_account(ctx, actor)
    if account is None:
        raise not_found("payout account")
    return account


@router.put(
    "/me/payout-account",
    response_model=PayoutAccountOut,
    responses=errors(CommonError.FORBIDDEN),
)
async def set_my_payout_account(
    body: PayoutAccountIn, actor: ActorDep, ctx: CtxDep
) -> PayoutAccountOut:
    """Set where the signed-in anchor's payouts go (anchors)."""
    return await payouts.do_set_anchor_payout_account(ctx, actor, body.holder_name, body.account_no)


@router.post(
    "/me/payouts",
    status_code=status.HTTP_201_CREATED,
    response_model=PayoutOut,
    responses=errors(
        CommonError.FORBIDDEN, OrderError.PAYOUT_ACCOUNT_MISSING, OrderError.BALANCE_TOO_LOW
    ),
)
async def request_my_payout(
    body: PayoutIn, request: Request, actor: ActorDep, ctx: CtxDep
) -> PayoutOut:
    """Withdraw part of the released commissions; refused beyond what was released."""
    return await payouts.do_request_anchor_payout(
        ctx,
        actor,
        body.amount_minor,
        request.app.state.payout_providers["sandbox_payouts"],
        request.app.state.tasks.kick,
    )


@router.get("/me/payouts", response_model=list[PayoutOut])
async def my_payouts(actor: ActorDep, ctx: CtxDep) -> list[PayoutOut]:
    """The signed-in anchor's payouts of its commissions, newest first."""
    return await payouts.payouts_of_anchor(ctx, actor)
