"""Use-cases of orders: checkout with stock reservation, payment, shipping, delivery, completion."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Select, func, select
from sqlalchemy.exc import IntegrityError

from laotie.accounts.permissions import Actor, Role
from laotie.catalog import service as catalog
from laotie.catalog import stock
from laotie.core.context import Ctx
from laotie.core.errors import AppError, IdempotencyError, not_found
from laotie.core.ids import new_id
from laotie.db.base import table_of
from laotie.db.bulk import insert_many
from laotie.orders import events, freight, ledger
from laotie.orders.errors import OrderError
from laotie.orders.models import AfterSalesCase, Order, OrderEvent, OrderLine
from laotie.orders.schemas import (
    OPEN_CASE_STATUSES,
    OrderEventOut,
    OrderLineOut,
    OrderOut,
    OrderStatus,
    ShipToOut,
)
from laotie.settings import Settings

# Orders in these states hold units a buyer bought, for per-buyer limits.
_COUNTING_STATUSES = (
    OrderStatus.PENDING_PAYMENT,
    OrderStatus.PAID,
    OrderStatus.SHIPPED,
    OrderStatus.DELIVERED,
    OrderStatus.COMPLETED,
)


@dataclass(frozen=True, slots=True)
class Channel:
    """Where an order came from: the shelf, or a live session and the visit in it."""

    name: str = "shelf"
    live_session_id: str | None = None
    visit_id: str | None = None


SHELF = Channel()

# Where a checkout ships to, for callers that read it before checking out (room sales).
Destination = freight.Destination
destination = freight.destination


@dataclass(frozen=True, slots=True)
class SaleTerms:
    """A flash sale's price for one SKU; its units come from the sale, not the SKU's stock."""

    sale_id: str
    sku_id: str
    price_minor: int


@dataclass(frozen=True, slots=True)
class Checkout:
    """The result of a checkout: its orders, and whether the key had been used already."""

    orders: list[OrderOut]
    replayed: bool


# ---------------------------------------------------------------- checkout


def check_lines(ctx: Ctx, lines: Sequence[tuple[str, int]]) -> dict[str, int]:
    """Validate quantities and merge repeated SKUs; return SKU id → quantity in request order."""
    if not lines:
        raise AppError.of(OrderError.EMPTY_CHECKOUT, "nothing to buy")
    merged: dict[str, int] = {}
    for sku_id, quantity in lines:
        merged[sku_id] = merged.get(sku_id, 0) + quantity
    if len(merged) > ctx.settings.max_lines_per_checkout:
        limit = ctx.settings.max_lines_per_checkout
        raise AppError.of(OrderError.TOO_MANY_LINES, f"at most {limit} different SKUs")
    ceiling = ctx.settings.max_quantity_per_line
    for sku_id, quantity in merged.items():
        if not 1 <= quantity <= ceiling:
            raise AppError.of(
                OrderError.QUANTITY_INVALID, f"{sku_id}: quantity must be 1 to {ceiling}"
            )
    return merged


async def do_checkout(
    ctx: Ctx,
    buyer: Actor,
    lines: Sequence[tuple[str, int]],
    key: str,
    channel: Channel = SHELF,
    sale: SaleTerms | None = None,
    *,
    address_id: str | None = None,
    ship: freight.Destination | None = None,
) -> Checkout:
    """Reserve stock and create one pending order per shop; the same key gives the same orders.

    The statement budget matters here (a test holds it): one read of earlier orders with
    the key, one read of the SKUs, one read of the address with the shops' freight
    templates (none when the caller read them already: `ship`), one read of earlier
    purchases only for limited SKUs, one conditional UPDATE per line, and one INSERT per
    table.
    """
    wanted = check_lines(ctx, lines)
    earlier = await _orders_with_key(ctx, buyer.id, key)
    if earlier:
        return Checkout(_same_request_or_refuse(earlier, wanted), replayed=True)
    skus = await stock.load_for_sale(ctx, list(wanted))
    _check_skus_on_sale(wanted, skus)
    if ship is None:
        shop_ids = {skus[sku_id].shop_id for sku_id in wanted}
        ship = await freight.destination(ctx, buyer.id, address_id, shop_ids)
    await _check_buyer_limits(ctx, buyer.id, wanted, skus)
    for sku_id, quantity in wanted.items():
        source = stock.Bucket.IN_SALE if sale and sale.sku_id == sku_id else stock.Bucket.ON_HAND
        if not await stock.move_units(ctx, sku_id, quantity, source, stock.Bucket.RESERVED):
            raise AppError.of(OrderError.OUT_OF_STOCK, f"{sku_id}: not enough stock")
    orders = _build_orders(ctx, buyer.id, key, wanted, skus, channel, ship, sale)
    try:
        await ctx.db.flush()
    except IntegrityError as exc:
        # A concurrent request with the same key won the race; the client retries and
        # then receives that request's orders.
        raise AppError.of(
            IdempotencyError.IN_FLIGHT, "a request with this key is in flight"
        ) from exc
    return Checkout([order_out(order, order_lines) for order, order_lines in orders], False)


async def replay_checkout(ctx: Ctx, buyer_id: str, key: str) -> Checkout | None:
    """Return what an earlier checkout with this key made, if any."""
    earlier = await _orders_with_key(ctx, buyer_id, key)
    if not earlier:
        return None
    return Checkout([order_out(order, lines) for order, lines in earlier], replayed=True)


async def _orders_with_key(
    ctx: Ctx, buyer_id: str, key: str
) -> list[tuple[Order, list[OrderLine]]]:
    """Return the orders an earlier checkout with this key made, with their lines."""
    rows = (
        await ctx.db.execute(
            select(Order, OrderLine)
            .join(OrderLine, OrderLine.order_id == Order.id)
            .where(Order.buyer_id == buyer_id, Order.checkout_key == key)
            .order_by(Order.created_at, Order.id)
        )
    ).all()
    grouped: dict[str, tuple[Order, list[OrderLine]]] = {}
    for order, line in rows:
        grouped.setdefault(order.id, (order, []))[1].append(line)
    return list(grouped.values())


def _same_request_or_refuse(
    earlier: list[tuple[Order, list[OrderLine]]], wanted: dict[str, int]
) -> list[OrderOut]:
    """Return the earlier orders if they answer the same request; a different one is refused."""
    bought = {line.sku_id: line.quantity for _, lines in earlier for line in lines}
    if bought != wanted:
        raise AppError.of(
            IdempotencyError.REUSED, "this Idempotency-Key was used for a different request"
        )
    return [order_out(order, lines) for order, lines in earlier]


def _check_skus_on_sale(wanted: dict[str, int], skus: dict[str, stock.SkuForSale]) -> None:
    """Refuse unknown SKUs, SKUs not on sale, and a checkout mixing currencies."""
    for sku_id in wanted:
        sku = skus.get(sku_id)
        if sku is None:
            raise AppError.of(OrderError.SKU_NOT_FOUND, f"{sku_id}: no such SKU")
        if not sku.on_sale:
            raise AppError.of(OrderError.NOT_ON_SALE, f"{sku_id}: not on sale")
    if len({sku.currency for sku in skus.values()}) > 1:
        raise AppError.of(OrderError.CURRENCY_MISMATCH, "one checkout pays in one currency")


async def _check_buyer_limits(
    ctx: Ctx, buyer_id: str, wanted: dict[str, int], skus: dict[str, stock.SkuForSale]
) -> None:
    """Refuse more units of a limited SKU than the buyer may have in live orders."""
    limited: dict[str, int] = {}
    for sku_id in wanted:
        limit = skus[sku_id].per_buyer_limit
        if limit is not None:
            limited[sku_id] = limit
    if not limited:
        return
    rows = await ctx.db.execute(
        select(OrderLine.sku_id, func.sum(OrderLine.quantity - OrderLine.refunded_quantity))
        .join(Order, Order.id == OrderLine.order_id)
        .where(
            Order.buyer_id == buyer_id,
            OrderLine.sku_id.in_(list(limited)),
            Order.status.in_(_COUNTING_STATUSES),
        )
        .group_by(OrderLine.sku_id)
    )
    had = {sku_id: int(total or 0) for sku_id, total in rows}
    for sku_id, limit in limited.items():
        if had.get(sku_id, 0) + wanted[sku_id] > limit:
            raise AppError.of(OrderError.PER_BUYER_LIMIT, f"{sku_id}: at most {limit} per buyer")


def _build_orders(
    ctx: Ctx,
    buyer_id: str,
    key: str,
    wanted: dict[str, int],
    skus: dict[str, stock.SkuForSale],
    channel: Channel,
    ship: freight.Destination,
    sale: SaleTerms | None = None,
) -> list[tuple[Order, list[OrderLine]]]:
    """Make one order per shop with its lines and its `placed` event (added, not flushed)."""
    now = ctx.now()
    by_shop: dict[str, list[str]] = defaultdict(list)
    for sku_id in wanted:
        by_shop[skus[sku_id].shop_id].append(sku_id)
    # Every shop's freight first: a shop that does not deliver there refuses the checkout.
    freights = {
        shop_id: ship.freight(shop_id, sum(wanted[s] for s in sku_ids))
        for shop_id, sku_ids in by_shop.items()
    }
    made: list[tuple[Order, list[OrderLine]]] = []
    for shop_id, sku_ids in by_shop.items():
        order_id = new_id("ord")
        lines = [
            OrderLine(
                id=new_id("oln"),
                order_id=order_id,
                sku_id=sku_id,
                product_id=skus[sku_id].product_id,
                title=skus[sku_id].title,
                attributes=skus[sku_id].attributes,
                unit_price_minor=sale.price_minor
                if sale and sale.sku_id == sku_id
                else skus[sku_id].price_minor,
                quantity=wanted[sku_id],
                refunded_quantity=0,
                flash_sale_id=sale.sale_id if sale and sale.sku_id == sku_id else None,
            )
            for sku_id in sku_ids
        ]
        windows = [skus[s].return_window_days for s in sku_ids]
        known_windows = [w for w in windows if w is not None]
        order = Order(
            id=order_id,
            buyer_id=buyer_id,
            shop_id=shop_id,
            status=OrderStatus.PENDING_PAYMENT,
            currency=skus[sku_ids[0]].currency,
            total_minor=sum(line.unit_price_minor * line.quantity for line in lines)
            + freights[shop_id],
            refunded_minor=0,
            checkout_key=key,
            channel=channel.name,
            live_session_id=channel.live_session_id,
            visit_id=channel.visit_id,
            # The most generous window of the order's categories applies to the whole order.
            return_window_days=max(known_windows, default=ctx.settings.return_window_days)
            if len(known_windows) == len(windows)
            else ctx.settings.return_window_days,
            created_at=now,
            expires_at=now + timedelta(minutes=ctx.settings.unpaid_order_minutes),
            ship_to=ship.ship_to,
            freight_minor=freights[shop_id],
            city_tier=ship.city_tier,
        )
        ctx.db.add(order)
        ctx.db.add_all(lines)
        ctx.db.add(events.placed(buyer_id, order.total_minor).model(order_id, now))
        made.append((order, lines))
    return made


# ---------------------------------------------------------------- reading


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


# ---------------------------------------------------------------- state changes


def record(ctx: Ctx, order: Order, event: events.NewOrderEvent) -> None:
    """Append an event to the order's history (flushed with the change it records)."""
    ctx.db.add(event.model(order.id, ctx.now()))


