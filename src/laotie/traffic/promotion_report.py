"""The seller's report of its bought reach: what each promotion bought and what it cost,
against what the session's followers brought for nothing (docs/traffic.md, "Bought reach")."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select

from laotie.accounts.permissions import Actor
from laotie.core.context import Ctx
from laotie.live.room.audience import FeedEntry
from laotie.live.session import service as sessions
from laotie.orders.queries import paid_orders_of_sessions
from laotie.traffic import attribution, promotions
from laotie.traffic.models import Follow, Promotion
from laotie.traffic.schemas import PromotionReportOut, SegmentOut, Target

REPORT_SIZE = 50


async def shop_report(
    ctx: Ctx, actor: Actor, shop_id: str, limit: int = REPORT_SIZE
) -> list[PromotionReportOut]:
    """Report a shop's promotions, newest first (its owner, operators)."""
    found = await promotions.access_shop_promotions(ctx, actor, shop_id, limit)
    return [await promotion_report(ctx, actor, promotion) for promotion in found]


async def promotion_report(ctx: Ctx, actor: Actor, promotion: Promotion) -> PromotionReportOut:
    """Report one promotion: its entrants, the followers and orders they brought, the costs."""
    until = _until(ctx, promotion)
    entries = await promotions.promoted_entries(ctx, promotion, promotion.created_at, until)
    show = await sessions.load_session(ctx, promotion.session_id)
    followers = await _followers_gained(ctx, show.anchor_id, entries)
    bought = {entry.visit_id for entry in entries}
    orders = [
        order
        for order in await paid_orders_of_sessions(
            ctx, [promotion.session_id], promotion.created_at, ctx.now() + timedelta(seconds=1)
        )
        if order.visit_id in bought
    ]
    private = await _private_domain(ctx, actor, promotion.session_id)
    spent = promotion.spent_minor
    return PromotionReportOut(
        promotion=promotions.promotion_out(promotion),
        entries=len(entries),
        followers_gained=followers,
        orders=len(orders),
        gmv_minor=sum(order.total_minor for order in orders),
        cost_per_entry_minor=_per(spent, len(entries)),
        cost_per_follower_minor=_per(spent, followers),
        cost_per_order_minor=_per(spent, len(orders)),
        free=private,
    )


def _until(ctx: Ctx, promotion: Promotion) -> datetime:
    """Return the end of the window a promotion's entries are read in."""
    if promotion.status != promotions.ACTIVE:
        return promotion.entries_until  # what it was charged for, to the end
    return ctx.now() + timedelta(microseconds=1)


async def _followers_gained(ctx: Ctx, anchor_id: str, entries: Sequence[FeedEntry]) -> int:
    """Count the entrants who follow the anchor and began to after their bought entry."""
    entered: dict[str, datetime] = {}
    for entry in entries:
        if entry.user_id is not None:
            entered.setdefault(entry.user_id, entry.entered_at)
    if not entered:
        return 0
    rows = await ctx.db.execute(
        select(Follow.user_id, Follow.created_at).where(
            Follow.target_kind == Target.ANCHOR.value,
            Follow.target_id == anchor_id,
            Follow.user_id.in_(sorted(entered)),
        )
    )
    return sum(1 for user_id, since in rows if since >= entered[user_id])


async def _private_domain(ctx: Ctx, actor: Actor, session_id: str) -> SegmentOut:
    """Return the session's private domain: its followers' viewers, orders and GMV."""
    segments = await attribution.session_attribution(ctx, actor, session_id)
    return next(domain for domain in segments.domains if domain.domain == "private")


def _per(spent_minor: int, count: int) -> float | None:
    """Return the cost of one, to the hundredth of a minor unit (none of none)."""
    return round(spent_minor / count, 2) if count else None
