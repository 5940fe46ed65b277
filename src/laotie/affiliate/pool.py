"""The selection pool: shops offer products for a commission, anchors find them and apply,
and the shop (or the offer's own rule) approves.

Terms are the offering shop's business: anchors see what they need to choose (the rate,
the dates, the reputation asked, whether flash sales are allowed), the shop alone sees
its rule and its applicants, and another shop sees nothing of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Select, func, or_, select
from sqlalchemy.exc import IntegrityError

from laotie.accounts import service as accounts
from laotie.accounts.permissions import Actor, Role, require_role
from laotie.affiliate.errors import AffiliateError
from laotie.affiliate.models import AffiliateApplication, PoolOffer
from laotie.affiliate.schemas import (
    ApplicationIn,
    ApplicationOut,
    ApplicationStatus,
    Decision,
    OfferIn,
    OfferOut,
    OfferStatus,
    PoolItemOut,
)
from laotie.catalog import service as catalog
from laotie.catalog.schemas import ProductListItem
from laotie.core.context import Ctx
from laotie.core.errors import AppError, CommonError, not_found
from laotie.core.ids import new_id
from laotie.core.money import fee_of
from laotie.trust import privileges

MAX_PAGE = 50
# Offers read for one page of the pool, the best paid first: filters on the shop's tier
# and the price apply to these, so a page never reads the whole pool.
MAX_SCAN = 1_000


@dataclass(frozen=True, slots=True)
class Filters:
    """What an anchor looks for in the pool."""

    category: str | None = None
    min_price_minor: int | None = None
    max_price_minor: int | None = None
    min_commission_bps: int | None = None
    tiers: frozenset[str] = frozenset()
    q: str | None = None


@dataclass(frozen=True, slots=True)
class SellingTerms:
    """What an approved anchor's room sells a pool product on: its shop, its rate, and
    whether the shop allows flash sales of it."""

    offer_id: str
    shop_id: str
    commission_bps: int
    flash_sales: bool


# ---------------------------------------------------------------- the shop's offers


async def do_put_offer(
    ctx: Ctx, actor: Actor, shop_id: str, product_id: str, data: OfferIn
) -> OfferOut:
    """Offer one of the shop's products in the pool, or change its terms; a withdrawn offer
    opens again. Orders placed already keep the rate they were placed at."""
    await catalog.access_own_shop(ctx, actor, shop_id)
    if product_id not in await catalog.products_on_sale_in(ctx, shop_id, [product_id]):
        raise not_found("product")
    _check_terms(ctx, data)
    offer = await ctx.db.scalar(
        select(PoolOffer).where(PoolOffer.product_id == product_id).with_for_update()
    )
    if offer is None:
        offer = PoolOffer(
            id=new_id("aff"), shop_id=shop_id, product_id=product_id, created_at=ctx.now()
        )
        ctx.db.add(offer)
    offer.status = OfferStatus.OPEN
    offer.commission_bps = data.commission_bps
    offer.starts_at, offer.ends_at = data.starts_at, data.ends_at
    offer.min_reputation = data.min_reputation
    offer.auto_approve, offer.flash_sales = data.auto_approve, data.flash_sales
    offer.updated_at = ctx.now()
    try:
        async with ctx.db.begin_nested():
            await ctx.db.flush()
    except IntegrityError:  # the same product offered twice at once: one of them wins
        raise AppError.of(
            CommonError.CONFLICT, "the offer changed meanwhile; send it again"
        ) from None
    return (await _offers_out(ctx, [offer]))[0]


async def do_withdraw_offer(ctx: Ctx, actor: Actor, offer_id: str) -> OfferOut:
    """Take an offer out of the pool: approved anchors can no longer add or sell its product."""
    offer = await _own_offer(ctx, actor, offer_id)
    offer.status, offer.updated_at = OfferStatus.WITHDRAWN, ctx.now()
    await ctx.db.flush()
    return (await _offers_out(ctx, [offer]))[0]


async def offers_of_shop(ctx: Ctx, actor: Actor, shop_id: str) -> list[OfferOut]:
    """The shop's offers with all their terms, for its owner only."""
    await catalog.access_own_shop(ctx, actor, shop_id)
    rows = await ctx.db.scalars(
        select(PoolOffer)
        .where(PoolOffer.shop_id == shop_id)
        .order_by(PoolOffer.updated_at.desc(), PoolOffer.id)
    )
    return await _offers_out(ctx, list(rows))