def check_status(order: Order, *allowed: OrderStatus) -> None:
    """Refuse a change the order's state does not allow."""
    if order.status not in allowed:
        wanted = " or ".join(allowed)
        raise AppError.of(OrderError.INVALID_STATE, f"order is {order.status}; this needs {wanted}")


async def do_cancel_unpaid(ctx: Ctx, order: Order, actor_id: str | None, reason: str) -> None:
    """Cancel an unpaid order and give its reserved units back (a sale's to the sale)."""
    check_status(order, OrderStatus.PENDING_PAYMENT)
    for line in (await lines_of(ctx, [order.id]))[order.id]:
        # A sale's units go back to the sale; the live feature hands them to its gate while
        # the sale runs, or back on hand once it has ended.
        back = stock.Bucket.IN_SALE if line.flash_sale_id else stock.Bucket.ON_HAND
        await stock.must_move(ctx, line.sku_id, line.quantity, stock.Bucket.RESERVED, back)
    order.status = OrderStatus.CANCELLED
    order.cancelled_at = ctx.now()
    record(ctx, order, events.cancelled(actor_id, reason))
    await ctx.db.flush()


async def do_mark_paid(ctx: Ctx, order: Order, payment_id: str, provider: str) -> bool:
    """Sell the reserved units and hold the money; False when the order is no longer payable."""
    if order.status != OrderStatus.PENDING_PAYMENT:
        return False
    now = ctx.now()
    for line in (await lines_of(ctx, [order.id]))[order.id]:
        await stock.confirm_sold(ctx, line.sku_id, line.quantity)
    order.status = OrderStatus.PAID
    order.payment_id = payment_id
    order.paid_at = now
    order.ship_by = now + timedelta(hours=ctx.settings.ship_within_hours)
    record(ctx, order, events.paid(order.buyer_id, payment_id))
    await ledger.post_capture(ctx, order.id, provider, order.total_minor, order.currency)
    return True


