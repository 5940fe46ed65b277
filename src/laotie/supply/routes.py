"""HTTP API of the supply feature: factories, partnerships, campaigns and commitments."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, status

from laotie.accounts.deps import ActorDep, MaybeActorDep
from laotie.catalog.errors import CatalogError
from laotie.core.deps import CtxDep, IdempotencyKeyDep, Offset
from laotie.core.errors import CommonError
from laotie.core.openapi import errors
from laotie.orders.deps import payment_providers, sandbox_provider
from laotie.orders.errors import OrderError
from laotie.orders.schemas import OrderOut
from laotie.supply import (
    balances,
    campaigns,
    commitments,
    defaults,
    factories,
    forecasts,
    partners,
    reruns,
    runs,
    shipments,
)
from laotie.supply.errors import SupplyError
from laotie.supply.schemas import (
    BalanceIn,
    CampaignIn,
    CampaignOut,
    CampaignSalesOut,
    CommitIn,
    CommitmentOut,
    FactoryIn,
    FactoryOut,
    FactoryUpdateIn,
    FactoryVerificationIn,
    ForecastOut,
    PartnershipAnswerIn,
    PartnershipIn,
    PartnershipOut,
    RerunIn,
    RunOut,
    RunShipmentIn,
    RunStepIn,
)

router = APIRouter(prefix="/api", tags=["supply"])

ID_PATTERN = r"^[A-Za-z0-9_-]{1,40}$"
FactoryId = Annotated[str, Path(pattern=ID_PATTERN)]
ShopId = Annotated[str, Path(pattern=ID_PATTERN)]
Limit = Annotated[int, Query(ge=1, le=factories.MAX_PAGE)]
CategoryFilter = Annotated[str | None, Query(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")]
OwnerFilter = Annotated[str | None, Query(pattern=ID_PATTERN)]


@router.post(
    "/factories",
    status_code=status.HTTP_201_CREATED,
    response_model=FactoryOut,
    responses=errors(
        CommonError.FORBIDDEN,
        CatalogError.CATEGORY_UNKNOWN,
        SupplyError.PRICE_TIERS_INVALID,
        SupplyError.FACTORY_NAME_TAKEN,
    ),
)
async def create_factory(body: FactoryIn, actor: ActorDep, ctx: CtxDep) -> FactoryOut:
    """Register a factory and what it can make (factory accounts)."""
    return await factories.do_create_factory(ctx, actor, body)


@router.get("/factories", response_model=list[FactoryOut])
async def list_factories(
    ctx: CtxDep,
    viewer: MaybeActorDep,
    category: CategoryFilter = None,
    owner_id: OwnerFilter = None,
    limit: Limit = 20,
    offset: Offset = 0,
) -> list[FactoryOut]:
    """Verified factories, of a category or an owner; owners see their own unverified."""
    return await factories.list_factories(
        ctx, viewer, category=category, owner_id=owner_id, limit=limit, offset=offset
    )


@router.get(
    "/factories/{factory_id}",
    response_model=FactoryOut,
    responses=errors(CommonError.NOT_FOUND),
)
async def get_factory(factory_id: FactoryId, ctx: CtxDep, viewer: MaybeActorDep) -> FactoryOut:
    """A factory (an unverified one only for its owner and operators)."""
    return await factories.get_factory(ctx, viewer, factory_id)


@router.patch(
    "/factories/{factory_id}",
    response_model=FactoryOut,
    responses=errors(
        CommonError.NOT_FOUND,
        CatalogError.CATEGORY_UNKNOWN,
        SupplyError.PRICE_TIERS_INVALID,
        SupplyError.FACTORY_NAME_TAKEN,
    ),
)
async def update_factory(
    factory_id: FactoryId, body: FactoryUpdateIn, actor: ActorDep, ctx: CtxDep
) -> FactoryOut:
    """Change the owner's factory profile or capabilities."""
    return await factories.do_update_factory(ctx, actor, factory_id, body)


@router.post(
    "/factories/{factory_id}/verification",
    response_model=FactoryOut,
    responses=errors(CommonError.FORBIDDEN, CommonError.NOT_FOUND),
)
async def verify_factory(
    factory_id: FactoryId, body: FactoryVerificationIn, actor: ActorDep, ctx: CtxDep
) -> FactoryOut:
    """Verify a factory, or withdraw the verification (operators)."""
    return await factories.do_verify_factory(ctx, actor, factory_id, body)


