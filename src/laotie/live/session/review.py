"""A session's review: what happened in it, read back from what was saved while it ran.

Everything here was written during the show by the writers that batch (visits, chat,
per-minute counters) or by the anchor's own actions (pins, flash sales); the review only
reads. The per-minute counters have their own endpoint (`minutes.py`).
"""

from __future__ import annotations

from sqlalchemy import case, func, select

from laotie.core.context import Ctx
from laotie.live.models import ChatMessage, FlashSale, LivePin, LiveSession, Visit
from laotie.live.schemas import ChatLineOut, PinOut, SaleReviewOut, SessionReviewOut
from laotie.live.session.service import session_out
from laotie.orders import queries as order_queries
from laotie.orders.queries import live_session_totals

# What a sale's review copies from its row as it is.
_SALE_TERMS = set(SaleReviewOut.model_fields) - {"sale_id", "orders", "units_ordered"}


async def review_of(ctx: Ctx, session: LiveSession) -> SessionReviewOut:
    """Gather a session's review: its audience, chat, orders, pins and flash sales."""
    entries, viewers, watched = (
        await ctx.db.execute(
            select(
                func.count(Visit.id),
                func.count(func.distinct(Visit.viewer_key)),
                func.coalesce(func.sum(Visit.watch_seconds), 0),
            ).where(Visit.session_id == session.id)
        )
    ).one()
    lines, deleted = (
        await ctx.db.execute(
            select(
                func.count(ChatMessage.id),
                func.coalesce(func.sum(case((ChatMessage.deleted, 1), else_=0)), 0),
            ).where(ChatMessage.session_id == session.id)
        )
    ).one()
    orders, gmv_minor = await live_session_totals(ctx, session.id)
    return SessionReviewOut(
        session=await session_out(ctx, session),
        entries=entries,
        viewers=viewers,
        watch_seconds=int(watched),
        likes=session.likes,
        chat_lines=lines,
        chat_deleted=int(deleted),
        orders=orders,
        gmv_minor=gmv_minor,
        pins=await _pins(ctx, session.id),
        sales=await _sales(ctx, session.id),
    )


async def chat_log(ctx: Ctx, session_id: str, after: str | None, limit: int) -> list[ChatLineOut]:
    """Return a session's saved chat in the order it was said, from after a line's id."""
    query = select(ChatMessage).where(ChatMessage.session_id == session_id)
    if after is not None:
        query = query.where(ChatMessage.id > after)  # chat ids sort in time order
    rows = await ctx.db.scalars(query.order_by(ChatMessage.id).limit(limit))
    return [ChatLineOut.model_validate(row, from_attributes=True) for row in rows]


async def _pins(ctx: Ctx, session_id: str) -> list[PinOut]:
    rows = await ctx.db.execute(
        select(LivePin.product_id, LivePin.pinned_at)
        .where(LivePin.session_id == session_id)
        .order_by(LivePin.pinned_at, LivePin.id)
    )
    return [PinOut(product_id=product_id, at=at) for product_id, at in rows]


async def _sales(ctx: Ctx, session_id: str) -> list[SaleReviewOut]:
    sales = list(
        await ctx.db.scalars(
            select(FlashSale)
            .where(FlashSale.session_id == session_id)
            .order_by(FlashSale.started_at, FlashSale.id)
        )
    )
    ordered = await order_queries.ordered_through_sales(ctx, [sale.id for sale in sales])
    reviewed = []
    for sale in sales:
        orders, units = ordered.get(sale.id, (0, 0))
        terms = {name: getattr(sale, name) for name in _SALE_TERMS}
        reviewed.append(SaleReviewOut(sale_id=sale.id, orders=orders, units_ordered=units, **terms))
    return reviewed
