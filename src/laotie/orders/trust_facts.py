"""What trust reads of a shop's orders, shipping and after-sales over a period, as plain values.

Trust scores a shop from these facts (`trust/score.py` turns each into an observation);
it reads them here because the tables are the orders feature's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, func, or_, select

from laotie.core.context import Ctx
from laotie.orders.events import OrderEventKind
from laotie.orders.models import AfterSalesCase, Order, OrderEvent, OrderLine
from laotie.orders.schemas import CaseStatus, OrderStatus, ReasonCode

# Refunds whose reason says the goods were at fault: they count against the product.
QUALITY_REASONS = (ReasonCode.QUALITY, ReasonCode.NOT_AS_DESCRIBED)


@dataclass(frozen=True, slots=True)
class CaseOutcome:
    """How an after-sales case ended for the shop's service."""

    closed_at: datetime
    in_time: bool  # closed within the seller's response time of being opened
    dispute: bool | None  # None: no dispute; True: the operator ruled for the buyer


@dataclass(frozen=True, slots=True)
class ShopFacts:
    """A shop's trust facts in (since, until]."""

    buyers: int
    shipments: list[tuple[datetime, bool]]  # when shipped, and whether by the deadline
    quality_refunds: list[datetime]
    cases: list[CaseOutcome]


@dataclass(frozen=True, slots=True)
class Scope:
    """Whose orders the facts are of: a condition on orders, and the same on their cases."""

    orders: ColumnElement[bool]
    cases: ColumnElement[bool]


def shop_scope(shop_id: str) -> Scope:
    """The orders of a shop."""
    return Scope(Order.shop_id == shop_id, AfterSalesCase.shop_id == shop_id)


def sessions_scope(session_ids: list[str]) -> Scope:
    """The orders placed in some live sessions: what an anchor sold."""
    in_sessions = Order.live_session_id.in_(session_ids)
    return Scope(in_sessions, AfterSalesCase.order_id.in_(select(Order.id).where(in_sessions)))


async def shop_facts(ctx: Ctx, shop_id: str, since: datetime, until: datetime) -> ShopFacts:
    """Read a shop's trust facts of a period."""
    return await scope_facts(ctx, shop_scope(shop_id), since, until)


async def scope_facts(ctx: Ctx, scope: Scope, since: datetime, until: datetime) -> ShopFacts:
    """Read the trust facts of a period of the orders in a scope."""
    return ShopFacts(
        buyers=await _buyers(ctx, scope, since, until),
        shipments=await _shipments(ctx, scope, since, until),
        quality_refunds=await _quality_refunds(ctx, scope, since, until),
        cases=await _cases(ctx, scope, since, until),
    )


async def order_ids_of_sessions(ctx: Ctx, session_ids: list[str]) -> list[str]:
    """Return the ids of the orders placed in these live sessions."""
    return list(
        await ctx.db.scalars(select(Order.id).where(Order.live_session_id.in_(session_ids)))
    )


async def _buyers(ctx: Ctx, scope: Scope, since: datetime, until: datetime) -> int:
    paid = (scope.orders, Order.paid_at > since, Order.paid_at <= until)
    count = await ctx.db.scalar(select(func.count(func.distinct(Order.buyer_id))).where(*paid))
    return int(count or 0)


async def _shipments(
    ctx: Ctx, scope: Scope, since: datetime, until: datetime
) -> list[tuple[datetime, bool]]:
    rows = await ctx.db.execute(
        select(Order.shipped_at, Order.ship_by).where(
            scope.orders,
            Order.shipped_at > since,
            Order.shipped_at <= until,
            Order.ship_by.is_not(None),
        )
    )
    return [
        (shipped, shipped <= deadline)
        for shipped, deadline in rows
        if shipped is not None and deadline is not None
    ]


async def _quality_refunds(
    ctx: Ctx, scope: Scope, since: datetime, until: datetime
) -> list[datetime]:
    rows = await ctx.db.scalars(
        select(AfterSalesCase.closed_at).where(
            scope.cases,
            AfterSalesCase.status == CaseStatus.REFUNDED,
            AfterSalesCase.reason_code.in_([str(code) for code in QUALITY_REASONS]),
            AfterSalesCase.closed_at > since,
            AfterSalesCase.closed_at <= until,
        )
    )
    return [closed for closed in rows if closed is not None]


