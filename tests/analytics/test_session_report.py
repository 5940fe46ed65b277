"""A live session's report: its minutes, flash sales, pins against sales and watch times."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import httpx
import pytest

from laotie.accounts.permissions import Role
from laotie.core.clock import FrozenClock
from laotie.live.room.visits import do_enter, do_leave
from laotie.live.schemas import EntrySource
from tests.catalog_factories import make_operator
from tests.factories import ApiUser, sign_up
from tests.live.sale_room import buy, start_sale
from tests.orders.world import pay

PRICE, FLASH_PRICE = 9_900, 5_900


async def _enter(uow: Any, room: dict[str, Any], viewer: str, source: EntrySource) -> str:
    async with uow() as ctx:
        user = None if viewer.startswith("vis_") else viewer
        return await do_enter(ctx, room["session_id"], viewer, user, source, False)


async def _leave(uow: Any, visit_id: str, seconds: int) -> None:
    async with uow() as ctx:
        await do_leave(ctx, visit_id, seconds)


async def _buy(
    client: httpx.AsyncClient, room: dict[str, Any], buyer: ApiUser, visit_id: str | None = None
) -> str:
    """Buy one unit in the room (through the flash sale while one runs); return the order."""
    bought = await buy(client, room, buyer, visit_id=visit_id)
    assert bought.status_code == 201, bought.text
    return str(bought.json()["orders"][0]["id"])


async def _pin(client: httpx.AsyncClient, room: dict[str, Any], product_id: str | None) -> None:
    pinned = await client.put(
        f"/api/live/sessions/{room['session_id']}/pin",
        json={"product_id": product_id},
        headers=room["anchor"].headers,
    )
    assert pinned.status_code == 200, pinned.text


async def _end(client: httpx.AsyncClient, room: dict[str, Any]) -> None:
    ended = await client.post(
        f"/api/live/sessions/{room['session_id']}/end", headers=room["anchor"].headers
    )
    assert ended.status_code == 200, ended.text


async def _report(
    client: httpx.AsyncClient, room: dict[str, Any], user: ApiUser | None = None
) -> dict[str, Any]:
    answer = await client.get(
        f"/api/analytics/session/{room['session_id']}/report",
        headers=(user or room["anchor"]).headers,
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def _product_id(client: httpx.AsyncClient, room: dict[str, Any]) -> str:
    session = await client.get(f"/api/live/sessions/{room['session_id']}")
    return str(session.json()["cart"][0])


async def _show(
    client: httpx.AsyncClient, room: dict[str, Any], uow: Any, clock: FrozenClock
) -> str:
    """Play five minutes of a show from 09:00:00 and end it at 09:04:40; return the product.

    09:00:10 a fan enters from the follow feed; 09:01:05 to 09:01:40 an anonymous viewer
    from search; 09:02:00 the product is pinned; 09:02:10 the fan buys and pays, a viewer
    enters from the recommendation feed; 09:02:30 the fan leaves; 09:03:00 unpinned;
    09:03:30 a flash sale of 2 units; 09:03:40 a fan-group member enters, buys at 09:03:50;
    09:04:20 a third buyer takes the last unit.
    """
    product_id = await _product_id(client, room)
    fan, member, last = [await sign_up(client, Role.BUYER) for _ in range(3)]
    step = clock.advance
    step(timedelta(seconds=10))
    fan_visit = await _enter(uow, room, fan.id, EntrySource.FOLLOW_FEED)
    step(timedelta(seconds=55))
    passer = await _enter(uow, room, "vis_passer", EntrySource.SEARCH)
    step(timedelta(seconds=35))
    await _leave(uow, passer, 35)
    step(timedelta(seconds=20))
    await _pin(client, room, product_id)
    step(timedelta(seconds=10))
    await pay(client, fan, [await _buy(client, room, fan, fan_visit)])
    await _enter(uow, room, "vis_feed", EntrySource.RECOMMEND_FEED)
    step(timedelta(seconds=20))
    await _leave(uow, fan_visit, 140)
    step(timedelta(seconds=30))
    await _pin(client, room, None)
    step(timedelta(seconds=30))
    sale = await start_sale(client, room, quantity=2)
    assert sale.status_code == 201, sale.text
    step(timedelta(seconds=10))
    member_visit = await _enter(uow, room, member.id, EntrySource.FAN_GROUP)
    step(timedelta(seconds=10))
    await pay(client, member, [await _buy(client, room, member, member_visit)])
    step(timedelta(seconds=30))
    await pay(client, last, [await _buy(client, room, last)])
    step(timedelta(seconds=20))
    await _end(client, room)
    return product_id


async def test_the_minutes_count_viewers_entries_and_paid_orders(
    client: httpx.AsyncClient, room: dict[str, Any], uow: Any, clock: FrozenClock
) -> None:
    await _show(client, room, uow, clock)

    report = await _report(client, room)

    minutes = report["minutes"]
    assert [m["minute"][11:16] for m in minutes] == ["09:00", "09:01", "09:02", "09:03", "09:04"]
    # A visit counts in every minute from its entry to its last sign of life.
    assert [m["viewers"] for m in minutes] == [1, 2, 2, 1, 0]
    assert [(m["private_entries"], m["public_entries"]) for m in minutes] == [
        (1, 0),
        (0, 1),
        (0, 1),
        (1, 0),
        (0, 0),
    ]
    assert minutes[1]["entries_by_source"]["search"] == 1
    assert minutes[2]["entries_by_source"]["recommend_feed"] == 1
    assert set(minutes[0]["entries_by_source"]) == {source.value for source in EntrySource}
    assert [m["orders"] for m in minutes] == [0, 0, 1, 1, 1]  # by the minute paid
    assert [m["gmv_minor"] for m in minutes] == [0, 0, PRICE, FLASH_PRICE, FLASH_PRICE]
    totals = report["totals"]
    assert (totals["viewers"], totals["entries"], totals["private_entries"]) == (4, 4, 2)
    assert (totals["orders"], totals["gmv_minor"]) == (3, PRICE + 2 * FLASH_PRICE)
    assert totals["orders_after_end"] == 0
    assert report["start"][11:19] == "09:00:00"
    assert report["end"][11:19] == "09:04:40"


async def test_a_flash_sale_sells_through_and_a_pin_is_weighed_against_the_rest(
    client: httpx.AsyncClient, room: dict[str, Any], uow: Any, clock: FrozenClock
) -> None:
    product_id = await _show(client, room, uow, clock)

    report = await _report(client, room)

    (sale,) = report["flash_sales"]
    assert (sale["units_offered"], sale["units_sold"], sale["orders"]) == (2, 2, 2)
    assert sale["sell_through"] == pytest.approx(1.0)
    assert sale["gmv_minor"] == 2 * FLASH_PRICE
    assert sale["seconds_to_sell_out"] == 50  # started 09:03:30, the last unit at 09:04:20
    assert sale["ended_at"] is not None  # the show's end ended it
    (pin,) = report["pins"]
    assert (pin["product_id"], pin["seconds"]) == (product_id, 60)
    assert (pin["orders"], pin["units"], pin["gmv_minor"]) == (1, 1, PRICE)
    (pinned,) = report["pinned_products"]
    assert (pinned["orders_pinned"], pinned["orders_unpinned"]) == (1, 2)
    assert (pinned["pinned_seconds"], pinned["unpinned_seconds"]) == (60, 220)
    assert pinned["orders_per_minute_pinned"] == pytest.approx(1.0)
    assert pinned["orders_per_minute_unpinned"] == pytest.approx(2 * 60 / 220)
    assert [m["pinned_product_id"] for m in report["minutes"]] == [
        None,
        None,
        product_id,
        None,
        None,
    ]


async def test_watch_times_fall_in_buckets_with_their_median_and_p90(
    client: httpx.AsyncClient, room: dict[str, Any], uow: Any, clock: FrozenClock
) -> None:
    await _show(client, room, uow, clock)

    watch = (await _report(client, room))["watch_time"]

    # The fan 140 s, the passer-by 35 s, the feed's viewer 0 s, the member its 10 s to purchase.
    assert watch["visits"] == 4
    assert (watch["median_seconds"], watch["p90_seconds"]) == (10, 140)
    counts = {(b["low_seconds"], b["high_seconds"]): b["visits"] for b in watch["buckets"]}
    assert counts[(0, 10)] == counts[(10, 30)] == counts[(30, 60)] == counts[(60, 300)] == 1
    assert sum(counts.values()) == 4
    assert watch["buckets"][-1]["high_seconds"] is None


async def test_the_report_is_final_only_once_the_show_ended_and_its_orders_are_decided(
    client: httpx.AsyncClient, room: dict[str, Any], uow: Any, clock: FrozenClock
) -> None:
    buyer = await sign_up(client, Role.BUYER)
    product_id = await _product_id(client, room)
    await _pin(client, room, product_id)
    clock.advance(timedelta(minutes=2, seconds=5))
    order_id = await _buy(client, room, buyer)

    live = await _report(client, room)

    assert (live["status"], live["final"]) == ("live", False)
    assert live["end"] == live["computed_at"]  # up to now while it is live
    assert len(live["minutes"]) == 3
    assert live["pins"][0]["end"] is None and live["pins"][0]["seconds"] == 125
    assert (live["totals"]["orders"], live["totals"]["awaiting_payment"]) == (0, 1)
    await _end(client, room)
    clock.advance(timedelta(minutes=1))
    unpaid = await _report(client, room)
    assert (unpaid["status"], unpaid["final"]) == ("ended", False)  # the order may still pay
    await pay(client, buyer, [order_id])

    final = await _report(client, room)

    assert final["final"] is True
    assert final["pins"][0]["end"] == final["end"]  # the show's end ended the pin
    assert len(final["minutes"]) == 3  # the minutes stop at the end
    assert (final["totals"]["orders_after_end"], final["totals"]["gmv_after_end_minor"]) == (
        1,
        PRICE,
    )
    assert sum(m["orders"] for m in final["minutes"]) == 0


async def test_only_the_anchor_the_shop_owner_and_operators_read_a_report(
    client: httpx.AsyncClient, room: dict[str, Any], uow: Any
) -> None:
    stranger = await sign_up(client, Role.SELLER, Role.ANCHOR)
    operator = await make_operator(client, uow)
    url = f"/api/analytics/session/{room['session_id']}/report"

    refused = await client.get(url, headers=stranger.headers)

    assert (refused.status_code, refused.json()["code"]) == (404, "not_found")
    missing = await client.get(
        "/api/analytics/session/liv_missing/report", headers=operator.headers
    )
    assert missing.status_code == 404
    assert (await client.get(url, headers=operator.headers)).status_code == 200
    assert (await client.get(url)).status_code == 401
    as_csv = await client.get(url, params={"format": "csv"}, headers=stranger.headers)
    assert as_csv.status_code == 404


async def test_the_minutes_download_as_csv_one_row_each(
    client: httpx.AsyncClient, room: dict[str, Any], uow: Any, clock: FrozenClock
) -> None:
    await _show(client, room, uow, clock)

    answer = await client.get(
        f"/api/analytics/session/{room['session_id']}/report",
        params={"format": "csv"},
        headers=room["anchor"].headers,
    )

    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert len(rows) == 5
    assert [row["viewers"] for row in rows] == ["1", "2", "2", "1", "0"]
    assert rows[1]["entries_search"] == "1"
    assert rows[2]["gmv_minor"] == str(PRICE)
    assert rows[0]["pinned_product_id"] == ""
    header = answer.text.splitlines()[0].split(",")
    assert header[:3] == ["minute", "viewers", "entries"]
    bad = await client.get(
        f"/api/analytics/session/{room['session_id']}/report",
        params={"format": "xml"},
        headers=room["anchor"].headers,
    )
    assert bad.status_code == 422