def _check_terms(ctx: Ctx, data: OfferIn) -> None:
    """Refuse a rate outside the platform's bounds, and dates that end before they start."""
    low = ctx.settings.affiliate_min_commission_bps
    high = ctx.settings.affiliate_max_commission_bps
    if not low <= data.commission_bps <= high:
        raise AppError.of(
            AffiliateError.COMMISSION_OUT_OF_BOUNDS,
            f"a commission is {low} to {high} basis points ({low / 100:.2f}% to {high / 100:.2f}%)",
        )
    if data.starts_at and data.ends_at and data.ends_at <= data.starts_at:
        raise AppError.of(AffiliateError.OFFER_DATES_INVALID, "an offer ends after it starts")
    if data.ends_at and data.ends_at <= ctx.now():
        raise AppError.of(AffiliateError.OFFER_DATES_INVALID, "an offer ends in the future")


async def _own_offer(ctx: Ctx, actor: Actor, offer_id: str) -> PoolOffer:
    """Return an offer of the actor's shop, locked; anybody else's is not there."""
    offer = await ctx.db.get(PoolOffer, offer_id, with_for_update=True)
    if offer is None or await catalog.shop_owner_id(ctx, offer.shop_id) != actor.id:
        raise not_found("offer")
    return offer


async def _offers_out(ctx: Ctx, offers: Sequence[PoolOffer]) -> list[OfferOut]:
    """Return the shop's view of its offers, with their anchors counted."""
    cards = await catalog.product_cards(ctx, [offer.product_id for offer in offers])
    counts = await _applications_by_status(ctx, [offer.id for offer in offers])
    return [
        OfferOut(
            id=offer.id,
            shop_id=offer.shop_id,
            product_id=offer.product_id,
            product_title=cards[offer.product_id].title if offer.product_id in cards else "",
            status=offer.status,
            commission_bps=offer.commission_bps,
            starts_at=offer.starts_at,
            ends_at=offer.ends_at,
            min_reputation=offer.min_reputation,
            auto_approve=offer.auto_approve,
            flash_sales=offer.flash_sales,
            approved_anchors=counts.get((offer.id, ApplicationStatus.APPROVED), 0),
            pending_applications=counts.get((offer.id, ApplicationStatus.PENDING), 0),
            updated_at=offer.updated_at,
        )
        for offer in offers
    ]


async def _applications_by_status(ctx: Ctx, offer_ids: list[str]) -> dict[tuple[str, str], int]:
    """Count the offers' applications by status."""
    if not offer_ids:
        return {}
    rows = await ctx.db.execute(
        select(AffiliateApplication.offer_id, AffiliateApplication.status, func.count())
        .where(AffiliateApplication.offer_id.in_(offer_ids))
        .group_by(AffiliateApplication.offer_id, AffiliateApplication.status)
    )
    return {(offer_id, status): int(count) for offer_id, status, count in rows}


# ---------------------------------------------------------------- the anchors' pool


