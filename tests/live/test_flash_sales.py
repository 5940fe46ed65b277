"""Flash sales in the room: units leave the stock, the gate never oversells, retries take one."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx

from laotie.accounts.permissions import Role
from laotie.accounts.service import access_user
from laotie.core.clock import FrozenClock
from laotie.live.room import visits
from laotie.live.sale.jobs import end_due_sales, sync_sales
from laotie.live.schemas import EntrySource
from laotie.live.session.service import do_end
from laotie.orders.jobs import expire_unpaid_orders
from laotie.trust import penalties
from laotie.trust.penalties import ViolationKind
from tests.factories import sign_up
from tests.live.sale_room import buy, start_sale
from tests.orders.world import sku_units


async def test_a_flash_price_must_be_below_the_30_day_low(
    client: httpx.AsyncClient, room: dict[str, Any]
) -> None:
    refused = await start_sale(client, room, price_minor=9_900)
    assert refused.status_code == 422
    assert refused.json()["code"] == "price_not_below_was"


async def test_starting_a_sale_moves_its_units_out_of_stock(
    client: httpx.AsyncClient, room: dict[str, Any], uow: Any, app: Any
) -> None:
    started = await start_sale(client, room)
    assert started.status_code == 201, started.text
    assert started.json()["was_price_minor"] == 9_900
    units = await sku_units(uow, room["sku_id"])
    assert units["stock"] == 15
    second = await start_sale(client, room)
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
    await start_sale(client, room, quantity=5, per_buyer_limit=2)
    buyers = [await sign_up(client, Role.BUYER, name=f"B{i}") for i in range(6)]
    answers = await asyncio.gather(*(buy(client, room, b) for b in buyers for _ in range(4)))
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
    await start_sale(client, room, quantity=3)
    buyer = await sign_up(client, Role.BUYER)
    first = await buy(client, room, buyer, key="retry-key-001")
    again = await buy(client, room, buyer, key="retry-key-001")
    assert first.status_code == again.status_code == 201
    assert first.json()["orders"][0]["id"] == again.json()["orders"][0]["id"]
    assert (await sku_units(uow, room["sku_id"]))["reserved"] == 1


async def test_sold_out_answers_touch_no_database(
    client: httpx.AsyncClient, room: dict[str, Any], app: Any
) -> None:
    await start_sale(client, room, quantity=1)
    lucky, late = await sign_up(client, Role.BUYER), await sign_up(client, Role.BUYER)
    assert (await buy(client, room, lucky)).status_code == 201
    assert (await buy(client, room, late)).json()["code"] == "sold_out"  # warms the caches
    with app.state.database.counter.counting() as statements:
        answer = await buy(client, room, late)
    assert answer.json()["code"] == "sold_out"
    assert statements == []


async def test_orders_in_the_room_carry_the_session_and_the_visit(
    client: httpx.AsyncClient, room: dict[str, Any], uow: Any
) -> None:
    buyer = await sign_up(client, Role.BUYER)
    async with uow() as ctx:
        visit_id = await visits.do_enter(
            ctx, room["session_id"], buyer.id, buyer.id, EntrySource.FOLLOW_FEED, False
        )
    plain = await buy(client, room, buyer, visit_id=visit_id)
    assert plain.status_code == 201, plain.text
    made = plain.json()["orders"][0]
    assert made["channel"] == "live"
    assert made["live_session_id"] == room["session_id"]
    assert made["visit_id"] == visit_id
    assert made["lines"][0]["unit_price_minor"] == 9_900  # no sale: the regular price


async def test_ending_the_sale_returns_what_it_holds(
    client: httpx.AsyncClient, room: dict[str, Any], uow: Any
) -> None:
    sale = (await start_sale(client, room, quantity=5)).json()
    await buy(client, room, await sign_up(client, Role.BUYER))
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
    after = await buy(client, room, await sign_up(client, Role.BUYER))
    assert after.json()["orders"][0]["lines"][0]["unit_price_minor"] == 9_900


async def test_time_up_ends_the_sale(
    client: httpx.AsyncClient, room: dict[str, Any], uow: Any, app: Any, clock: FrozenClock
) -> None:
    await start_sale(client, room, quantity=5, duration_s=60)
    clock.advance(timedelta(seconds=59))
    assert await end_due_sales(app.state) == 0
    clock.advance(timedelta(seconds=2))
    assert await end_due_sales(app.state) == 1
    assert (await sku_units(uow, room["sku_id"]))["stock"] == 20


async def test_a_sale_ends_with_its_show(
    client: httpx.AsyncClient, room: dict[str, Any], uow: Any, app: Any
) -> None:
    await start_sale(client, room, quantity=5, duration_s=600)
    ended = await client.post(
        f"/api/live/sessions/{room['session_id']}/end", headers=room["anchor"].headers
    )
    assert ended.status_code == 200, ended.text
    assert (await sku_units(uow, room["sku_id"]))["stock"] == 20  # back at once
    assert await end_due_sales(app.state) == 0


async def test_the_sweep_ends_a_sale_whose_show_ended_without_it(
    client: httpx.AsyncClient, room: dict[str, Any], uow: Any, app: Any
) -> None:
    await start_sale(client, room, quantity=5, duration_s=600)
    async with uow() as ctx:  # as if the server died right after the show ended
        anchor = await access_user(ctx, room["anchor"].id)
        await do_end(ctx, anchor, room["session_id"])
    assert (await sku_units(uow, room["sku_id"]))["stock"] == 15
    assert await end_due_sales(app.state) == 1
    assert (await sku_units(uow, room["sku_id"]))["stock"] == 20


async def test_unpaid_sale_orders_give_their_unit_back_to_the_running_sale(
    client: httpx.AsyncClient, room: dict[str, Any], uow: Any, app: Any, clock: FrozenClock
) -> None:
    sale = (await start_sale(client, room, quantity=1, duration_s=3_600)).json()
    first, second = await sign_up(client, Role.BUYER), await sign_up(client, Role.BUYER)
    assert (await buy(client, room, first)).status_code == 201
    assert (await buy(client, room, second)).json()["code"] == "sold_out"
    clock.advance(timedelta(minutes=16))
    assert await expire_unpaid_orders(app.state) == 1
    assert (await sku_units(uow, room["sku_id"]))["reserved"] == 0
    assert await sync_sales(app.state) == 1
    assert await app.state.live.gate.left(sale["sale_id"]) == 1
    assert (await buy(client, room, second)).status_code == 201


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


async def test_a_sales_units_left_can_be_read_and_cost_no_query_once_cached(
    client: httpx.AsyncClient, room: dict[str, Any], app: Any
) -> None:
    started = await start_sale(client, room, quantity=3, per_buyer_limit=1)
    sale_id = started.json()["sale_id"]
    first = await client.get(f"/api/live/flash-sales/{sale_id}")
    assert first.status_code == 200, first.text
    assert first.json() | {"ends_at": None} == started.json() | {
        "ends_at": None,
        "status": "running",
        "left": 3,
        "version": first.json()["version"],
    }
    buyers = [await sign_up(client, Role.BUYER) for _ in range(2)]
    for buyer in buyers:
        assert (await buy(client, room, buyer)).status_code == 201
    with app.state.database.counter.counting() as statements:
        now = await client.get(f"/api/live/flash-sales/{sale_id}")
    assert (now.json()["status"], now.json()["left"]) == ("running", 1)
    assert now.json()["version"] > first.json()["version"]
    assert statements == []
    ended = await client.post(
        f"/api/live/flash-sales/{sale_id}/end", headers=room["anchor"].headers
    )
    assert ended.status_code == 200
    after = await client.get(f"/api/live/flash-sales/{sale_id}")
    assert (after.json()["status"], after.json()["left"]) == ("ended", 0)
    missing = await client.get("/api/live/flash-sales/fls_none")
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")


async def test_a_shop_below_the_score_floor_is_refused_a_flash_sale(
    client: httpx.AsyncClient, room: dict[str, Any], app: Any
) -> None:
    # A new shop scores the prior, 4.50: above the default floor, below this one.
    app.state.settings.flash_sale_min_score = 4.6
    refused = await start_sale(client, room)
    assert (refused.status_code, refused.json()["code"]) == (403, "flash_sales_not_allowed")
    assert "4.50" in refused.json()["message"]
    app.state.settings.flash_sale_min_score = 4.0
    assert (await start_sale(client, room)).status_code == 201


async def test_a_shop_with_24_penalty_points_is_refused_a_flash_sale(
    client: httpx.AsyncClient, room: dict[str, Any], uow: Any
) -> None:
    session = (await client.get(f"/api/live/sessions/{room['session_id']}")).json()
    async with uow() as ctx:
        for n, kind in enumerate((ViolationKind.FAKE_ENGAGEMENT, ViolationKind.FAKE_ENGAGEMENT)):
            await penalties.record_violation(
                ctx,
                session["shop_id"],
                kind,
                source="detected",
                dedupe_key=f"t:{n}",
                evidence={},
                actor_id=None,
            )
    refused = await start_sale(client, room)
    assert (refused.status_code, refused.json()["code"]) == (403, "flash_sales_not_allowed")
    assert "fewer than 24 penalty points; this shop has 24" in refused.json()["message"]
