"""What trust reads of a shop's orders, shipping and after-sales over a period, as plain values.

Trust scores a shop from these facts (`trust/score.py` turns each into an observation);
it reads them here because the tables are the orders feature's own.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute

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
class Key:
    """What puts orders in groups read together: a column of the order, and the same of its case."""

    order: InstrumentedAttribute[Any]
    case: InstrumentedAttribute[Any]


# A shop's orders; the orders placed in a live session (what its anchor sold).
BY_SHOP = Key(Order.shop_id, AfterSalesCase.shop_id)
BY_SESSION = Key(Order.live_session_id, Order.live_session_id)


async def grouped_facts(
    ctx: Ctx,
    key: Key,
    group_of: Mapping[str, str],
    since: datetime,
    until: datetime,
    exclude: Mapping[str, Collection[str]],
) -> dict[str, ShopFacts]:
    """Read the trust facts of a period of many groups at once: one read of orders, one of cases.

    `group_of` maps each key (a shop, a session) to its group (the shop, the session's
    anchor); `exclude` names, by group, the orders left out (brushing). Each group's
    facts come in a fixed order (by time, then id), so a group reads the same alone or
    with others.
    """
    orders = await _orders(ctx, key, group_of, since, until, exclude)
    cases = await _cases(ctx, key, group_of, since, until, exclude)
    rulings = await _rulings(ctx, [case.order_id for found in cases.values() for case in found])
    allowed = timedelta(hours=ctx.settings.seller_response_hours)
    return {
        group: _facts(orders.get(group, []), cases.get(group, []), rulings, allowed, since, until)
        for group in dict.fromkeys(group_of.values())
    }


@dataclass(frozen=True, slots=True)
class _OrderRow:
    order_id: str
    buyer_id: str
    paid_at: datetime | None
    shipped_at: datetime | None
    ship_by: datetime | None


@dataclass(frozen=True, slots=True)
class _CaseRow:
    case_id: str
    order_id: str
    status: str
    reason_code: str | None
    opened_at: datetime
    closed_at: datetime


def _in(at: datetime | None, since: datetime, until: datetime) -> bool:
    return at is not None and since < at <= until


def _facts(
    orders: list[_OrderRow],
    cases: list[_CaseRow],
    rulings: Mapping[str, bool],
    allowed: timedelta,
    since: datetime,
    until: datetime,
) -> ShopFacts:
    """Make one group's facts from its rows."""
    shipped = sorted(
        (row.shipped_at, row.order_id, row.ship_by)
        for row in orders
        if row.shipped_at is not None
        and row.ship_by is not None
        and _in(row.shipped_at, since, until)
    )
    closed = sorted(cases, key=lambda case: (case.closed_at, case.case_id))
    quality = [str(code) for code in QUALITY_REASONS]
    return ShopFacts(
        buyers=len({row.buyer_id for row in orders if _in(row.paid_at, since, until)}),
        shipments=[(at, at <= deadline) for at, _, deadline in shipped],
        quality_refunds=[
            case.closed_at
            for case in closed
            if case.status == CaseStatus.REFUNDED and case.reason_code in quality
        ],
        cases=[
            CaseOutcome(
                case.closed_at,
                case.closed_at - case.opened_at <= allowed,
                rulings.get(case.case_id),
            )
            for case in closed
        ],
    )


async def _orders(
    ctx: Ctx,
    key: Key,
    group_of: Mapping[str, str],
    since: datetime,
    until: datetime,
    exclude: Mapping[str, Collection[str]],
) -> dict[str, list[_OrderRow]]:
    """Read, by group, the orders paid or shipped (with a deadline) in the period."""
    shipped = and_(Order.shipped_at > since, Order.shipped_at <= until, Order.ship_by.is_not(None))
    rows = await ctx.db.execute(
        select(
            key.order, Order.id, Order.buyer_id, Order.paid_at, Order.shipped_at, Order.ship_by
        ).where(
            key.order.in_(sorted(group_of)),
            or_(and_(Order.paid_at > since, Order.paid_at <= until), shipped),
        )
    )
    found: dict[str, list[_OrderRow]] = defaultdict(list)
    for keyed, order_id, *rest in rows:
        group = group_of[keyed]
        if order_id not in exclude.get(group, ()):
            found[group].append(_OrderRow(order_id, *rest))
    return found


async def _cases(
    ctx: Ctx,
    key: Key,
    group_of: Mapping[str, str],
    since: datetime,
    until: datetime,
    exclude: Mapping[str, Collection[str]],
) -> dict[str, list[_CaseRow]]:
    """Read, by group, the after-sales cases closed in the period."""
    rows = await ctx.db.execute(
        select(
            key.case,
            AfterSalesCase.id,
            AfterSalesCase.order_id,
            AfterSalesCase.status,
            AfterSalesCase.reason_code,
            AfterSalesCase.created_at,
            AfterSalesCase.closed_at,
        )
        .join(Order, Order.id == AfterSalesCase.order_id)
        .where(
            key.case.in_(sorted(group_of)),
            AfterSalesCase.closed_at > since,
            AfterSalesCase.closed_at <= until,
        )
    )
    found: dict[str, list[_CaseRow]] = defaultdict(list)
    for keyed, case_id, order_id, status, reason, opened, closed in rows:
        group = group_of[keyed]
        if closed is not None and order_id not in exclude.get(group, ()):
            found[group].append(_CaseRow(case_id, order_id, str(status), reason, opened, closed))
    return found


async def orders_of_sessions(ctx: Ctx, session_ids: list[str]) -> dict[str, str]:
    """Return the orders placed in these live sessions: each order's session, by order id."""
    rows = await ctx.db.execute(
        select(Order.id, Order.live_session_id).where(Order.live_session_id.in_(session_ids))
    )
    return {order_id: session_id for order_id, session_id in rows if session_id is not None}


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