async def browse_pool(
    ctx: Ctx, actor: Actor, filters: Filters, limit: int = 20, offset: int = 0
) -> list[PoolItemOut]:
    """The open offers an anchor can apply to now, the best paid first."""
    require_role(actor, Role.ANCHOR)
    query = _open_now(ctx, select(PoolOffer)).order_by(
        PoolOffer.commission_bps.desc(), PoolOffer.updated_at.desc(), PoolOffer.id
    )
    if filters.min_commission_bps is not None:
        query = query.where(PoolOffer.commission_bps >= filters.min_commission_bps)
    offers = list(await ctx.db.scalars(query.limit(MAX_SCAN)))
    cards = await catalog.product_cards(ctx, [offer.product_id for offer in offers])
    tiers = await privileges.kept_tiers(ctx, sorted({offer.shop_id for offer in offers}))
    found = [
        (offer, cards[offer.product_id])
        for offer in offers
        if offer.product_id in cards
        and _matches(cards[offer.product_id], tiers.get(offer.shop_id), filters)
    ][offset : offset + min(limit, MAX_PAGE)]
    mine = await _applications_of(ctx, actor.id, [offer.id for offer, _ in found])
    return [
        _pool_item(offer, card, tiers.get(offer.shop_id), mine.get(offer.id))
        for offer, card in found
    ]


def _open_now(ctx: Ctx, query: Select[PoolOffer]) -> Select[PoolOffer]:
    """Keep the offers open now: not withdrawn, started, not ended."""
    now = ctx.now()
    return query.where(
        PoolOffer.status == OfferStatus.OPEN,
        or_(PoolOffer.starts_at.is_(None), PoolOffer.starts_at <= now),
        or_(PoolOffer.ends_at.is_(None), PoolOffer.ends_at > now),
    )


def _matches(card: ProductListItem, tier: str | None, filters: Filters) -> bool:
    """Tell whether a product in the pool is what the anchor looks for."""
    price = card.lowest_price_minor or 0
    words = (filters.q or "").lower().split()
    return (
        (filters.category is None or card.category == filters.category)
        and (filters.min_price_minor is None or price >= filters.min_price_minor)
        and (filters.max_price_minor is None or price <= filters.max_price_minor)
        and (not filters.tiers or tier in filters.tiers)
        and all(word in card.title.lower() for word in words)
    )


def _pool_item(
    offer: PoolOffer, card: ProductListItem, tier: str | None, application: str | None
) -> PoolItemOut:
    """Return an offer as the pool shows it to an anchor."""
    price = card.lowest_price_minor or 0
    return PoolItemOut(
        offer_id=offer.id,
        product_id=offer.product_id,
        title=card.title,
        category=card.category,
        image_url=card.image,
        price_minor=price,
        currency=card.currency,
        shop_id=offer.shop_id,
        shop_name=card.shop_name,
        shop_tier=tier,
        commission_bps=offer.commission_bps,
        commission_minor=fee_of(price, offer.commission_bps),
        starts_at=offer.starts_at,
        ends_at=offer.ends_at,
        min_reputation=offer.min_reputation,
        flash_sales=offer.flash_sales,
        application=application,
    )


async def _applications_of(ctx: Ctx, anchor_id: str, offer_ids: list[str]) -> dict[str, str]:
    """Return the anchor's application status for each of these offers it applied to."""
    if not offer_ids:
        return {}
    rows = await ctx.db.execute(
        select(AffiliateApplication.offer_id, AffiliateApplication.status).where(
            AffiliateApplication.anchor_id == anchor_id,
            AffiliateApplication.offer_id.in_(offer_ids),
        )
    )
    return {offer_id: status for offer_id, status in rows}


# ---------------------------------------------------------------- applications