async def do_ship(
    ctx: Ctx, actor: Actor, order_id: str, carrier: str, tracking_no: str
) -> OrderOut:
    """Record the parcel of a paid order; it is late if after the ship-by deadline."""
    order = await access_seller_order(ctx, actor, order_id)
    check_status(order, OrderStatus.PAID)
    now = ctx.now()
    order.status = OrderStatus.SHIPPED
    order.shipped_at = now
    order.carrier = carrier.strip()
    order.tracking_no = tracking_no.strip()
    late = order.ship_by is not None and now > order.ship_by
    record(ctx, order, events.shipped(actor.id, carrier, tracking_no, late))
    await ctx.db.flush()
    return (await outs(ctx, [order]))[0]


async def do_confirm_receipt(ctx: Ctx, actor: Actor, order_id: str) -> OrderOut:
    """The buyer says the parcel arrived."""
    order = await access_buyer_order(ctx, actor, order_id)
    await do_deliver(ctx, order, actor.id, "buyer_confirmed")
    return (await outs(ctx, [order]))[0]


async def do_deliver(ctx: Ctx, order: Order, actor_id: str | None, how: str) -> None:
    """Mark a shipped order delivered; the return window starts now."""
    check_status(order, OrderStatus.SHIPPED)
    now = ctx.now()
    order.status = OrderStatus.DELIVERED
    order.delivered_at = now
    order.return_deadline = now + timedelta(days=order.return_window_days)
    record(ctx, order, events.delivered(actor_id, how))
    await ctx.db.flush()


