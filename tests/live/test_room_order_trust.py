"""A room order names only the buyer's own visit of that room, and only a product in its cart."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from laotie.accounts.permissions import Role
from laotie.core.clock import FrozenClock
from laotie.live.models import Visit
from laotie.live.room import visits
from laotie.live.schemas import EntrySource
from laotie.orders.models import Order
from tests.catalog_factories import make_product, make_shop, sku
from tests.factories import ApiUser, sign_up
from tests.live.sale_room import buy, go_live, start_sale

# "lane": the fast lane answers; "route": a body the lane hands on (a float quantity).
PATHS = ["lane", "route"]


async def _enter(uow: Any, session_id: str, user: ApiUser) -> str:
    async with uow() as ctx:
        return await visits.do_enter(
            ctx, session_id, user.id, user.id, EntrySource.FOLLOW_FEED, False
        )


async def _buy(
    client: httpx.AsyncClient, room: dict[str, Any], buyer: ApiUser, path: str, **extra: Any
) -> httpx.Response:
    if path == "route":
        extra.setdefault("quantity", 1.0)
    return await buy(client, room, buyer, **extra)


async def _watch_seconds(uow: Any, visit_id: str) -> int:
    async with uow() as ctx:
        return int(await ctx.db.scalar(select(Visit.watch_seconds).where(Visit.id == visit_id)))


async def _orders(uow: Any) -> int:
    async with uow() as ctx:
        return int(await ctx.db.scalar(select(func.count(Order.id))))


@pytest.mark.parametrize("path", PATHS)
async def test_an_order_naming_another_buyers_visit_is_refused(
    client: httpx.AsyncClient, room: dict[str, Any], uow: Any, clock: FrozenClock, path: str
) -> None:
    owner, thief = await sign_up(client, Role.BUYER), await sign_up(client, Role.BUYER)
    visit_id = await _enter(uow, room["session_id"], owner)
    clock.advance(timedelta(minutes=5))
    answer = await _buy(client, room, thief, path, visit_id=visit_id)
    assert answer.status_code == 403, answer.text
    assert answer.json()["code"] == "visit_not_yours"
    assert await _watch_seconds(uow, visit_id) == 0  # not raised to the time to purchase
    assert await _orders(uow) == 0
    unknown = await _buy(client, room, thief, path, visit_id="vst_nowhere")
    assert unknown.json()["code"] == "visit_not_yours"
    own = await _buy(client, room, owner, path, visit_id=visit_id)
    assert own.status_code == 201, own.text
    assert own.json()["orders"][0]["visit_id"] == visit_id
    assert await _watch_seconds(uow, visit_id) == 300


async def test_a_visit_of_another_room_is_refused(
    client: httpx.AsyncClient, room: dict[str, Any], uow: Any, clock: FrozenClock
) -> None:
    other = await go_live(client, clock, "Elsewhere", price_minor=1_000, stock=5)
    buyer = await sign_up(client, Role.BUYER)
    elsewhere = await _enter(uow, other.session_id, buyer)
    answer = await buy(client, room, buyer, visit_id=elsewhere)
    assert answer.json()["code"] == "visit_not_yours"


@pytest.mark.parametrize("path", PATHS)
async def test_a_sale_order_naming_another_buyers_visit_gives_its_unit_back(
    client: httpx.AsyncClient,
    room: dict[str, Any],
    uow: Any,
    app: Any,
    clock: FrozenClock,
    path: str,
) -> None:
    sale = (await start_sale(client, room, quantity=3)).json()
    owner, thief = await sign_up(client, Role.BUYER), await sign_up(client, Role.BUYER)
    visit_id = await _enter(uow, room["session_id"], owner)
    clock.advance(timedelta(minutes=2))
    answer = await _buy(client, room, thief, path, visit_id=visit_id)
    assert answer.status_code == 403, answer.text
    assert answer.json()["code"] == "visit_not_yours"
    assert await app.state.live.gate.left(sale["sale_id"]) == 3
    assert await _watch_seconds(uow, visit_id) == 0
    assert await _orders(uow) == 0
    own = await _buy(client, room, owner, path, visit_id=visit_id)
    assert own.status_code == 201, own.text
    assert await _watch_seconds(uow, visit_id) == 120


@pytest.mark.parametrize("path", PATHS)
async def test_a_product_outside_the_rooms_cart_is_refused(
    client: httpx.AsyncClient, uow: Any, clock: FrozenClock, path: str
) -> None:
    anchor = await sign_up(client, Role.SELLER, Role.ANCHOR, name="Anchor")
    shop_id = await make_shop(client, anchor)
    shown = await make_product(client, anchor, shop_id, skus=[sku(9_900, 10)])
    hidden = await make_product(client, anchor, shop_id, skus=[sku(500, 10)], title="Socks")
    session = await client.post(
        "/api/live/sessions",
        json={
            "shop_id": shop_id,
            "title": "Shirts only",
            "scheduled_at": clock.now().isoformat(),
            "product_ids": [shown.id],
        },
        headers=anchor.headers,
    )
    session_id = session.json()["id"]
    await client.post(f"/api/live/sessions/{session_id}/start", headers=anchor.headers)
    buyer = await sign_up(client, Role.BUYER)
    room = {"session_id": session_id, "sku_id": hidden.sku_ids[0], "anchor": anchor}
    refused = await _buy(client, room, buyer, path)
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "product_not_in_cart"
    assert await _orders(uow) == 0
    room["sku_id"] = shown.sku_ids[0]
    assert (await _buy(client, room, buyer, path)).status_code == 201


async def test_a_sale_of_a_product_taken_out_of_the_cart_sells_no_more(
    client: httpx.AsyncClient, room: dict[str, Any], app: Any, clock: FrozenClock
) -> None:
    sale = (await start_sale(client, room, quantity=3)).json()
    emptied = await client.put(
        f"/api/live/sessions/{room['session_id']}/cart",
        json={"product_ids": []},
        headers=room["anchor"].headers,
    )
    assert emptied.status_code == 200, emptied.text
    app.state.live.sales.forget(room["session_id"], room["sku_id"])
    answer = await buy(client, room, await sign_up(client, Role.BUYER))
    assert answer.json()["code"] == "product_not_in_cart"
    assert await app.state.live.gate.left(sale["sale_id"]) == 3


async def test_a_room_order_at_the_regular_price_reads_its_sku_once_before_reserving(
    client: httpx.AsyncClient, room: dict[str, Any], uow: Any, app: Any
) -> None:
    buyer = await sign_up(client, Role.BUYER)
    visit_id = await _enter(uow, room["session_id"], buyer)
    await buy(client, room, buyer, visit_id=visit_id)  # the first one warms the caches
    with app.state.database.counter.counting() as statements:
        answer = await buy(client, room, buyer, visit_id=visit_id)
    assert answer.status_code == 201, answer.text
    reserve = next(i for i, s in enumerate(statements) if s.startswith("UPDATE skus"))
    before = [s for s in statements[:reserve] if s.startswith("SELECT") and "FROM skus" in s]
    assert len(before) == 1, before  # the room's check and the checkout share one read