async def do_apply(ctx: Ctx, actor: Actor, offer_id: str, data: ApplicationIn) -> ApplicationOut:
    """An anchor asks to sell an offer's product; the offer's rule may approve it at once.

    Asking again after a rejection or a revocation asks anew; a pending or approved
    application stands.
    """
    require_role(actor, Role.ANCHOR)
    offer = await ctx.db.scalar(_open_now(ctx, select(PoolOffer).where(PoolOffer.id == offer_id)))
    if offer is None:
        raise AppError.of(AffiliateError.OFFER_CLOSED, "this offer is not in the pool now")
    if await catalog.shop_owner_id(ctx, offer.shop_id) == actor.id:
        raise AppError.of(AffiliateError.OWN_OFFER, "your own shop's products need no offer")
    reputation = (await privileges.kept_anchor_scores(ctx, [actor.id])).get(actor.id)
    if offer.min_reputation is not None and (reputation or 0.0) < offer.min_reputation:
        kept = "none kept yet" if reputation is None else f"{reputation:.2f}"
        raise AppError.of(
            AffiliateError.REPUTATION_TOO_LOW,
            f"this offer asks a reputation of {offer.min_reputation:.2f}; yours: {kept}",
        )
    application = await _application(ctx, offer.id, actor.id)
    if application is not None and application.status in OPEN_APPLICATIONS:
        raise AppError.of(
            AffiliateError.APPLICATION_EXISTS, f"you applied already: {application.status}"
        )
    if application is None:
        application = AffiliateApplication(id=new_id("apl"), offer_id=offer.id, anchor_id=actor.id)
        ctx.db.add(application)
    application.note, application.reputation = data.note, reputation
    application.created_at = ctx.now()
    application.status, application.decided_by, application.decided_at = (
        ApplicationStatus.PENDING,
        None,
        None,
    )
    if offer.auto_approve:  # the rule: the terms are met, so the shop has said yes already
        _decide(ctx, application, ApplicationStatus.APPROVED, "rule")
    try:
        async with ctx.db.begin_nested():
            await ctx.db.flush()
    except IntegrityError:  # the same anchor applying twice at once
        raise AppError.of(AffiliateError.APPLICATION_EXISTS, "you applied already") from None
    return (await _applications_out(ctx, [application]))[0]


OPEN_APPLICATIONS = (ApplicationStatus.PENDING, ApplicationStatus.APPROVED)
ANSWERS = {
    Decision.APPROVE: (ApplicationStatus.PENDING, ApplicationStatus.APPROVED),
    Decision.REJECT: (ApplicationStatus.PENDING, ApplicationStatus.REJECTED),
    Decision.REVOKE: (ApplicationStatus.APPROVED, ApplicationStatus.REVOKED),
}


async def do_decide(
    ctx: Ctx, actor: Actor, application_id: str, decision: Decision
) -> ApplicationOut:
    """The offering shop approves or rejects a pending application, or revokes an approval."""
    application = await ctx.db.get(AffiliateApplication, application_id, with_for_update=True)
    if application is None:
        raise not_found("application")
    await _own_offer(ctx, actor, application.offer_id)
    before, after = ANSWERS[decision]
    if application.status != before:
        raise AppError.of(
            AffiliateError.APPLICATION_NOT_PENDING,
            f"the application is {application.status}: it cannot be {after} now",
        )
    _decide(ctx, application, after, "shop")
    await ctx.db.flush()
    return (await _applications_out(ctx, [application]))[0]


def _decide(ctx: Ctx, application: AffiliateApplication, status: str, by: str) -> None:
    application.status, application.decided_by, application.decided_at = status, by, ctx.now()


async def applications_of_shop(
    ctx: Ctx, actor: Actor, shop_id: str, status: ApplicationStatus | None = None
) -> list[ApplicationOut]:
    """The applications to the shop's offers, newest first, for its owner only."""
    await catalog.access_own_shop(ctx, actor, shop_id)
    query = (
        select(AffiliateApplication)
        .join(PoolOffer, PoolOffer.id == AffiliateApplication.offer_id)
        .where(PoolOffer.shop_id == shop_id)
    )
    if status is not None:
        query = query.where(AffiliateApplication.status == status)
    rows = await ctx.db.scalars(
        query.order_by(AffiliateApplication.created_at.desc(), AffiliateApplication.id)
    )
    return await _applications_out(ctx, list(rows))


async def applications_of_anchor(ctx: Ctx, actor: Actor) -> list[ApplicationOut]:
    """The anchor's own applications, newest first."""
    rows = await ctx.db.scalars(
        select(AffiliateApplication)
        .where(AffiliateApplication.anchor_id == actor.id)
        .order_by(AffiliateApplication.created_at.desc(), AffiliateApplication.id)
    )
    return await _applications_out(ctx, list(rows))