async def has_open_case(ctx: Ctx, order_id: str) -> bool:
    """Tell whether an after-sales case keeps the order's funds held."""
    found = await ctx.db.scalar(
        select(AfterSalesCase.id)
        .where(AfterSalesCase.order_id == order_id, AfterSalesCase.status.in_(OPEN_CASE_STATUSES))
        .limit(1)
    )
    return found is not None


async def do_complete(ctx: Ctx, order: Order) -> bool:
    """Close a delivered order whose return window is over and release the funds to the seller."""
    if order.status != OrderStatus.DELIVERED or order.return_deadline is None:
        return False
    if order.return_deadline > ctx.now() or await has_open_case(ctx, order.id):
        return False
    order.status = OrderStatus.COMPLETED
    order.completed_at = ctx.now()
    held = order.total_minor - order.refunded_minor
    fee = 0
    if held > 0:
        fee = await ledger.post_release(
            ctx, order.id, order.shop_id, held, ctx.settings.platform_fee_bps, order.currency
        )
    record(ctx, order, events.completed(held - fee, fee))
    await ctx.db.flush()
    return True


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


# ---------------------------------------------------------------- flash-sale orders


@dataclass(frozen=True, slots=True)
class SalePlacement:
    """One granted take of a flash sale, to be written as one pending order."""

    buyer_id: str
    key: str
    quantity: int
    channel: Channel
    ship: freight.Destination


