"""Checkout: one order per shop, stock reserved, idempotent by key, shipped to an address."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.exc import IntegrityError

from laotie.accounts.permissions import Actor
from laotie.catalog import stock
from laotie.core.context import Ctx
from laotie.core.errors import AppError, IdempotencyError
from laotie.core.fingerprint import ClientPrint
from laotie.core.ids import new_id
from laotie.orders import coupons, events, freight
from laotie.orders.errors import OrderError
from laotie.orders.models import Address, FreightTemplate, Order, OrderLine
from laotie.orders.queries import order_out
from laotie.orders.schemas import (
    OrderOut,
    OrderStatus,
)

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
    """Where an order came from: the shelf, or a live session and the visit in it, and the
    client's address and device (brushing detection reads them)."""

    name: str = "shelf"
    live_session_id: str | None = None
    visit_id: str | None = None
    client: ClientPrint | None = None
    # The anchor whose room sells, and the commission of each pool product it sells there
    # (by product id): every line of a room's order carries them.
    anchor_id: str | None = None
    commissions: Mapping[str, int] = field(default_factory=dict)

    def commission_bps(self, product_id: str) -> int:
        """Return the commission rate a line of this product carries (0: the shop's own)."""
        return self.commissions.get(product_id, 0)


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
    skus: dict[str, stock.SkuForSale] | None = None,
    prices: Mapping[str, int] | None = None,
    coupon_claim_id: str | None = None,
    prepaid: Prepaid | None = None,
    expires_at: datetime | None = None,
) -> Checkout:
    """Reserve stock and create one pending order per shop; the same key gives the same orders.

    The statement budget matters here (a test holds it): one read of the SKUs with whether
    the key was used, the address and the shops' freight templates (when the caller read
    the SKUs or the address already, as a room order does in its transaction: `skus`,
    `ship`, a read of earlier orders with the key instead); the earlier orders only when
    the key was used; one read of earlier purchases only for limited SKUs; one
    conditional UPDATE per line; and one INSERT per table. `prices` are unit prices the
    caller checked for this buyer (a fan price); a coupon adds its read and its redemption.
    `prepaid` is a deposit the buyer paid earlier, taken off like a coupon (a C2M balance);
    `expires_at` replaces the usual time to pay.
    """
    wanted = check_lines(ctx, lines)
    read = None
    if skus is None and ship is None:
        read = await _read_for_checkout(ctx, buyer.id, key, list(wanted), address_id)
        skus = read.skus
    if read is None or read.key_used:
        earlier = await _orders_with_key(ctx, buyer.id, key)
        if earlier:
            return Checkout(_same_request_or_refuse(earlier, wanted), replayed=True)
    if skus is None or not set(wanted) <= set(skus):
        skus = await stock.load_for_sale(ctx, list(wanted))
    _check_skus_on_sale(wanted, skus, ctx.now())
    if read is not None:
        ship = freight.destination_of(read.places, address_id)
    elif ship is None:
        shop_ids = {skus[sku_id].shop_id for sku_id in wanted}
        ship = await freight.destination(ctx, buyer.id, address_id, shop_ids)
    await _check_buyer_limits(ctx, buyer.id, wanted, skus)
    discount = None
    if coupon_claim_id is not None:
        discount = await _discount(ctx, buyer.id, coupon_claim_id, wanted, skus)
    for sku_id, quantity in wanted.items():
        source = stock.Bucket.IN_SALE if sale and sale.sku_id == sku_id else stock.Bucket.ON_HAND
        if not await stock.move_units(ctx, sku_id, quantity, source, stock.Bucket.RESERVED):
            raise AppError.of(OrderError.OUT_OF_STOCK, f"{sku_id}: not enough stock")
    priced = _Pricing(sale, prices or {}, discount, prepaid)
    orders = _build_orders(ctx, buyer.id, key, wanted, skus, channel, ship, priced, expires_at)
    try:
        await ctx.db.flush()
    except IntegrityError as exc:
        # A concurrent request with the same key won the race; the client retries and
        # then receives that request's orders.
        raise AppError.of(
            IdempotencyError.IN_FLIGHT, "a request with this key is in flight"
        ) from exc
    if discount is not None:
        redeeming = next(order for order, _ in orders if order.shop_id == discount.shop_id)
        await coupons.do_redeem(ctx, discount, redeeming.id, ctx.now())
    return Checkout([order_out(order, order_lines) for order, order_lines in orders], False)