@router.post(
    "/shops/{shop_id}/partners",
    status_code=status.HTTP_201_CREATED,
    response_model=PartnershipOut,
    responses=errors(
        CommonError.FORBIDDEN,
        CommonError.NOT_FOUND,
        SupplyError.FACTORY_UNVERIFIED,
        SupplyError.PARTNERSHIP_EXISTS,
    ),
)
async def request_partnership(
    shop_id: ShopId, body: PartnershipIn, actor: ActorDep, ctx: CtxDep
) -> PartnershipOut:
    """Ask a verified factory to partner with the shop (its owner)."""
    return await partners.do_request_partnership(ctx, actor, shop_id, body)


@router.get(
    "/shops/{shop_id}/partners",
    response_model=list[PartnershipOut],
    responses=errors(CommonError.FORBIDDEN, CommonError.NOT_FOUND),
)
async def shop_partners(shop_id: ShopId, actor: ActorDep, ctx: CtxDep) -> list[PartnershipOut]:
    """The shop's partnerships and requests, newest first (its owner, operators)."""
    return await partners.partners_of_shop(ctx, actor, shop_id)


@router.delete(
    "/shops/{shop_id}/partners/{factory_id}",
    response_model=PartnershipOut,
    responses=errors(CommonError.FORBIDDEN, CommonError.NOT_FOUND),
)
async def end_partnership(
    shop_id: ShopId, factory_id: FactoryId, actor: ActorDep, ctx: CtxDep
) -> PartnershipOut:
    """End a partnership, or withdraw a request (the shop's owner or the factory's)."""
    return await partners.do_end_partnership(ctx, actor, shop_id, factory_id)


@router.get(
    "/factories/{factory_id}/partners",
    response_model=list[PartnershipOut],
    responses=errors(CommonError.NOT_FOUND),
)
async def factory_partners(
    factory_id: FactoryId, actor: ActorDep, ctx: CtxDep
) -> list[PartnershipOut]:
    """The factory's partnerships and the shops' requests, newest first (its owner)."""
    return await partners.partners_of_factory(ctx, actor, factory_id)


@router.post(
    "/factories/{factory_id}/partners/{shop_id}/answer",
    response_model=PartnershipOut,
    responses=errors(CommonError.NOT_FOUND, SupplyError.PARTNERSHIP_NOT_REQUESTED),
)
async def answer_partnership(
    factory_id: FactoryId,
    shop_id: ShopId,
    body: PartnershipAnswerIn,
    actor: ActorDep,
    ctx: CtxDep,
) -> PartnershipOut:
    """Accept or decline a shop's request (the factory's owner)."""
    return await partners.do_answer_partnership(ctx, actor, factory_id, shop_id, body.answer)


# ---------------------------------------------------------------- campaigns

CampaignId = Annotated[str, Path(pattern=ID_PATTERN)]
RunId = Annotated[str, Path(pattern=ID_PATTERN)]
CommitmentId = Annotated[str, Path(pattern=ID_PATTERN)]
IdFilter = Annotated[str | None, Query(pattern=ID_PATTERN)]


@router.post(
    "/campaigns",
    status_code=status.HTTP_201_CREATED,
    response_model=CampaignOut,
    responses=errors(
        CommonError.NOT_FOUND,
        SupplyError.NOT_PARTNER,
        SupplyError.CATEGORY_NOT_MADE,
        SupplyError.MOQ_BELOW_FACTORY,
        SupplyError.PRICE_TIERS_INVALID,
        SupplyError.CAP_BELOW_MOQ,
        SupplyError.DEADLINE_INVALID,
        SupplyError.TOO_MANY_VARIANTS,
        SupplyError.DEPOSIT_TOO_LOW,
        SupplyError.SHOW_ENDED,
    ),
)
async def open_campaign(body: CampaignIn, actor: ActorDep, ctx: CtxDep) -> CampaignOut:
    """Open a campaign with the shop's partner factory (the shop's owner, or the anchor of
    the show it is opened in)."""
    return await campaigns.do_open_campaign(ctx, actor, body)


