"""Reads of orders: their wire form, the buyer's and the shop's lists, events, totals, balance."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, bindparam, func, select

from laotie.accounts.permissions import Actor, Role
from laotie.catalog import service as catalog
from laotie.core.context import Ctx
from laotie.core.errors import not_found
from laotie.db.bulk import id_chunks
from laotie.orders import ledger
from laotie.orders.models import Order, OrderEvent, OrderLine
from laotie.orders.schemas import (
    OrderEventOut,
    OrderLineOut,
    OrderOut,
    OrderStatus,
    ShipToOut,
)


def order_out(order: Order, lines: Sequence[OrderLine]) -> OrderOut:
    """Return the wire form of an order."""
    return OrderOut(
        id=order.id,
        buyer_id=order.buyer_id,
        shop_id=order.shop_id,
        status=OrderStatus(order.status),
        currency=order.currency,
        total_minor=order.total_minor,
        refunded_minor=order.refunded_minor,
        channel=order.channel,
        live_session_id=order.live_session_id,
        visit_id=order.visit_id,
        payment_id=order.payment_id,
        created_at=order.created_at,
        expires_at=order.expires_at,
        paid_at=order.paid_at,
        ship_by=order.ship_by,
        shipped_at=order.shipped_at,
        carrier=order.carrier,
        tracking_no=order.tracking_no,
        delivered_at=order.delivered_at,
        return_deadline=order.return_deadline,
        completed_at=order.completed_at,
        cancelled_at=order.cancelled_at,
        ship_to=None if order.ship_to is None else ShipToOut(**order.ship_to),
        freight_minor=order.freight_minor,
        city_tier=order.city_tier,
        discount_minor=order.discount_minor or 0,
        coupon_claim_id=order.coupon_claim_id,
        lines=[
            OrderLineOut(
                id=line.id,
                sku_id=line.sku_id,
                product_id=line.product_id,
                title=line.title,
                attributes=line.attributes,
                unit_price_minor=line.unit_price_minor,
                quantity=line.quantity,
                refunded_quantity=line.refunded_quantity,
                anchor_id=line.anchor_id,
                commission_bps=line.commission_bps,
            )
            for line in lines
        ],
    )


async def lines_of(ctx: Ctx, order_ids: Sequence[str]) -> dict[str, list[OrderLine]]:
    """Return the lines of several orders, by order id."""
    result: dict[str, list[OrderLine]] = {order_id: [] for order_id in order_ids}
    rows = await ctx.db.scalars(
        select(OrderLine).where(OrderLine.order_id.in_(list(order_ids))).order_by(OrderLine.id)
    )
    for line in rows:
        result[line.order_id].append(line)
    return result


async def outs(ctx: Ctx, orders: Sequence[Order]) -> list[OrderOut]:
    """Return the wire form of several orders, reading their lines in one statement."""
    lines = await lines_of(ctx, [order.id for order in orders])
    return [order_out(order, lines[order.id]) for order in orders]


async def load_order(ctx: Ctx, order_id: str, *, lock: bool = False) -> Order:
    """Return an order, locked for update when asked (PostgreSQL; SQLite's write lock covers it)."""
    query = select(Order).where(Order.id == order_id)
    if lock:
        query = query.with_for_update()
    order = await ctx.db.scalar(query)
    if order is None:
        raise not_found("order")
    return order


async def access_order(ctx: Ctx, actor: Actor, order_id: str, *, lock: bool = False) -> Order:
    """Return an order its buyer, its shop's owner or an operator may see."""
    order = await load_order(ctx, order_id, lock=lock)
    if order.buyer_id == actor.id or actor.has(Role.OPERATOR):
        return order
    if actor.has(Role.SELLER) and await catalog.shop_owner_id(ctx, order.shop_id) == actor.id:
        return order
    raise not_found("order")


async def access_buyer_order(ctx: Ctx, actor: Actor, order_id: str) -> Order:
    """Return, locked, an order of which the actor is the buyer."""
    order = await load_order(ctx, order_id, lock=True)
    if order.buyer_id != actor.id:
        raise not_found("order")
    return order


async def access_seller_order(ctx: Ctx, actor: Actor, order_id: str) -> Order:
    """Return, locked, an order of a shop the actor owns."""
    order = await load_order(ctx, order_id, lock=True)
    if await catalog.shop_owner_id(ctx, order.shop_id) != actor.id:
        raise not_found("order")
    return order


async def buyer_orders(ctx: Ctx, actor: Actor, limit: int = 50, offset: int = 0) -> list[OrderOut]:
    """Return the actor's orders, newest first."""
    orders = (
        await ctx.db.scalars(
            select(Order)
            .where(Order.buyer_id == actor.id)
            .order_by(Order.created_at.desc(), Order.id)
            .limit(limit)
            .offset(offset)
        )
    ).all()
    return await outs(ctx, orders)


async def shop_orders(
    ctx: Ctx, actor: Actor, shop_id: str, status: OrderStatus | None, limit: int, offset: int
) -> list[OrderOut]:
    """Return a shop's orders for its owner, oldest ship-by first so urgent ones lead."""
    if await catalog.shop_owner_id(ctx, shop_id) != actor.id and not actor.has(Role.OPERATOR):
        raise not_found("shop")
    query = select(Order).where(Order.shop_id == shop_id)
    if status is not None:
        query = query.where(Order.status == status)
    orders = (
        await ctx.db.scalars(
            query.order_by(Order.ship_by.asc(), Order.created_at.desc()).limit(limit).offset(offset)
        )
    ).all()
    return await outs(ctx, orders)


async def order_events(ctx: Ctx, actor: Actor, order_id: str) -> list[OrderEventOut]:
    """Return an order's history."""
    order = await access_order(ctx, actor, order_id)
    events = await ctx.db.scalars(
        select(OrderEvent).where(OrderEvent.order_id == order.id).order_by(OrderEvent.id)
    )
    return [
        OrderEventOut(
            id=e.id, kind=e.kind, actor_id=e.actor_id, data=e.data, created_at=e.created_at
        )
        for e in events
    ]


async def shop_balance(ctx: Ctx, actor: Actor, shop_id: str) -> tuple[str, int, int]:
    """Return a shop's currency, the funds held for it, and the funds released to it."""
    if await catalog.shop_owner_id(ctx, shop_id) != actor.id and not actor.has(Role.OPERATOR):
        raise not_found("shop")
    held = await ctx.db.scalar(
        select(func.coalesce(func.sum(Order.total_minor - Order.refunded_minor), 0)).where(
            Order.shop_id == shop_id,
            Order.status.in_((OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.DELIVERED)),
        )
    )
    released = -await ledger.balance(ctx, ledger.seller_account(shop_id))
    currency = ctx.settings.currency
    return currency, int(held or 0), released


async def live_session_totals(ctx: Ctx, session_id: str) -> tuple[int, int]:
    """Return how many orders a live session has placed (not cancelled) and their value."""
    row = (await ctx.db.execute(_session_totals(session_id))).one()
    return int(row[0]), int(row[1])


def live_session_totals_sync(connection: Connection, session_id: str) -> tuple[int, int]:
    """`live_session_totals` on a synchronous connection (a batch run in one go)."""
    row = connection.execute(_session_totals(session_id)).one()
    return int(row[0]), int(row[1])


def _session_totals(session_id: str) -> Select[int, int]:
    return select(func.count(Order.id), func.coalesce(func.sum(Order.total_minor), 0)).where(
        Order.live_session_id == session_id, Order.status != OrderStatus.CANCELLED
    )


async def paid_totals_of_sessions(
    ctx: Ctx, session_ids: Sequence[str]
) -> dict[str, tuple[int, int]]:
    """Return (paid orders, their value) of each of these sessions that has any, in one read."""
    if not session_ids:
        return {}
    rows = await ctx.db.execute(_PAID_TOTALS, {"ids": list(session_ids)})
    return {str(session_id): (int(count), int(value)) for session_id, count, value in rows}


# Built once: the feed reads every live room's every few seconds.
_PAID_TOTALS = (
    select(Order.live_session_id, func.count(Order.id), func.sum(Order.total_minor))
    .where(Order.live_session_id.in_(bindparam("ids", expanding=True)), Order.paid_at.is_not(None))
    .group_by(Order.live_session_id)
)


@dataclass(frozen=True, slots=True)
class RoomOrder:
    """A paid order of a live session: who, from which visit, for how much."""

    buyer_id: str
    visit_id: str | None
    total_minor: int
    currency: str


async def paid_orders_of_sessions(
    ctx: Ctx, session_ids: Sequence[str], since: datetime, until: datetime
) -> list[RoomOrder]:
    """Return the orders placed in these sessions and paid in [since, until)."""
    if not session_ids:
        return []
    rows = await ctx.db.execute(
        select(Order.buyer_id, Order.visit_id, Order.total_minor, Order.currency).where(
            Order.live_session_id.in_(list(session_ids)),
            Order.paid_at >= since,
            Order.paid_at < until,
        )
    )
    return [RoomOrder(*row) for row in rows]


async def paid_by_buyers_in_sessions(
    ctx: Ctx, session_ids: Sequence[str], buyer_ids: Sequence[str], since: datetime
) -> list[tuple[str, datetime, int]]:
    """Return (buyer, paid at, value) of these buyers' orders in these sessions paid since then."""
    if not session_ids or not buyer_ids:
        return []
    rows = await ctx.db.execute(
        select(Order.buyer_id, Order.paid_at, Order.total_minor).where(
            Order.live_session_id.in_(list(session_ids)),
            Order.buyer_id.in_(sorted(set(buyer_ids))),
            Order.paid_at >= since,
        )
    )
    return [(buyer, paid_at, int(total)) for buyer, paid_at, total in rows if paid_at is not None]


async def live_session_totals_between(
    ctx: Ctx, session_id: str, start: datetime, end: datetime
) -> tuple[int, int]:
    """Return the orders a live session placed in a time window (not cancelled) and their value."""
    row = (
        await ctx.db.execute(
            select(func.count(Order.id), func.coalesce(func.sum(Order.total_minor), 0)).where(
                Order.live_session_id == session_id,
                Order.status != OrderStatus.CANCELLED,
                Order.created_at >= start,
                Order.created_at < end,
            )
        )
    ).one()
    return int(row[0]), int(row[1])


async def ordered_through_sales(ctx: Ctx, sale_ids: list[str]) -> dict[str, tuple[int, int]]:
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


# ---------------------------------------------------------------- the GMV identity's reads


@dataclass(frozen=True, slots=True)
class PaidSale:
    """A paid order as the GMV identity reads it: who, where from, how much, to which tier."""

    order_id: str
    buyer_id: str
    shop_id: str
    session_id: str | None  # None: a shelf order
    visit_id: str | None
    total_minor: int
    currency: str
    city_tier: str | None
    paid_at: datetime


_PAID_SALES = select(
    Order.id,
    Order.buyer_id,
    Order.shop_id,
    Order.live_session_id,
    Order.visit_id,
    Order.total_minor,
    Order.currency,
    Order.city_tier,
    Order.paid_at,
)


async def paid_sales(
    ctx: Ctx,
    since: datetime,
    until: datetime,
    *,
    shop_id: str | None = None,
    session_ids: Sequence[str] | None = None,
) -> list[PaidSale]:
    """Return the orders paid in [since, until) (GMV counts an order when it is paid, whatever
    befalls it later): of these sessions, else of this shop (live and shelf), else of all."""
    query = _PAID_SALES.where(Order.paid_at >= since, Order.paid_at < until)
    if session_ids is None:
        if shop_id is not None:
            query = query.where(Order.shop_id == shop_id)
        return _sales(await ctx.db.execute(query))
    found: list[PaidSale] = []
    for chunk in id_chunks(session_ids):
        found += _sales(await ctx.db.execute(query.where(Order.live_session_id.in_(chunk))))
    return found


def _sales(rows: Iterable[Any]) -> list[PaidSale]:
    return sorted((PaidSale(*row) for row in rows), key=lambda sale: (sale.paid_at, sale.order_id))


# ---------------------------------------------------------------- a live session's report


@dataclass(frozen=True, slots=True)
class SessionOrderLine:
    """A line of a session's order: which product, through which flash sale, how many, at what."""

    product_id: str
    flash_sale_id: str | None
    quantity: int
    unit_price_minor: int

    @property
    def value_minor(self) -> int:
        """The line's value at its price, freight left out."""
        return self.unit_price_minor * self.quantity


@dataclass(frozen=True, slots=True)
class SessionOrder:
    """An order of a live session as its report reads it: when placed, when paid, its lines."""

    order_id: str
    created_at: datetime
    paid_at: datetime | None  # None: awaiting payment
    total_minor: int
    currency: str
    lines: tuple[SessionOrderLine, ...]


_SESSION_ORDER_LINES = (
    select(
        Order.id,
        Order.created_at,
        Order.paid_at,
        Order.total_minor,
        Order.currency,
        OrderLine.product_id,
        OrderLine.flash_sale_id,
        OrderLine.quantity,
        OrderLine.unit_price_minor,
    )
    .join(OrderLine, OrderLine.order_id == Order.id)
    .where(
        Order.live_session_id == bindparam("session_id"),
        # Paid (whatever befell it later: GMV counts it at payment) or still to be paid;
        # an order cancelled unpaid never counts.
        (Order.paid_at.is_not(None)) | (Order.status == OrderStatus.PENDING_PAYMENT),
    )
    .order_by(Order.created_at, Order.id, OrderLine.id)
)


async def orders_of_session(ctx: Ctx, session_id: str) -> list[SessionOrder]:
    """Return a session's orders paid or awaiting payment, with their lines, in order placed."""
    rows = await ctx.db.execute(_SESSION_ORDER_LINES, {"session_id": session_id})
    heads: dict[str, tuple[datetime, datetime | None, int, str]] = {}
    lines: dict[str, list[SessionOrderLine]] = {}
    for order_id, created, paid, total, currency, product, sale, quantity, price in rows:
        heads.setdefault(order_id, (created, paid, int(total), currency))
        lines.setdefault(order_id, []).append(
            SessionOrderLine(product, sale, int(quantity), int(price))
        )
    return [
        SessionOrder(order_id, *head, lines=tuple(lines[order_id]))
        for order_id, head in heads.items()
    ]


async def first_paid_at(ctx: Ctx) -> datetime | None:
    """The moment the first order of all was paid (None: none was)."""
    first: datetime | None = await ctx.db.scalar(select(func.min(Order.paid_at)))
    return first