async def _discount(
    ctx: Ctx,
    buyer_id: str,
    claim_id: str,
    wanted: dict[str, int],
    skus: dict[str, stock.SkuForSale],
) -> coupons.Discount:
    """Return the coupon the checkout redeems; refuse one of a shop it does not buy from."""
    currency = skus[next(iter(wanted))].currency
    discount = await coupons.discount_of(ctx, buyer_id, claim_id, currency)
    if discount.shop_id not in {skus[sku_id].shop_id for sku_id in wanted}:
        raise AppError.of(OrderError.COUPON_WRONG_SHOP, "this coupon is for another shop")
    return discount


@dataclass(frozen=True, slots=True)
class Prepaid:
    """A deposit the buyer paid earlier toward one shop's order (a C2M campaign's): taken off
    the order like a coupon, paid into escrow from `account` at capture, and given back to
    the buyer through `payment_id` when the units are refunded (`orders/prepaid.py`)."""

    shop_id: str
    amount_minor: int
    account: str
    payment_id: str


@dataclass(frozen=True, slots=True)
class _Pricing:
    """What a checkout's lines cost: the sale's price, checked fan prices, a coupon or a
    deposit paid earlier."""

    sale: SaleTerms | None
    prices: Mapping[str, int]
    discount: coupons.Discount | None
    prepaid: Prepaid | None = None

    def unit_price(self, sku: stock.SkuForSale, sku_id: str) -> int:
        """Return the unit price of a line: the sale's, a fan price, or the regular one."""
        if self.sale is not None and self.sale.sku_id == sku_id:
            return self.sale.price_minor
        return self.prices.get(sku_id, sku.price_minor)

    def discount_on(self, shop_id: str, goods_minor: int) -> int:
        """Return what the coupon or the deposit takes off this shop's goods (nothing for
        another shop)."""
        if self.prepaid is not None and self.prepaid.shop_id == shop_id:
            return min(self.prepaid.amount_minor, goods_minor)
        if self.discount is None or self.discount.shop_id != shop_id:
            return 0
        return coupons.check_min_spend(self.discount, goods_minor)

    def claim_id_if(self, discount: int) -> str | None:
        """Return the claim an order redeems when it has a discount."""
        return self.discount.claim_id if self.discount and discount else None

    def account_if(self, discount: int) -> str | None:
        """Return the ledger account that pays an order's discount, when it has one."""
        if self.prepaid is not None and discount:
            return self.prepaid.account
        return self.discount.account if self.discount and discount else None

    def prepaid_payment_if(self, discount: int) -> str | None:
        """Return the payment of the deposit an order's discount is, when it is one."""
        return self.prepaid.payment_id if self.prepaid and discount else None


@dataclass(frozen=True, slots=True)
class _CheckoutRead:
    """What checkout's one read found: the SKUs, the key's use, the address with templates."""

    skus: dict[str, stock.SkuForSale]
    # Unknown (no SKU found, so no row to carry it) counts as used: the orders are read.
    key_used: bool
    places: list[tuple[Any, Any]]


