"""The flash-sale order writer: takes commit together, fall back one by one, never late."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from laotie.accounts.permissions import Actor, Role
from laotie.core.clock import FrozenClock
from laotie.core.context import unit_of_work
from laotie.core.errors import AppError
from laotie.live.models import Visit
from laotie.live.room import visits
from laotie.live.sale.jobs import sync_sales
from laotie.live.sale.service import running_sale
from laotie.live.schemas import EntrySource
from laotie.orders import checkout as order_checkout
from laotie.orders.models import Order, OrderEvent, OrderLine
from tests.factories import sign_up
from tests.live.sale_room import buy, start_sale
from tests.orders.world import sku_units


async def _orders_of_sale(uow: Any, sale_id: str) -> list[tuple[Order, OrderLine]]:
    async with uow() as ctx:
        rows = await ctx.db.execute(
            select(Order, OrderLine)
            .join(OrderLine, OrderLine.order_id == Order.id)
            .where(OrderLine.flash_sale_id == sale_id)
        )
        return [(order, line) for order, line in rows]


async def test_concurrent_takes_commit_in_fewer_transactions_than_orders(
    client: httpx.AsyncClient,
    room: dict[str, Any],
    uow: Any,
    app: Any,
) -> None:
    sale = (await start_sale(client, room, quantity=12, per_buyer_limit=3)).json()
    buyers = [await sign_up(client, Role.BUYER, name=f"B{i}") for i in range(6)]
    answers = await asyncio.gather(*(buy(client, room, b) for b in buyers for _ in range(3)))
    granted = [a for a in answers if a.status_code == 201]
    assert len(granted) == 12
    assert {a.json()["code"] for a in answers if a.status_code != 201} == {"sold_out"}
    assert 1 <= app.state.live.sale_orders.batches < 12
    assert (await sku_units(uow, room["sku_id"]))["reserved"] == 12
    assert len(await _orders_of_sale(uow, sale["sale_id"])) == 12
    state = await app.state.live.gate.snapshot(sale["sale_id"])
    assert (state.left, state.in_flight, state.committed) == (0, 0, 12)


async def test_a_batched_order_is_the_order_checkout_would_write(
    client: httpx.AsyncClient,
    room: dict[str, Any],
    uow: Any,
    clock: FrozenClock,
) -> None:
    sale = (await start_sale(client, room, quantity=3)).json()
    buyer = await sign_up(client, Role.BUYER)
    async with uow() as ctx:
        visit_id = await visits.do_enter(
            ctx, room["session_id"], buyer.id, buyer.id, EntrySource.FOLLOW_FEED, False
        )
    answer = await buy(client, room, buyer, visit_id=visit_id)
    assert answer.status_code == 201, answer.text
    [(order, line)] = await _orders_of_sale(uow, sale["sale_id"])
    assert answer.json()["orders"][0]["id"] == order.id
    assert answer.json()["replayed"] is False
    assert (order.status, order.channel, order.live_session_id, order.visit_id) == (
        "pending_payment",
        "live",
        room["session_id"],
        visit_id,
    )
    assert order.buyer_id == buyer.id
    assert order.total_minor == line.unit_price_minor == 5_900
    assert order.expires_at - order.created_at == timedelta(minutes=15)
    assert order.created_at == clock.now()
    assert (line.quantity, line.refunded_quantity, line.sku_id) == (1, 0, room["sku_id"])
    async with uow() as ctx:
        events = list(
            await ctx.db.scalars(select(OrderEvent).where(OrderEvent.order_id == order.id))
        )
    assert [(e.kind, e.actor_id, e.data) for e in events] == [
        ("placed", buyer.id, {"total_minor": 5_900})
    ]


async def test_a_key_the_gate_forgot_falls_back_and_answers_the_written_order(
    client: httpx.AsyncClient,
    room: dict[str, Any],
    uow: Any,
    app: Any,
) -> None:
    sale = (await start_sale(client, room, quantity=3)).json()
    buyer = await sign_up(client, Role.BUYER)
    first = await buy(client, room, buyer, key="forgotten-key-1")
    # The gate loses the key (as Redis might): the retry is a fresh grant to the writer,
    # whose batch then meets the orders' unique key and writes it alone, as a replay.
    await app.state.live.gate.rebuild(sale["sale_id"], 3, None, [])
    again = await buy(client, room, buyer, key="forgotten-key-1")
    assert again.status_code == 201, again.text
    assert again.json()["replayed"] is True
    assert again.json()["orders"][0]["id"] == first.json()["orders"][0]["id"]
    assert (await sku_units(uow, room["sku_id"]))["reserved"] == 1


async def _sale_and_buyer(
    client: httpx.AsyncClient,
    room: dict[str, Any],
    uow: Any,
) -> tuple[Any, Actor]:
    await start_sale(client, room, quantity=2)
    user = await sign_up(client, Role.BUYER, name="Late")
    async with uow() as ctx:
        sale = await running_sale(ctx, room["session_id"], room["sku_id"])
    assert sale is not None
    return sale, Actor(id=user.id, email=user.email, name="Late", roles=frozenset({Role.BUYER}))


async def _take_then_wait_past_the_timeout(
    app: Any, clock: FrozenClock, sale: Any, buyer: Actor
) -> tuple[str, Any]:
    """Take a unit through the gate, then let the in-flight timeout pass; return key and take."""
    key = uuid.uuid4().hex
    take = await app.state.live.gate.take(sale.sale_id, buyer.id, key, 1, clock.now())
    timeout = app.state.settings.sale_inflight_timeout_seconds
    clock.advance(timedelta(seconds=timeout + 1))
    return key, take


async def _refused_as_released(
    app: Any, room: dict[str, Any], sale: Any, buyer: Actor, key: str, take: Any
) -> None:
    """Check that the writer refuses the stale take: its key was released."""
    channel = order_checkout.Channel("live", room["session_id"], None)
    async with unit_of_work(app.state.database, app.state.settings, app.state.clock) as ctx:
        ship = await order_checkout.destination(ctx, buyer.id, None, [sale.shop_id])
    writer = app.state.live.sale_orders
    with pytest.raises(AppError) as refused:
        await writer.place(app.state, sale, buyer, key, 1, channel, take, ship)
    assert refused.value.code == "idempotency_key_released"


async def test_a_take_older_than_the_timeout_is_never_written(
    client: httpx.AsyncClient,
    room: dict[str, Any],
    uow: Any,
    app: Any,
    clock: FrozenClock,
) -> None:
    sale, buyer = await _sale_and_buyer(client, room, uow)
    key, take = await _take_then_wait_past_the_timeout(app, clock, sale, buyer)
    gate = app.state.live.gate
    # The reconciler finds no order for the key and gives its unit back: that is final.
    assert await sync_sales(app.state) == 1
    await _refused_as_released(app, room, sale, buyer, key, take)
    assert await _orders_of_sale(uow, sale.sale_id) == []
    state = await gate.snapshot(sale.sale_id)
    assert (state.left, state.in_flight, state.committed) == (2, 0, 0)
    assert (await sku_units(uow, room["sku_id"]))["reserved"] == 0


async def test_a_slow_take_is_given_back_by_the_writer_itself(
    client: httpx.AsyncClient,
    room: dict[str, Any],
    uow: Any,
    app: Any,
    clock: FrozenClock,
) -> None:
    sale, buyer = await _sale_and_buyer(client, room, uow)
    key, take = await _take_then_wait_past_the_timeout(app, clock, sale, buyer)
    await _refused_as_released(app, room, sale, buyer, key, take)
    assert await app.state.live.gate.left(sale.sale_id) == 2
    assert await _orders_of_sale(uow, sale.sale_id) == []


async def test_a_batched_order_counts_its_visit_up_to_the_purchase(
    client: httpx.AsyncClient,
    room: dict[str, Any],
    uow: Any,
    app: Any,
    clock: FrozenClock,
) -> None:
    await start_sale(client, room, quantity=5)
    buyer = await sign_up(client, Role.BUYER)
    async with uow() as ctx:
        visit_id = await visits.do_enter(
            ctx, room["session_id"], buyer.id, buyer.id, EntrySource.FOLLOW_FEED, False
        )
    clock.advance(timedelta(minutes=3))  # watched without heartbeats, then bought
    batches = app.state.live.sale_orders.batches
    answer = await buy(client, room, buyer, visit_id=visit_id)
    assert answer.status_code == 201, answer.text
    assert app.state.live.sale_orders.batches == batches + 1
    async with uow() as ctx:
        watched = await ctx.db.scalar(select(Visit.watch_seconds).where(Visit.id == visit_id))
    assert watched == 180
