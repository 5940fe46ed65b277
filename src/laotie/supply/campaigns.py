"""Campaigns: opened by a shop with its partner factory, capped by the shop's security
deposit, read with their progress toward the MOQ."""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import timedelta

from sqlalchemy import func, select

from laotie.accounts.permissions import Actor, Role
from laotie.catalog import service as catalog
from laotie.core.context import Ctx
from laotie.core.errors import AppError, not_found
from laotie.core.ids import new_id
from laotie.core.money import format_minor
from laotie.live.events import RoomEventType, emit
from laotie.live.schemas import SessionStatus
from laotie.live.session import service as sessions
from laotie.orders import balance
from laotie.realtime.events import RoomEvent
from laotie.supply import partners, runs
from laotie.supply.errors import SupplyError
from laotie.supply.factories import check_tiers, load_factory, unit_price_minor
from laotie.supply.models import Campaign, Commitment
from laotie.supply.schemas import CampaignIn, CampaignOut, PriceTier, VariantOut

OPEN, CONFIRMED, FAILED, DEFAULTED = "open", "confirmed", "failed", "defaulted"
# Statuses of commitments whose deposits were paid and whose units count (before closing,
# and as they were confirmed after), and those counted against the cap.
PAID = ("held", "confirmed", "applied", "forfeited", "returned_double")
RESERVING = ("pending", *PAID)
MIN_RUNNING = timedelta(minutes=10)  # a campaign runs at least this long
MAX_RUNNING = timedelta(days=30)
MAX_VARIANTS = 60


async def do_open_campaign(ctx: Ctx, actor: Actor, data: CampaignIn) -> CampaignOut:
    """Open a campaign: the shop's owner, or the anchor of the shop's show it is opened in;
    its factory an active partner that makes its category, and the shop's deposit enough
    to return every deposit it may take double."""
    await _check_opener(ctx, actor, data)
    factory = await load_factory(ctx, data.factory_id)
    if not await partners.is_partner(ctx, data.shop_id, factory.id):
        raise AppError.of(SupplyError.NOT_PARTNER, "the shop and the factory are not partners")
    if data.category not in factory.categories:
        raise AppError.of(
            SupplyError.CATEGORY_NOT_MADE, f"the factory does not make {data.category}"
        )
    if data.moq < factory.moq:
        raise AppError.of(
            SupplyError.MOQ_BELOW_FACTORY, f"the factory makes runs of {factory.moq} at least"
        )
    check_tiers(data.moq, data.price_tiers)
    if data.cap_units < data.moq:
        raise AppError.of(SupplyError.CAP_BELOW_MOQ, "cap_units must be at least the moq")
    _check_deadline(ctx, data)
    variants = variants_of(data.options)
    if len(variants) > MAX_VARIANTS:
        raise AppError.of(SupplyError.TOO_MANY_VARIANTS, f"{MAX_VARIANTS} variants at most")
    deposit_unit = math.ceil(data.price_tiers[0].unit_price_minor * data.deposit_bps / 10_000)
    await _check_deposit_covers(ctx, data.shop_id, data.cap_units * deposit_unit)
    shop = await catalog.get_shop(ctx, data.shop_id)
    campaign = Campaign(
        id=new_id("cmp"),
        shop_id=data.shop_id,
        factory_id=factory.id,
        opened_by=actor.id,
        session_id=data.session_id,
        title=data.title,
        description=data.description,
        category_slug=data.category,
        options={name: list(values) for name, values in data.options.items()},
        price_tiers=[[t.min_quantity, t.unit_price_minor] for t in data.price_tiers],
        moq=data.moq,
        cap_units=data.cap_units,
        deposit_unit_minor=deposit_unit,
        currency=shop.currency,
        deadline=data.deadline,
        status=OPEN,
        created_at=ctx.now(),
    )
    ctx.db.add(campaign)
    await emit_progress(ctx, campaign)
    return await campaign_out(ctx, campaign)


async def _check_opener(ctx: Ctx, actor: Actor, data: CampaignIn) -> None:
    """The shop's owner may open a campaign; so may the anchor of a show of the shop, in it."""
    if data.session_id is not None:
        session = await sessions.load_session(ctx, data.session_id)
        if session.shop_id != data.shop_id:
            raise not_found("live session")
        if session.status == SessionStatus.ENDED:
            raise AppError.of(SupplyError.SHOW_ENDED, "the show has ended: open it in another")
        if session.anchor_id == actor.id:
            return
    if not actor.has(Role.SELLER) or await catalog.shop_owner_id(ctx, data.shop_id) != actor.id:
        raise not_found("shop")


def _check_deadline(ctx: Ctx, data: CampaignIn) -> None:
    now = ctx.now()
    if data.deadline.tzinfo is None:
        raise AppError.of(SupplyError.DEADLINE_INVALID, "give the deadline with its time zone")
    if not now + MIN_RUNNING <= data.deadline <= now + MAX_RUNNING:
        raise AppError.of(
            SupplyError.DEADLINE_INVALID, "a campaign runs from 10 minutes to 30 days"
        )