class SaleBatchRefusedError(Exception):
    """A batch that cannot be written in one go: write its takes one at a time instead."""


def place_sale_orders(
    connection: Connection,
    settings: Settings,
    now: datetime,
    sale: SaleTerms,
    placements: Sequence[SalePlacement],
) -> list[OrderOut]:
    """Write a batch of a sale's granted takes as pending orders, in a handful of statements.

    The rows are those `do_checkout` would write for each take alone (order, line with the
    sale's id and price, `placed` event, same expiry and return window), but the batch
    reads its SKU once, moves all its units from `in_sale` to `reserved` in one conditional
    UPDATE and inserts each table's rows in one executemany. Anything that would make
    `do_checkout` refuse one of the takes (a SKU off sale, a per-buyer limit to count, a
    quantity out of bounds, too few units in the sale, a repeated key) raises
    `SaleBatchRefusedError`, and a key used before raises `IntegrityError`: the caller rolls
    back and writes the takes one by one, so that each refusal is its own buyer's. It runs
    on a synchronous connection, so that the whole batch can run in one go (`run_batch`).
    """
    if not placements:
        return []
    sku = stock.load_for_sale_sync(connection, [sale.sku_id]).get(sale.sku_id)
    if sku is None or not sku.on_sale or sku.per_buyer_limit is not None:
        raise SaleBatchRefusedError("the SKU needs the one-by-one checks")
    ceiling = settings.max_quantity_per_line
    if any(not 1 <= p.quantity <= ceiling for p in placements):
        raise SaleBatchRefusedError("a quantity is out of bounds")
    if len({(p.buyer_id, p.key) for p in placements}) != len(placements):
        raise SaleBatchRefusedError("a key appears twice in the batch")
    units = sum(p.quantity for p in placements)
    moved = stock.move_units_sync(
        connection, sale.sku_id, units, stock.Bucket.IN_SALE, stock.Bucket.RESERVED
    )
    if not moved:
        raise SaleBatchRefusedError("the sale holds fewer units than the batch")
    expires = now + timedelta(minutes=settings.unpaid_order_minutes)
    made = [_sale_rows(settings, now, expires, sale, sku, p) for p in placements]
    for table, rows in zip(_SALE_TABLES, zip(*made, strict=True), strict=True):
        insert_many(connection, table, rows)
    return [_sale_order_out(order, line) for order, line, _ in made]


# Rows of a sale batch go in as plain dicts, table by table (`insert_many`): at thousands
# of orders a second, ORM instances and per-row type conversion cost more than the inserts.
# Columns still empty (paid, shipped...) are left out and stay NULL.
_SALE_TABLES = (table_of(Order), table_of(OrderLine), table_of(OrderEvent))


