"""Flash sales in the room: units leave the stock, the gate never oversells, retries take one."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest

from laotie.accounts.permissions import Role
from laotie.core.clock import FrozenClock
from laotie.live.jobs import end_due_sales, sync_sales
from laotie.orders.jobs import expire_unpaid_orders
from tests.catalog_factories import make_product, make_shop, sku
from tests.factories import ApiUser, sign_up
from tests.orders.world import sku_units


@pytest.fixture
async def room(client: httpx.AsyncClient, clock: FrozenClock) -> dict[str, Any]:
    """A live session whose cart holds a product with one SKU of 20 units at 9,900."""
    anchor = await sign_up(client, Role.SELLER, Role.ANCHOR, name="Anchor")
    shop_id = await make_shop(client, anchor)
    product = await make_product(client, anchor, shop_id, skus=[sku(price_minor=9_900, stock=20)])
    session = await client.post(
        "/api/live/sessions",
        json={
            "shop_id": shop_id,
            "title": "Flash!",
            "scheduled_at": clock.now().isoformat(),
            "product_ids": [product.id],
        },
        headers=anchor.headers,
    )
    session_id = session.json()["id"]
    await client.post(f"/api/live/sessions/{session_id}/start", headers=anchor.headers)
    return {"anchor": anchor, "session_id": session_id, "sku_id": product.sku_ids[0]}


async def _start(client: httpx.AsyncClient, room: dict[str, Any], **terms: Any) -> httpx.Response:
    body = {"sku_id": room["sku_id"], "price_minor": 5_900, "quantity": 5, "per_buyer_limit": 1}
    return await client.post(
        f"/api/live/sessions/{room['session_id']}/flash-sales",
        json={**body, **terms},
        headers=room["anchor"].headers,
    )


async def _buy(
    client: httpx.AsyncClient,
    room: dict[str, Any],
    buyer: ApiUser,
    key: str | None = None,
    **extra: Any,
) -> httpx.Response:
    return await client.post(
        f"/api/live/sessions/{room['session_id']}/orders",
        json={"sku_id": room["sku_id"], "quantity": 1, **extra},
        headers={**buyer.headers, "Idempotency-Key": key or uuid.uuid4().hex},
    )


async def test_a_flash_price_must_be_below_the_30_day_low(
    client: httpx.AsyncClient, room: dict[str, Any]
) -> None:
    refused = await _start(client, room, price_minor=9_900)
    assert refused.status_code == 422
    assert refused.json()["code"] == "price_not_below_was"


async def test_starting_a_sale_moves_its_units_out_of_stock(
    client: httpx.AsyncClient, room: dict[str, Any], uow: Any, app: Any
) -> None:
    started = await _start(client, room)
    assert started.status_code == 201, started.text
    assert started.json()["was_price_minor"] == 9_900
    units = await sku_units(uow, room["sku_id"])
    assert units["stock"] == 15
    second = await _start(client, room)
    assert second.json()["code"] == "sale_running"
    published = (
        [event.type for _, event in app.state.hub.published]
        if hasattr(app.state.hub, "published")
        else []
    )
    assert published == [] or "sale" in published


async def test_the_sale_never_oversells_under_concurrency(
    client: httpx.AsyncClient, room: dict[str, Any], uow: Any
) -> None:
    await _start(client, room, quantity=5, per_buyer_limit=2)
    buyers = [await sign_up(client, Role.BUYER, name=f"B{i}") for i in range(6)]
    answers = await asyncio.gather(*(_buy(client, room, b) for b in buyers for _ in range(4)))
    granted = [a for a in answers if a.status_code == 201]
    assert len(granted) == 5
    codes = {a.json()["code"] for a in answers if a.status_code != 201}
    assert codes <= {"sold_out", "per_buyer_limit"}
    assert all(
        o["lines"][0]["unit_price_minor"] == 5_900 for a in granted for o in a.json()["orders"]
    )
    units = await sku_units(uow, room["sku_id"])
    assert units["reserved"] == 5
    assert units["stock"] == 15


async def test_a_retry_with_the_same_key_takes_one_unit(
    client: httpx.AsyncClient, room: dict[str, Any], uow: Any
) -> None:
    await _start(client, room, quantity=3)
    buyer = await sign_up(client, Role.BUYER)
    first = await _buy(client, room, buyer, key="retry-key-001")
    again = await _buy(client, room, buyer, key="retry-key-001")
    assert first.status_code == again.status_code == 201
    assert first.json()["orders"][0]["id"] == again.json()["orders"][0]["id"]
    assert (await sku_units(uow, room["sku_id"]))["reserved"] == 1


async def test_sold_out_answers_touch_no_database(
    client: httpx.AsyncClient, room: dict[str, Any], app: Any
) -> None:
    await _start(client, room, quantity=1)
    lucky, late = await sign_up(client, Role.BUYER), await sign_up(client, Role.BUYER)
    assert (await _buy(client, room, lucky)).status_code == 201
    assert (await _buy(client, room, late)).json()["code"] == "sold_out"  # warms the caches
    with app.state.database.counter.counting() as statements:
        answer = await _buy(client, room, late)
    assert answer.json()["code"] == "sold_out"
    assert statements == []


async def test_orders_in_the_room_carry_the_session_and_the_visit(
    client: httpx.AsyncClient, room: dict[str, Any]
) -> None:
    buyer = await sign_up(client, Role.BUYER)
    plain = await _buy(client, room, buyer, visit_id="vst_unknown")
    assert plain.status_code == 201, plain.text
    made = plain.json()["orders"][0]
    assert made["channel"] == "live"
    assert made["live_session_id"] == room["session_id"]
    assert made["visit_id"] == "vst_unknown"
    assert made["lines"][0]["unit_price_minor"] == 9_900  # no sale: the regular price


async def test_ending_the_sale_returns_what_it_holds(
    client: httpx.AsyncClient, room: dict[str, Any], uow: Any
) -> None:
    sale = (await _start(client, room, quantity=5)).json()
    await _buy(client, room, await sign_up(client, Role.BUYER))
    ended = await client.post(
        f"/api/live/flash-sales/{sale['sale_id']}/end", headers=room["anchor"].headers
    )
    assert ended.json() == {"returned_units": 4}
    assert await sku_units(uow, room["sku_id"]) == {
        "stock": 19,
        "reserved": 1,
        "sold": 0,
        "returned": 0,
    }
    after = await _buy(client, room, await sign_up(client, Role.BUYER))
    assert after.json()["orders"][0]["lines"][0]["unit_price_minor"] == 9_900


async def test_time_up_ends_the_sale(
    client: httpx.AsyncClient, room: dict[str, Any], uow: Any, app: Any, clock: FrozenClock
) -> None:
    await _start(client, room, quantity=5, duration_s=60)
    clock.advance(timedelta(seconds=59))
    assert await end_due_sales(app.state) == 0
    clock.advance(timedelta(seconds=2))
    assert await end_due_sales(app.state) == 1
    assert (await sku_units(uow, room["sku_id"]))["stock"] == 20


async def test_unpaid_sale_orders_give_their_unit_back_to_the_running_sale(
    client: httpx.AsyncClient, room: dict[str, Any], uow: Any, app: Any, clock: FrozenClock
) -> None:
    sale = (await _start(client, room, quantity=1, duration_s=3_600)).json()
    first, second = await sign_up(client, Role.BUYER), await sign_up(client, Role.BUYER)
    assert (await _buy(client, room, first)).status_code == 201
    assert (await _buy(client, room, second)).json()["code"] == "sold_out"
    clock.advance(timedelta(minutes=16))
    assert await expire_unpaid_orders(app.state) == 1
    assert (await sku_units(uow, room["sku_id"]))["reserved"] == 0
    assert await sync_sales(app.state) == 1
    assert await app.state.live.gate.left(sale["sale_id"]) == 1
    assert (await _buy(client, room, second)).status_code == 201


async def test_strangers_cannot_start_or_end_a_sale(
    client: httpx.AsyncClient, room: dict[str, Any]
) -> None:
    stranger = await sign_up(client, Role.SELLER, Role.ANCHOR)
    answer = await client.post(
        f"/api/live/sessions/{room['session_id']}/flash-sales",
        json={"sku_id": room["sku_id"], "price_minor": 100, "quantity": 1},
        headers=stranger.headers,
    )
    assert answer.status_code == 404