@router.get("/campaigns", response_model=list[CampaignOut])
async def list_campaigns(
    ctx: CtxDep, shop_id: IdFilter = None, session_id: IdFilter = None
) -> list[CampaignOut]:
    """A shop's or a show's campaigns, newest first (50 at most)."""
    return await campaigns.campaigns_of(ctx, shop_id=shop_id, session_id=session_id)


@router.get(
    "/campaigns/{campaign_id}", response_model=CampaignOut, responses=errors(CommonError.NOT_FOUND)
)
async def get_campaign(campaign_id: CampaignId, ctx: CtxDep) -> CampaignOut:
    """A campaign and its progress toward the MOQ."""
    return await campaigns.get_campaign(ctx, campaign_id)


@router.get(
    "/campaigns/{campaign_id}/forecast",
    response_model=ForecastOut,
    responses=errors(CommonError.NOT_FOUND),
)
async def campaign_forecast(campaign_id: CampaignId, actor: ActorDep, ctx: CtxDep) -> ForecastOut:
    """The units the campaign is expected to end with, from its commitments so far (its
    shop, its opener, its factory, operators; docs/supply.md, "Forecasts")."""
    return await forecasts.campaign_forecast(ctx, actor, campaign_id)


@router.post(
    "/campaigns/{campaign_id}/commitments",
    status_code=status.HTTP_201_CREATED,
    response_model=CommitmentOut,
    responses=errors(
        CommonError.NOT_FOUND,
        SupplyError.CAMPAIGN_CLOSED,
        SupplyError.CAMPAIGN_FULL,
        SupplyError.VARIANT_UNKNOWN,
    ),
)
async def commit(
    campaign_id: CampaignId,
    body: CommitIn,
    key: IdempotencyKeyDep,
    request: Request,
    actor: ActorDep,
    ctx: CtxDep,
) -> CommitmentOut:
    """Commit to units of a variant; the deposit is paid at `pay_url`. The same
    Idempotency-Key again answers the same commitment."""
    provider = sandbox_provider(request)
    return await commitments.do_commit(ctx, actor, campaign_id, body, key, provider)


@router.post(
    "/commitments/{commitment_id}/withdrawal",
    response_model=CommitmentOut,
    responses=errors(
        CommonError.NOT_FOUND, SupplyError.CAMPAIGN_CLOSED, SupplyError.COMMITMENT_ENDED
    ),
)
async def withdraw(
    commitment_id: CommitmentId, request: Request, actor: ActorDep, ctx: CtxDep
) -> CommitmentOut:
    """Withdraw before the deadline; a paid deposit is refunded."""
    provider = sandbox_provider(request)
    return await commitments.do_withdraw(ctx, actor, commitment_id, provider)


@router.post(
    "/commitments/{commitment_id}/balance",
    status_code=status.HTTP_201_CREATED,
    response_model=OrderOut,
    responses=errors(
        CommonError.NOT_FOUND,
        SupplyError.COMMITMENT_ENDED,
        SupplyError.BALANCE_OVERDUE,
        SupplyError.BALANCE_ORDERED,
        OrderError.ADDRESS_REQUIRED,
        OrderError.OUT_OF_STOCK,
    ),
)
async def start_balance(
    commitment_id: CommitmentId,
    key: IdempotencyKeyDep,
    actor: ActorDep,
    ctx: CtxDep,
    body: BalanceIn | None = None,
) -> OrderOut:
    """Place the order of a confirmed commitment: its units at the tier reached, less the
    deposit; pay it as any order (`POST /api/payments`) before `expires_at`, or the deposit
    is forfeited. The same Idempotency-Key again answers the same order."""
    address_id = None if body is None else body.address_id
    return await balances.do_start_balance(ctx, actor, commitment_id, key, address_id)


@router.post(
    "/campaigns/{campaign_id}/cancellation",
    response_model=CampaignOut,
    responses=errors(
        CommonError.NOT_FOUND, SupplyError.CAMPAIGN_NOT_CONFIRMED, SupplyError.RUN_SHIPPED
    ),
)
async def cancel_campaign(
    campaign_id: CampaignId, request: Request, actor: ActorDep, ctx: CtxDep
) -> CampaignOut:
    """Cancel a confirmed campaign before its goods ship (the shop's owner): every deposit
    is returned double, the second half from the shop's security deposit."""
    providers = payment_providers(request)
    return await defaults.do_cancel_campaign(ctx, actor, campaign_id, providers)


