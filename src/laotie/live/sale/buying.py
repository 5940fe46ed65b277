"""Buying in the room: a normal order with the live channel, or a take through the sale's gate.

Across transactions on purpose: the gate answers first (sold out, over the limit, a
retry) without the database; only a granted take reaches it, through the sale's order
writer (`writer`), which commits it with the other takes waiting, then confirms the
take in the gate, then answers yes. A failure between the grant and the commit gives the
unit back to the gate at once; a crash there is repaired by the reconciler
(`jobs.sync_sales`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from starlette.datastructures import State

from laotie.accounts.permissions import Actor
from laotie.affiliate import pool
from laotie.catalog import service as catalog
from laotie.catalog import stock
from laotie.core.context import Ctx, unit_of_work_for
from laotie.core.errors import AppError, IdempotencyError
from laotie.core.fingerprint import ClientPrint
from laotie.live.errors import LiveError
from laotie.live.events import RoomEventType, room_name
from laotie.live.models import LiveSession, Visit
from laotie.live.room.visits import access_own_visit, do_count_visit_until_purchase
from laotie.live.runtime import LiveRuntime
from laotie.live.sale.gate import Answer, Take
from laotie.live.sale.service import SaleInfo, rebuild_gate, running_sale, still_running
from laotie.live.schemas import SessionStatus
from laotie.live.session.service import in_cart, load_session, not_in_cart, stock_event_of
from laotie.orders import checkout as order_checkout
from laotie.orders import queries as order_queries
from laotie.realtime.events import RoomEvent
from laotie.traffic import fan_prices

_REFUSALS: dict[Answer, tuple[StrEnum, str]] = {
    Answer.SOLD_OUT: (LiveError.SOLD_OUT, "sold out"),
    Answer.LIMIT: (LiveError.PER_BUYER_LIMIT, "you have reached this sale's limit"),
    Answer.CLOSED: (LiveError.SALE_CLOSED, "this flash sale has ended"),
    Answer.RELEASED: (IdempotencyError.RELEASED, "this attempt was given up; retry with a new key"),
    Answer.MISMATCH: (IdempotencyError.REUSED, "this key was used for another request"),
}


@dataclass(frozen=True, slots=True)
class RoomPurchase:
    """What to tell the buyer and the room."""

    checkout: order_checkout.Checkout
    events: list[RoomEvent]


async def buy_in_room(
    state: State,
    buyer: Actor,
    session_id: str,
    sku_id: str,
    quantity: int,
    visit_id: str | None,
    key: str,
    address_id: str | None = None,
    client: ClientPrint | None = None,
    *,
    fan_price: bool = False,
    coupon_claim_id: str | None = None,
) -> order_checkout.Checkout:
    """Place an order in a live room, through the sale's gate when a sale of the SKU runs.

    A fan price or a coupon applies to an order at the regular price only: a flash sale's
    price is the same for everyone.
    """
    runtime: LiveRuntime = state.live
    sale = await _running_sale(state, runtime, session_id, sku_id)
    channel = order_checkout.Channel("live", session_id, visit_id, client)
    if sale is None:
        terms = _Terms(fan_price, coupon_claim_id, address_id)
        purchase = await _plain_order(
            state, buyer, session_id, sku_id, quantity, key, channel, terms
        )
    elif fan_price or coupon_claim_id is not None:
        raise AppError.of(
            LiveError.SALE_PRICE_ONLY, "a flash sale's price is the same for everyone"
        )
    else:
        ship = await _destination(state, runtime, buyer, address_id, sale.shop_id)
        channel = replace(channel, anchor_id=sale.anchor_id, commissions=sale.commissions())
        purchase = await _sale_order(state, runtime, sale, buyer, quantity, key, channel, ship)
    for event in purchase.events:
        await runtime.hub.publish(room_name(session_id), event)
    return purchase.checkout


async def _running_sale(
    state: State, runtime: LiveRuntime, session_id: str, sku_id: str
) -> SaleInfo | None:
    """Return the SKU's running sale in the session, from the cache when it is fresh."""

    async def read(before: SaleInfo | None) -> SaleInfo | None:
        async with unit_of_work_for(state) as ctx:
            if before is not None and await still_running(ctx, before.sale_id):
                return before
            return await running_sale(ctx, session_id, sku_id)

    return await runtime.sales.lookup(session_id, sku_id, read)


@dataclass(frozen=True, slots=True)
class _Terms:
    """What a regular-price room order asks beyond the SKU: a fan price, a coupon, an address."""

    fan_price: bool
    coupon_claim_id: str | None
    address_id: str | None