async def _application(ctx: Ctx, offer_id: str, anchor_id: str) -> AffiliateApplication | None:
    found: AffiliateApplication | None = await ctx.db.scalar(
        select(AffiliateApplication)
        .where(
            AffiliateApplication.offer_id == offer_id, AffiliateApplication.anchor_id == anchor_id
        )
        .with_for_update()
    )
    return found


async def _applications_out(
    ctx: Ctx, applications: Sequence[AffiliateApplication]
) -> list[ApplicationOut]:
    """Return applications with their offers' products and their anchors' names."""
    offer_ids = sorted({a.offer_id for a in applications})
    offers = {
        o.id: o for o in await ctx.db.scalars(select(PoolOffer).where(PoolOffer.id.in_(offer_ids)))
    }
    cards = await catalog.product_cards(ctx, [o.product_id for o in offers.values()])
    names = await accounts.names_of(ctx, {a.anchor_id for a in applications})
    return [
        ApplicationOut(
            id=a.id,
            offer_id=a.offer_id,
            product_id=offers[a.offer_id].product_id,
            product_title=_title(cards, offers[a.offer_id].product_id),
            shop_id=offers[a.offer_id].shop_id,
            anchor_id=a.anchor_id,
            anchor_name=names.get(a.anchor_id, ""),
            reputation=a.reputation,
            status=a.status,
            decided_by=a.decided_by,
            note=a.note,
            commission_bps=offers[a.offer_id].commission_bps,
            created_at=a.created_at,
            decided_at=a.decided_at,
        )
        for a in applications
    ]


def _title(cards: dict[str, ProductListItem], product_id: str) -> str:
    """A product's title, or nothing once it is off sale."""
    return cards[product_id].title if product_id in cards else ""


# ---------------------------------------------------------------- selling


async def selling_terms(
    ctx: Ctx, anchor_id: str, product_ids: Iterable[str]
) -> dict[str, SellingTerms]:
    """Return, for those of the products the anchor is approved to sell now, their terms."""
    wanted = sorted(set(product_ids))
    if not wanted:
        return {}
    query = _open_now(
        ctx,
        select(PoolOffer)
        .join(AffiliateApplication, AffiliateApplication.offer_id == PoolOffer.id)
        .where(
            PoolOffer.product_id.in_(wanted),
            AffiliateApplication.anchor_id == anchor_id,
            AffiliateApplication.status == ApplicationStatus.APPROVED,
        ),
    )
    return {
        offer.product_id: SellingTerms(
            offer.id, offer.shop_id, offer.commission_bps, offer.flash_sales
        )
        for offer in await ctx.db.scalars(query)
    }


async def approved_product_ids(ctx: Ctx, anchor_id: str) -> list[str]:
    """Return the pool products the anchor is approved to sell now, the best paid first."""
    query = _open_now(
        ctx,
        select(PoolOffer)
        .join(AffiliateApplication, AffiliateApplication.offer_id == PoolOffer.id)
        .where(
            AffiliateApplication.anchor_id == anchor_id,
            AffiliateApplication.status == ApplicationStatus.APPROVED,
        ),
    ).order_by(PoolOffer.commission_bps.desc(), PoolOffer.id)
    return [offer.product_id for offer in await ctx.db.scalars(query)]


async def offered_products(ctx: Ctx, product_ids: Iterable[str]) -> set[str]:
    """Return those of the products that are in the pool now."""
    wanted = sorted(set(product_ids))
    if not wanted:
        return set()
    query = _open_now(ctx, select(PoolOffer).where(PoolOffer.product_id.in_(wanted)))
    return {offer.product_id for offer in await ctx.db.scalars(query)}


def not_approved(product_id: str) -> AppError:
    """The refusal of another shop's product the anchor is not approved to sell now."""
    return AppError.of(
        AffiliateError.NOT_APPROVED,
        f"{product_id}: not your shop's, and not a pool product you are approved to sell now",
    )