@router.get(
    "/campaigns/{campaign_id}/sales",
    response_model=CampaignSalesOut,
    responses=errors(CommonError.NOT_FOUND, SupplyError.CAMPAIGN_NOT_CONFIRMED),
)
async def campaign_sales(campaign_id: CampaignId, actor: ActorDep, ctx: CtxDep) -> CampaignSalesOut:
    """What a confirmed campaign's product sold since its first run, by variant, with its
    returns and their reason codes, and the mix a rerun would have now (its shop's owner,
    its factory's owner, operators)."""
    return await reruns.campaign_sales(ctx, actor, campaign_id)


@router.post(
    "/campaigns/{campaign_id}/reruns",
    status_code=status.HTTP_201_CREATED,
    response_model=RunOut,
    responses=errors(
        CommonError.NOT_FOUND,
        SupplyError.CAMPAIGN_NOT_CONFIRMED,
        SupplyError.RERUN_NOT_READY,
        SupplyError.NOT_PARTNER,
        SupplyError.MOQ_BELOW_FACTORY,
    ),
)
async def open_rerun(
    campaign_id: CampaignId, body: RerunIn, actor: ActorDep, ctx: CtxDep
) -> RunOut:
    """Order a small-batch rerun from the factory once the last run has shipped: the net
    sales since that run by variant (`{}`), or `units` split the same way (the shop's
    owner)."""
    return await reruns.do_open_rerun(ctx, actor, campaign_id, body)


@router.get("/me/commitments", response_model=list[CommitmentOut])
async def my_commitments(request: Request, actor: ActorDep, ctx: CtxDep) -> list[CommitmentOut]:
    """The caller's commitments, newest first."""
    return await commitments.commitments_of_buyer(ctx, actor, sandbox_provider(request))


@router.post(
    "/runs/{run_id}/steps",
    response_model=RunOut,
    responses=errors(CommonError.NOT_FOUND, SupplyError.RUN_STEP_INVALID),
)
async def advance_run(run_id: RunId, body: RunStepIn, actor: ActorDep, ctx: CtxDep) -> RunOut:
    """Report the step a production run has reached, the next in order: accepted,
    materials, producing, quality_check, shipped (the factory's owner)."""
    return await runs.do_advance_run(ctx, actor, run_id, body.step)


@router.post(
    "/runs/{run_id}/shipment",
    response_model=RunOut,
    responses=errors(CommonError.NOT_FOUND, SupplyError.RUN_STEP_INVALID),
)
async def ship_run(run_id: RunId, body: RunShipmentIn, actor: ActorDep, ctx: CtxDep) -> RunOut:
    """Report a run shipped after its quality check, to the shop or straight to the buyers
    (every paid order of the product, each under a child of the master waybill) (the
    factory's owner)."""
    return await shipments.do_ship_run(ctx, actor, run_id, body)


@router.post(
    "/runs/{run_id}/decline",
    response_model=RunOut,
    responses=errors(
        CommonError.NOT_FOUND, SupplyError.CAMPAIGN_NOT_CONFIRMED, SupplyError.RUN_SHIPPED
    ),
)
async def decline_run(run_id: RunId, request: Request, actor: ActorDep, ctx: CtxDep) -> RunOut:
    """Decline a production run before it ships (the factory's owner): the campaign
    defaults and every deposit is returned double, the second half from the shop's
    security deposit."""
    return await defaults.do_decline_run(ctx, actor, run_id, payment_providers(request))


@router.get(
    "/factories/{factory_id}/runs",
    response_model=list[RunOut],
    responses=errors(CommonError.NOT_FOUND),
)
async def factory_runs(factory_id: FactoryId, actor: ActorDep, ctx: CtxDep) -> list[RunOut]:
    """The factory's production runs (the purchase orders of confirmed campaigns), newest
    first (its owner, operators)."""
    return await runs.runs_of_factory(ctx, actor, factory_id)