async def _check_deposit_covers(ctx: Ctx, shop_id: str, exposure_minor: int) -> None:
    """Refuse a campaign whose deposits, returned double, the shop's security deposit could
    not cover beside its other running campaigns (the shop's row lock serialises them)."""
    await catalog.lock_shop(ctx, shop_id)
    free = await free_deposit_minor(ctx, shop_id)
    if exposure_minor > free:
        currency = (await catalog.get_shop(ctx, shop_id)).currency
        raise AppError.of(
            SupplyError.DEPOSIT_TOO_LOW,
            f"the shop's free security deposit ({format_minor(free, currency)}) does not "
            f"cover {format_minor(exposure_minor, currency)}, the second half of every deposit "
            "it may have to return double: "
            "pay more into it, or lower cap_units or deposit_bps",
        )


async def free_deposit_minor(ctx: Ctx, shop_id: str) -> int:
    """The shop's security deposit not standing behind its open or confirmed campaigns."""
    held = await balance.deposit_held_minor(ctx, shop_id)
    running = await ctx.db.scalar(
        select(func.coalesce(func.sum(Campaign.cap_units * Campaign.deposit_unit_minor), 0)).where(
            Campaign.shop_id == shop_id, Campaign.status.in_((OPEN, CONFIRMED))
        )
    )
    return held - int(running or 0)


def variants_of(options: Mapping[str, Sequence[str]]) -> list[str]:
    """Every combination of the options' values, as `black/M`, in the options' order."""
    return ["/".join(values) for values in itertools.product(*options.values())]


async def emit_progress(ctx: Ctx, campaign: Campaign) -> None:
    """Tell the show's room the campaign's card as it now is, once the change commits."""
    if campaign.session_id is None:
        return
    await ctx.db.flush()
    card = await campaign_out(ctx, campaign)
    emit(
        ctx, campaign.session_id, [RoomEvent(RoomEventType.CAMPAIGN, card.model_dump(mode="json"))]
    )


async def load_campaign(ctx: Ctx, campaign_id: str, *, lock: bool = False) -> Campaign:
    """A campaign, or 404."""
    campaign = await ctx.db.get(Campaign, campaign_id, with_for_update=lock or None)
    if campaign is None:
        raise not_found("campaign")
    return campaign


async def get_campaign(ctx: Ctx, campaign_id: str) -> CampaignOut:
    """A campaign and its progress, for anyone."""
    return await campaign_out(ctx, await load_campaign(ctx, campaign_id))


async def campaigns_of(
    ctx: Ctx, *, shop_id: str | None = None, session_id: str | None = None
) -> list[CampaignOut]:
    """A shop's or a show's campaigns, newest first."""
    query = select(Campaign).order_by(Campaign.created_at.desc(), Campaign.id)
    if shop_id is not None:
        query = query.where(Campaign.shop_id == shop_id)
    if session_id is not None:
        query = query.where(Campaign.session_id == session_id)
    return [await campaign_out(ctx, c) for c in await ctx.db.scalars(query.limit(50))]


async def units_by_variant(ctx: Ctx, campaign_id: str, statuses: Sequence[str]) -> Counter[str]:
    """The campaign's units in commitments of these statuses, by variant."""
    rows = await ctx.db.execute(
        select(Commitment.variant, func.sum(Commitment.quantity))
        .where(Commitment.campaign_id == campaign_id, Commitment.status.in_(statuses))
        .group_by(Commitment.variant)
    )
    return Counter({variant: int(units) for variant, units in rows})


def tiers_of(campaign: Campaign) -> list[PriceTier]:
    """A campaign's retail price tiers, lowest quantity first."""
    return [PriceTier(min_quantity=q, unit_price_minor=p) for q, p in campaign.price_tiers]


async def campaign_out(ctx: Ctx, campaign: Campaign) -> CampaignOut:
    """The wire form of a campaign, with its units committed and reserved."""
    paid = await units_by_variant(ctx, campaign.id, PAID)
    reserved = await units_by_variant(ctx, campaign.id, RESERVING)
    committed = sum(paid.values())
    return CampaignOut(
        id=campaign.id,
        shop_id=campaign.shop_id,
        factory_id=campaign.factory_id,
        session_id=campaign.session_id,
        title=campaign.title,
        description=campaign.description,
        category=campaign.category_slug,
        options=campaign.options,
        price_tiers=tiers_of(campaign),
        moq=campaign.moq,
        cap_units=campaign.cap_units,
        deposit_unit_minor=campaign.deposit_unit_minor,
        currency=campaign.currency,
        deadline=campaign.deadline,
        status=campaign.status,
        committed=committed,
        reserved=sum(reserved.values()),
        price_reached_minor=unit_price_minor(tiers_of(campaign), committed),
        variants=[
            VariantOut(variant=v, committed=paid.get(v, 0)) for v in variants_of(campaign.options)
        ],
        created_at=campaign.created_at,
        closed_at=campaign.closed_at,
        production=await runs.production_of(ctx, campaign.id),
        product_id=campaign.product_id,
    )
