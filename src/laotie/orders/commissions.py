"""Anchors' commissions on what they sold for other shops.

A line sold in an anchor's room carries the anchor and, for a pool product, the rate in
force when the order was placed (`checkout`); a rate changed later moves no placed order.
The commission is that rate of the line's price times the units the buyer kept: refunds
before completion shrink it with the sale, and it is paid, out of the seller's share, as
a leg of the order's release (`ledger.post_release`). After completion the order takes no
refund, so a released commission is final.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select

from laotie.accounts.permissions import Actor
from laotie.core.context import Ctx
from laotie.core.money import fee_of
from laotie.orders import ledger
from laotie.orders.models import Order, OrderLine
from laotie.orders.schemas import CommissionLineOut, CommissionsOut, OrderStatus

# Orders whose commission may still be released: paid, on their way, or delivered.
OPEN = (OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.DELIVERED)
MAX_LINES = 200


def line_commission(line: OrderLine) -> int:
    """Return what a line earns its anchor on the units the buyer kept."""
    kept = line.unit_price_minor * (line.quantity - line.refunded_quantity)
    return fee_of(kept, line.commission_bps) if line.commission_bps else 0


def commission_of(lines: Iterable[OrderLine]) -> tuple[str, int] | None:
    """Return the anchor of an order's lines and the commission they earn it, if any.

    An order comes from one room, so its lines have one anchor at most.
    """
    earning = [line for line in lines if line.anchor_id and line.commission_bps]
    if not earning:
        return None
    return str(earning[0].anchor_id), sum(line_commission(line) for line in earning)


async def order_commission(ctx: Ctx, order_id: str) -> tuple[str, int] | None:
    """Return the anchor an order owes a commission and how much, on its lines as they are."""
    lines = await ctx.db.scalars(select(OrderLine).where(OrderLine.order_id == order_id))
    return commission_of(lines)


async def commissions_of_anchor(ctx: Ctx, actor: Actor) -> CommissionsOut:
    """The anchor's commissions: pending on open orders, released on completed ones, and
    what it can withdraw (its ledger balance)."""
    rows = await ctx.db.execute(
        select(OrderLine, Order.status, Order.shop_id, Order.created_at)
        .join(Order, Order.id == OrderLine.order_id)
        .where(
            OrderLine.anchor_id == actor.id,
            OrderLine.commission_bps > 0,
            Order.status.in_([*OPEN, OrderStatus.COMPLETED, OrderStatus.REFUNDED]),
        )
        .order_by(Order.created_at.desc(), OrderLine.id)
        .limit(MAX_LINES)
    )
    lines = [_line_out(*row) for row in rows]
    account = ledger.anchor_account(actor.id)
    released = -await ledger.credits_of(ctx, account, "release")
    return CommissionsOut(
        anchor_id=actor.id,
        currency=ctx.settings.currency,
        pending_minor=sum(line.commission_minor for line in lines if line.state == "pending"),
        released_minor=released,
        balance_minor=-await ledger.balance(ctx, account),
        lines=lines,
    )


def _line_out(
    line: OrderLine, status: str, shop_id: str, created_at: datetime
) -> CommissionLineOut:
    """Return a commission line as the anchor reads it."""
    earned = line_commission(line)
    state = "released" if status == OrderStatus.COMPLETED else "pending"
    return CommissionLineOut(
        order_id=line.order_id,
        order_status=status,
        shop_id=shop_id,
        title=line.title,
        quantity=line.quantity,
        refunded_quantity=line.refunded_quantity,
        unit_price_minor=line.unit_price_minor,
        commission_bps=line.commission_bps,
        commission_minor=earned,
        state=state if earned else "none",
        created_at=created_at,
    )