async def _cases(ctx: Ctx, scope: Scope, since: datetime, until: datetime) -> list[CaseOutcome]:
    cases = (
        await ctx.db.execute(
            select(
                AfterSalesCase.id,
                AfterSalesCase.order_id,
                AfterSalesCase.created_at,
                AfterSalesCase.closed_at,
            ).where(
                scope.cases,
                AfterSalesCase.closed_at > since,
                AfterSalesCase.closed_at <= until,
            )
        )
    ).all()
    rulings = await _rulings(ctx, [order_id for _, order_id, _, _ in cases])
    allowed = timedelta(hours=ctx.settings.seller_response_hours)
    return [
        CaseOutcome(closed, closed - opened <= allowed, rulings.get(case_id))
        for case_id, _, opened, closed in cases
        if closed is not None
    ]


async def _rulings(ctx: Ctx, order_ids: list[str]) -> dict[str, bool]:
    """Return, by case, whether the operator ruled for the buyer, for the decided cases."""
    if not order_ids:
        return {}
    events = await ctx.db.scalars(
        select(OrderEvent.data).where(
            OrderEvent.order_id.in_(sorted(set(order_ids))),
            OrderEvent.kind == OrderEventKind.DISPUTE_DECIDED,
        )
    )
    return {str(data["case_id"]): bool(data["refund"]) for data in events}


@dataclass(frozen=True, slots=True)
class LateOrder:
    """An order whose ship-by deadline passed before it shipped."""

    order_id: str
    shop_id: str
    ship_by: datetime


async def late_orders(ctx: Ctx, since: datetime, until: datetime) -> list[LateOrder]:
    """Return the orders due to ship in (since, until] that shipped late or not yet."""
    unshipped = and_(Order.status == OrderStatus.PAID, Order.shipped_at.is_(None))
    rows = await ctx.db.execute(
        select(Order.id, Order.shop_id, Order.ship_by).where(
            Order.ship_by > since,
            Order.ship_by <= until,
            or_(unshipped, Order.shipped_at > Order.ship_by),
        )
    )
    return [
        LateOrder(order_id, shop_id, ship_by)
        for order_id, shop_id, ship_by in rows
        if ship_by is not None
    ]


@dataclass(frozen=True, slots=True)
class PaidOrder:
    """A paid order's shop, buyer and time of payment."""

    shop_id: str
    buyer_id: str
    paid_at: datetime


async def paid_orders(ctx: Ctx, since: datetime, until: datetime) -> list[PaidOrder]:
    """Return every order paid in (since, until], of every shop."""
    rows = await ctx.db.execute(
        select(Order.shop_id, Order.buyer_id, Order.paid_at).where(
            Order.paid_at > since, Order.paid_at <= until
        )
    )
    return [PaidOrder(shop, buyer, at) for shop, buyer, at in rows if at is not None]


async def gmv_by_product(ctx: Ctx, since: datetime, until: datetime) -> dict[str, dict[str, int]]:
    """Return, by shop and product, the value of the lines of orders paid in (since, until]."""
    rows = await ctx.db.execute(
        select(
            Order.shop_id,
            OrderLine.product_id,
            func.sum(OrderLine.unit_price_minor * OrderLine.quantity),
        )
        .join(OrderLine, OrderLine.order_id == Order.id)
        .where(Order.paid_at > since, Order.paid_at <= until)
        .group_by(Order.shop_id, OrderLine.product_id)
    )
    made: dict[str, dict[str, int]] = {}
    for shop_id, product_id, value in rows:
        made.setdefault(shop_id, {})[product_id] = int(value or 0)
    return made


async def verified_sales(
    ctx: Ctx, *, shop_id: str | None = None, sku_ids: list[str] | None = None
) -> dict[str, int]:
    """Return units delivered, past the return window and not refunded, by SKU.

    Only completed orders count: delivered, their return window closed with no case open
    (DESIGN.md, Verified sales), so an order that never arrived never counts.
    """
    query = (
        select(OrderLine.sku_id, func.sum(OrderLine.quantity - OrderLine.refunded_quantity))
        .join(Order, Order.id == OrderLine.order_id)
        .where(Order.status == OrderStatus.COMPLETED)
        .group_by(OrderLine.sku_id)
    )
    if shop_id is not None:
        query = query.where(Order.shop_id == shop_id)
    if sku_ids is not None:
        query = query.where(OrderLine.sku_id.in_(sku_ids))
    return {sku_id: int(units or 0) for sku_id, units in await ctx.db.execute(query)}
