"""What became of every paid order of a period: value, refunds, where it was bought.

Read in one statement for whole-market measures (the simulated world's summary): GMV,
refunds, repurchase and the private domain's share all come from these rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from laotie.core.context import Ctx
from laotie.orders.models import Order


@dataclass(frozen=True, slots=True)
class OrderOutcome:
    """A paid order: its shop, buyer, room and visit, value, refunds and state."""

    order_id: str
    shop_id: str
    buyer_id: str
    live_session_id: str | None
    visit_id: str | None
    paid_at: datetime
    total_minor: int
    refunded_minor: int
    status: str


async def order_outcomes(ctx: Ctx, since: datetime, until: datetime) -> list[OrderOutcome]:
    """Return every order paid in [since, until), oldest payment first."""
    rows = await ctx.db.execute(
        select(
            Order.id,
            Order.shop_id,
            Order.buyer_id,
            Order.live_session_id,
            Order.visit_id,
            Order.paid_at,
            Order.total_minor,
            Order.refunded_minor,
            Order.status,
        )
        .where(Order.paid_at >= since, Order.paid_at < until)
        .order_by(Order.paid_at, Order.id)
    )
    return [
        OrderOutcome(oid, shop, buyer, room, visit, paid, int(total), int(refunded), str(status))
        for oid, shop, buyer, room, visit, paid, total, refunded, status in rows
        if paid is not None
    ]