async def _plain_order(
    state: State,
    buyer: Actor,
    session_id: str,
    sku_id: str,
    quantity: int,
    key: str,
    channel: order_checkout.Channel,
    terms: _Terms,
) -> RoomPurchase:
    """An order of a cart product at its regular (or fan) price, carrying the session and visit."""
    async with unit_of_work_for(state) as ctx:
        session = await load_session(ctx, session_id)
        if session.status != SessionStatus.LIVE:
            raise AppError.of(LiveError.NOT_LIVE, "the room is not live")
        found = await stock.load_for_sale(ctx, [sku_id])
        if sku_id in found and not await in_cart(ctx, session_id, found[sku_id].product_id):
            raise not_in_cart()
        channel = await _room_channel(ctx, channel, session, found.get(sku_id))
        visit = None
        if channel.visit_id is not None:
            visit = await access_own_visit(ctx, channel.visit_id, session_id, buyer.id)
        prices = None
        if terms.fan_price:
            fan = await fan_prices.check_fan_price(
                ctx, session.anchor_id, session_id, sku_id, buyer.id
            )
            prices = {sku_id: fan}
        checkout = await order_checkout.do_checkout(
            ctx,
            buyer,
            [(sku_id, quantity)],
            key,
            channel,
            address_id=terms.address_id,
            skus=found,
            prices=prices,
            coupon_claim_id=terms.coupon_claim_id,
        )
        events = await _after_purchase(ctx, checkout, channel, buyer, visit)
    return RoomPurchase(checkout, events)


async def _room_channel(
    ctx: Ctx, channel: order_checkout.Channel, session: LiveSession, sku: stock.SkuForSale | None
) -> order_checkout.Channel:
    """Stamp the room's anchor on the order, and the commission of a pool product, which the
    anchor must still be approved to sell (the shop may have withdrawn it since)."""
    if sku is None or sku.shop_id == session.shop_id:
        return replace(channel, anchor_id=session.anchor_id)
    terms = await pool.selling_terms(ctx, session.anchor_id, [sku.product_id])
    if sku.product_id not in terms:
        raise pool.not_approved(sku.product_id)
    rate = {sku.product_id: terms[sku.product_id].commission_bps}
    return replace(channel, anchor_id=session.anchor_id, commissions=rate)


async def _sale_order(
    state: State,
    runtime: LiveRuntime,
    sale: SaleInfo,
    buyer: Actor,
    quantity: int,
    key: str,
    channel: order_checkout.Channel,
    ship: order_checkout.Destination,
) -> RoomPurchase:
    """Take units through the gate, then wait for the writer to commit the order.

    The writer (`writer`) commits the order with others in one transaction, confirms
    the take, answers, and tells the room once per batch; a failure gives the units back.
    """
    take = await _take(state, runtime, sale, buyer, quantity, key)
    if not take.granted:
        code, message = _REFUSALS.get(take.answer, _REFUSALS[Answer.CLOSED])
        raise AppError.of(code, message)
    checkout = await runtime.sale_orders.place(
        state, sale, buyer, key, quantity, channel, take, ship
    )
    return RoomPurchase(checkout, [])


async def _destination(
    state: State, runtime: LiveRuntime, buyer: Actor, address_id: str | None, shop_id: str
) -> order_checkout.Destination:
    """Where the buyer's sale order ships; refused here, before the gate grants any unit.

    Cached for a moment, like the running sale, so that a crowd's repeated attempts (and
    sold-out answers) do not read the database; the order keeps the copy read here.
    """
    key = (buyer.id, address_id, shop_id)
    ship = runtime.destinations.get(key)
    if ship is None:
        async with unit_of_work_for(state) as ctx:
            ship = await order_checkout.destination(ctx, buyer.id, address_id, [shop_id])
        runtime.destinations.put(key, ship)
    ship.freight(shop_id, 1)  # refuses a province the shop does not deliver to
    return ship


async def _take(
    state: State, runtime: LiveRuntime, sale: SaleInfo, buyer: Actor, quantity: int, key: str
) -> Take:
    """Ask the gate; rebuild it from the database once if it has lost the sale."""
    take = await runtime.gate.take(sale.sale_id, buyer.id, key, quantity, state.clock.now())
    if take.answer is Answer.UNKNOWN:
        async with unit_of_work_for(state) as ctx:
            await rebuild_gate(ctx, runtime.gate, sale.sale_id)
        take = await runtime.gate.take(sale.sale_id, buyer.id, key, quantity, state.clock.now())
    return take


async def _after_purchase(
    ctx: Any,
    checkout: order_checkout.Checkout,
    channel: order_checkout.Channel,
    buyer: Actor,
    visit: Visit | None,
) -> list[RoomEvent]:
    """Count the visit's watch time up to the purchase; return the room's 'bought' event."""
    if checkout.replayed or channel.live_session_id is None:
        return []
    if visit is not None:
        await do_count_visit_until_purchase(ctx, visit)
    count, gmv = await order_queries.live_session_totals(ctx, channel.live_session_id)
    line = checkout.orders[0].lines[0]
    who = (buyer.name[:1] or "?") + "**"
    product = await catalog.product_detail(ctx, line.product_id, None)
    return [
        stock_event_of(product),
        RoomEvent(
            RoomEventType.BOUGHT,
            {
                "orders": count,
                "gmv_minor": gmv,
                "who": who,
                "title": line.title,
                "quantity": line.quantity,
            },
            coalesce=None,
        ),
    ]
