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
from laotie.live.service import session_out
from laotie.orders.models import Order, OrderLine
from laotie.orders.schemas import OrderStatus
from laotie.orders.service import live_session_totals


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
    return [
        ChatLineOut(
            id=row.id,
            user_id=row.user_id,
            author=row.author,
            text=row.text,
            deleted=row.deleted,
            created_at=row.created_at,
        )
        for row in rows
    ]


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
    ordered = await _ordered_through(ctx, [sale.id for sale in sales])
    return [
        SaleReviewOut(
            sale_id=sale.id,
            sku_id=sale.sku_id,
            product_id=sale.product_id,
            price_minor=sale.price_minor,
            was_price_minor=sale.was_price_minor,
            quantity=sale.quantity,
            per_buyer_limit=sale.per_buyer_limit,
            status=sale.status,
            started_at=sale.started_at,
            ends_at=sale.ends_at,
            ended_at=sale.ended_at,
            orders=ordered.get(sale.id, (0, 0))[0],
            units_ordered=ordered.get(sale.id, (0, 0))[1],
            returned_units=sale.returned_units,
        )
        for sale in sales
    ]


async def _ordered_through(ctx: Ctx, sale_ids: list[str]) -> dict[str, tuple[int, int]]:
    """Return, per flash sale, its orders not cancelled and the units they hold."""
    if not sale_ids:
        return {}
    rows = await ctx.db.execute(
        select(
            OrderLine.flash_sale_id,
            func.count(func.distinct(OrderLine.order_id)),
            func.sum(OrderLine.quantity),
        )
        .join(Order, Order.id == OrderLine.order_id)
        .where(OrderLine.flash_sale_id.in_(sale_ids), Order.status != OrderStatus.CANCELLED)
        .group_by(OrderLine.flash_sale_id)
    )
    return {str(sale_id): (int(orders), int(units)) for sale_id, orders, units in rows}