async def _read_for_checkout(
    ctx: Ctx, buyer_id: str, key: str, sku_ids: list[str], address_id: str | None
) -> _CheckoutRead:
    """Read the SKUs, whether the key made orders, the address and the shops' templates at once."""
    used = exists().where(Order.buyer_id == buyer_id, Order.checkout_key == key)
    skus = stock.for_sale_query(sku_ids)
    query = (
        skus.add_columns(used.label("key_used"), Address, FreightTemplate)
        .outerjoin(Address, freight.chosen_address(buyer_id, address_id))
        .outerjoin(FreightTemplate, FreightTemplate.shop_id == skus.selected_columns.shop_id)
    )
    rows = (await ctx.db.execute(query)).all()
    base = stock.FOR_SALE_COLUMNS
    return _CheckoutRead(
        skus=stock.skus_for_sale(rows),
        key_used=not rows or any(row[base] for row in rows),
        places=[(row[base + 1], row[base + 2]) for row in rows if row[base + 1] is not None],
    )


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


def _check_skus_on_sale(
    wanted: dict[str, int], skus: dict[str, stock.SkuForSale], now: datetime
) -> None:
    """Refuse unknown SKUs, SKUs not on sale or of a suspended shop, and mixed currencies."""
    for sku_id in wanted:
        sku = skus.get(sku_id)
        if sku is None:
            raise AppError.of(OrderError.SKU_NOT_FOUND, f"{sku_id}: no such SKU")
        if not sku.on_sale:
            raise AppError.of(OrderError.NOT_ON_SALE, f"{sku_id}: not on sale")
        if sku.shop_suspended_until is not None and sku.shop_suspended_until > now:
            until = sku.shop_suspended_until.isoformat(timespec="minutes")
            raise AppError.of(OrderError.SHOP_SUSPENDED, f"the shop is suspended until {until}")
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
    priced: _Pricing,
    expires_at: datetime | None = None,
) -> list[tuple[Order, list[OrderLine]]]:
    """Make one order per shop with its lines and its `placed` event (added, not flushed)."""
    now = ctx.now()
    sale = priced.sale
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
                unit_price_minor=priced.unit_price(skus[sku_id], sku_id),
                quantity=wanted[sku_id],
                refunded_quantity=0,
                flash_sale_id=sale.sale_id if sale and sale.sku_id == sku_id else None,
                anchor_id=channel.anchor_id,
                commission_bps=channel.commission_bps(skus[sku_id].product_id),
            )
            for sku_id in sku_ids
        ]
        goods = sum(line.unit_price_minor * line.quantity for line in lines)
        discount = priced.discount_on(shop_id, goods)
        windows = [skus[s].return_window_days for s in sku_ids]
        known_windows = [w for w in windows if w is not None]
        order = Order(
            id=order_id,
            buyer_id=buyer_id,
            shop_id=shop_id,
            status=OrderStatus.PENDING_PAYMENT,
            currency=skus[sku_ids[0]].currency,
            total_minor=goods - discount + freights[shop_id],
            refunded_minor=0,
            checkout_key=key,
            channel=channel.name,
            live_session_id=channel.live_session_id,
            visit_id=channel.visit_id,
            client_ip=channel.client.ip if channel.client else None,
            device_id=channel.client.device_id if channel.client else None,
            # The most generous window of the order's categories applies to the whole order.
            return_window_days=max(known_windows, default=ctx.settings.return_window_days)
            if len(known_windows) == len(windows)
            else ctx.settings.return_window_days,
            created_at=now,
            expires_at=expires_at or now + timedelta(minutes=ctx.settings.unpaid_order_minutes),
            ship_to=ship.ship_to,
            freight_minor=freights[shop_id],
            city_tier=ship.city_tier,
            discount_minor=discount,
            coupon_claim_id=priced.claim_id_if(discount),
            discount_account=priced.account_if(discount),
            prepaid_payment_id=priced.prepaid_payment_if(discount),
        )
        ctx.db.add(order)
        ctx.db.add_all(lines)
        ctx.db.add(events.placed(buyer_id, order.total_minor).model(order_id, now))
        made.append((order, lines))
    return made