def _sale_rows(
    settings: Settings,
    now: datetime,
    expires: datetime,
    sale: SaleTerms,
    sku: stock.SkuForSale,
    placement: SalePlacement,
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Return a take's order, line and `placed` event rows, as `_build_orders` would make them."""
    order_id = new_id("ord")
    freight_minor = placement.ship.freight(sku.shop_id, placement.quantity)
    total = sale.price_minor * placement.quantity + freight_minor
    window = sku.return_window_days
    order = {
        "id": order_id,
        "buyer_id": placement.buyer_id,
        "shop_id": sku.shop_id,
        "status": OrderStatus.PENDING_PAYMENT.value,
        "currency": sku.currency,
        "total_minor": total,
        "refunded_minor": 0,
        "checkout_key": placement.key,
        "channel": placement.channel.name,
        "live_session_id": placement.channel.live_session_id,
        "visit_id": placement.channel.visit_id,
        "return_window_days": settings.return_window_days if window is None else window,
        "created_at": now,
        "expires_at": expires,
        "ship_to": placement.ship.ship_to,
        "freight_minor": freight_minor,
        "city_tier": placement.ship.city_tier,
    }
    line = {
        "id": new_id("oln"),
        "order_id": order_id,
        "sku_id": sku.sku_id,
        "product_id": sku.product_id,
        "title": sku.title,
        "attributes": sku.attributes,
        "unit_price_minor": sale.price_minor,
        "quantity": placement.quantity,
        "refunded_quantity": 0,
        "flash_sale_id": sale.sale_id,
    }
    event = events.placed(placement.buyer_id, total).row(order_id, now)
    return order, line, event


def _sale_order_out(order: dict[str, Any], line: dict[str, Any]) -> OrderOut:
    """Return the wire form of a sale order from the rows it was just written from."""
    # Built without validation: every field comes from the rows made above, typed already.
    fields: dict[str, Any] = {name: order.get(name) for name in _ORDER_OUT_FIELDS}
    fields["status"] = OrderStatus(order["status"])
    fields["ship_to"] = ShipToOut.model_construct(**order["ship_to"])
    line_out = OrderLineOut.model_construct(**{name: line[name] for name in _LINE_OUT_FIELDS})
    return OrderOut.model_construct(**fields, lines=[line_out])


_ORDER_OUT_FIELDS = tuple(name for name in OrderOut.model_fields if name != "lines")
_LINE_OUT_FIELDS = tuple(OrderLineOut.model_fields)


async def sale_orders_holding_units(ctx: Ctx, sale_id: str) -> list[tuple[str, str, int]]:
    """Return (checkout key, buyer, units) of a sale's orders that were not cancelled."""
    rows = await ctx.db.execute(
        select(Order.checkout_key, Order.buyer_id, func.sum(OrderLine.quantity))
        .join(OrderLine, OrderLine.order_id == Order.id)
        .where(OrderLine.flash_sale_id == sale_id, Order.status != OrderStatus.CANCELLED)
        .group_by(Order.checkout_key, Order.buyer_id)
    )
    return [(key, buyer, int(units)) for key, buyer, units in rows]


async def sale_orders_cancelled(ctx: Ctx, sale_id: str) -> list[str]:
    """Return the checkout keys of a sale's cancelled orders (their units went back)."""
    rows = await ctx.db.scalars(
        select(Order.checkout_key)
        .join(OrderLine, OrderLine.order_id == Order.id)
        .where(OrderLine.flash_sale_id == sale_id, Order.status == OrderStatus.CANCELLED)
        .distinct()
    )
    return list(rows)


async def sale_units(ctx: Ctx, sale_id: str) -> dict[str, int]:
    """Return a sale's units in its orders: reserved (unpaid), sold, and refunded."""
    rows = await ctx.db.execute(
        select(
            Order.status,
            func.sum(OrderLine.quantity),
            func.sum(OrderLine.refunded_quantity),
        )
        .join(OrderLine, OrderLine.order_id == Order.id)
        .where(OrderLine.flash_sale_id == sale_id)
        .group_by(Order.status)
    )
    units = {"reserved": 0, "sold": 0, "refunded": 0}
    for status, quantity, refunded in rows:
        if status == OrderStatus.PENDING_PAYMENT:
            units["reserved"] += int(quantity)
        elif status != OrderStatus.CANCELLED:
            units["sold"] += int(quantity) - int(refunded)
            units["refunded"] += int(refunded)
    return units


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
