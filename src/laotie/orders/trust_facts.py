"""What trust reads of a shop's orders, shipping and after-sales over a period, as plain values.

Trust scores a shop from these facts (`trust/score.py` turns each into an observation);
it reads them here because the tables are the orders feature's own.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select

from laotie.core.context import Ctx
from laotie.orders.events import OrderEventKind
from laotie.orders.models import AfterSalesCase, Order, OrderEvent, OrderLine, SandboxCharge
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

    def without(self, exclude: Collection[str]) -> Scope:
        """The same scope less some orders (and their cases)."""
        if not exclude:
            return self
        left_out = sorted(exclude)
        return Scope(
            and_(self.orders, Order.id.not_in(left_out)),
            and_(self.cases, AfterSalesCase.order_id.not_in(left_out)),
        )


def shop_scope(shop_id: str, exclude: Collection[str] = ()) -> Scope:
    """The orders of a shop, but those excluded (brushing)."""
    scope = Scope(Order.shop_id == shop_id, AfterSalesCase.shop_id == shop_id)
    return scope.without(exclude)


def sessions_scope(session_ids: list[str], exclude: Collection[str] = ()) -> Scope:
    """The orders placed in some live sessions (what an anchor sold), but those excluded."""
    in_sessions = Order.live_session_id.in_(session_ids)
    scope = Scope(in_sessions, AfterSalesCase.order_id.in_(select(Order.id).where(in_sessions)))
    return scope.without(exclude)


async def shop_facts(
    ctx: Ctx, shop_id: str, since: datetime, until: datetime, exclude: Collection[str] = ()
) -> ShopFacts:
    """Read a shop's trust facts of a period, leaving the excluded orders out."""
    return await scope_facts(ctx, shop_scope(shop_id, exclude), since, until)


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


@dataclass(frozen=True, slots=True)
class OrderPrint:
    """What brushing detection reads of a paid order: who, where from, and how it ended."""

    order_id: str
    shop_id: str
    buyer_id: str
    paid_at: datetime
    total_minor: int
    device_id: str | None
    client_ip: str | None
    address_key: str | None  # the shipping address, normalised
    payer_account: str | None  # who paid, as the provider knows them
    shipped_at: datetime | None
    delivered_at: datetime | None
    buyer_confirmed: bool  # the buyer said it arrived (not the auto-confirmation)


async def order_prints(ctx: Ctx, since: datetime, until: datetime) -> list[OrderPrint]:
    """Return every order paid in (since, until] with its fingerprints, of every shop.

    One read: the sandbox's charge gives the payer's account, the `delivered` event says
    whether the buyer confirmed (each order has one charge and one such event at most).
    """
    charge = and_(SandboxCharge.payment_id == Order.payment_id, SandboxCharge.kind == "charge")
    delivered = and_(
        OrderEvent.order_id == Order.id, OrderEvent.kind == OrderEventKind.DELIVERED.value
    )
    rows = await ctx.db.execute(
        select(
            Order.id,
            Order.shop_id,
            Order.buyer_id,
            Order.paid_at,
            Order.total_minor,
            Order.device_id,
            Order.client_ip,
            Order.ship_to,
            SandboxCharge.payer_account,
            Order.shipped_at,
            Order.delivered_at,
            OrderEvent.data,
        )
        .outerjoin(SandboxCharge, charge)
        .outerjoin(OrderEvent, delivered)
        .where(Order.paid_at > since, Order.paid_at <= until)
    )
    return [_order_print(*row) for row in rows if row[3] is not None]


def _order_print(
    order_id: str,
    shop_id: str,
    buyer_id: str,
    paid_at: datetime,
    total: int,
    device: str | None,
    ip: str | None,
    ship_to: dict[str, Any] | None,
    payer: str | None,
    shipped: datetime | None,
    arrived: datetime | None,
    event: dict[str, Any] | None,
) -> OrderPrint:
    return OrderPrint(
        order_id=order_id,
        shop_id=shop_id,
        buyer_id=buyer_id,
        paid_at=paid_at,
        total_minor=total,
        device_id=device,
        client_ip=ip,
        address_key=address_key(ship_to),
        payer_account=payer,
        shipped_at=shipped,
        delivered_at=arrived,
        buyer_confirmed=bool(event and event.get("how") == "buyer_confirmed"),
    )


def address_key(ship_to: dict[str, Any] | None) -> str | None:
    """Normalise a shipping address: its district (or city) and street, blind to spaces and case."""
    if not ship_to:
        return None
    street = "".join(str(ship_to.get("street", "")).lower().split())
    place = ship_to.get("district_code") or ship_to.get("city_code") or ""
    return f"{place}|{street}"


async def verified_sales(
    ctx: Ctx,
    *,
    shop_id: str | None = None,
    sku_ids: list[str] | None = None,
    exclude: Collection[str] = (),
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
    if exclude:
        query = query.where(Order.id.not_in(sorted(exclude)))
    return {sku_id: int(units or 0) for sku_id, units in await ctx.db.execute(query)}
