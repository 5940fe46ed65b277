"""Flash-sale orders written a batch at a time: rows built as plain dicts, one INSERT per table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, select

from laotie.catalog import stock
from laotie.core.context import Ctx
from laotie.core.ids import new_id
from laotie.db.base import table_of
from laotie.db.bulk import insert_many
from laotie.orders import events, freight
from laotie.orders.checkout import Channel, SaleTerms
from laotie.orders.models import Order, OrderEvent, OrderLine
from laotie.orders.schemas import (
    OrderLineOut,
    OrderOut,
    OrderStatus,
    ShipToOut,
)
from laotie.settings import Settings


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
    # A suspended shop's takes go one by one, where checkout refuses each with its code.
    if (
        sku is None
        or not sku.on_sale
        or sku.per_buyer_limit is not None
        or sku.shop_suspended_until is not None
    ):
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
        # A flash sale's price is everyone's: no coupon on its units.
        "discount_minor": 0,
        "coupon_claim_id": None,
        "discount_account": None,
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
        "anchor_id": placement.channel.anchor_id,
        "commission_bps": placement.channel.commission_bps(sku.product_id),
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
