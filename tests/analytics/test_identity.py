"""The GMV identity from raw rows: factors that multiply to GMV, segments that add up,
buyers who are viewers, and the change between periods explained to the minor unit."""

from __future__ import annotations

import csv
import io
import math
from datetime import date, datetime, timedelta
from typing import Any

import httpx
import pytest

from laotie.accounts.permissions import Role
from laotie.core.clock import FrozenClock
from laotie.live.room.visits import do_enter, do_leave
from laotie.live.schemas import EntrySource
from tests.catalog_factories import make_operator
from tests.factories import ApiUser, sign_up
from tests.live.sale_room import buy
from tests.orders.world import buy_and_pay, pay

PRICE = 9_900


async def _watch(
    uow: Any,
    clock: FrozenClock,
    room: dict[str, Any],
    viewer: str,
    source: EntrySource,
    seconds: int,
) -> str:
    """Enter the room as a viewer, watch for some seconds, leave; return the visit."""
    async with uow() as ctx:
        visit_id = await do_enter(ctx, room["session_id"], viewer, _user(viewer), source, False)
    clock.advance(timedelta(seconds=seconds))
    async with uow() as ctx:
        await do_leave(ctx, visit_id, seconds)
    return visit_id


def _user(viewer: str) -> str | None:
    return None if viewer.startswith("vis_") else viewer


async def _buy_in_room(
    client: httpx.AsyncClient, room: dict[str, Any], buyer: ApiUser, visit_id: str
) -> str:
    bought = await buy(client, room, buyer, visit_id=visit_id)
    assert bought.status_code == 201, bought.text
    order_id = str(bought.json()["orders"][0]["id"])
    await pay(client, buyer, [order_id])
    return order_id


def _day(moment: datetime) -> str:
    return moment.date().isoformat()


def _segments(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {segment["name"]: segment for segment in report["segments"]}


async def _identity(
    client: httpx.AsyncClient, user: ApiUser, scope: str, scope_id: str, start: date, end: date
) -> dict[str, Any]:
    answer = await client.get(
        f"/api/analytics/{scope}/{scope_id}/identity",
        params={"start": start.isoformat(), "end": end.isoformat()},
        headers=user.headers,
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def _shop_id(client: httpx.AsyncClient, room: dict[str, Any]) -> str:
    return str((await client.get(f"/api/live/sessions/{room['session_id']}")).json()["shop_id"])


async def test_the_factors_multiply_to_gmv_and_the_segments_add_up(
    client: httpx.AsyncClient, room: dict[str, Any], uow: Any, clock: FrozenClock
) -> None:
    anchor = room["anchor"]
    fan = await sign_up(client, Role.BUYER, name="Fan")
    passer = await sign_up(client, Role.BUYER, name="Passer-by")
    await client.put(f"/api/follows/anchor/{anchor.id}", headers=fan.headers)
    fan_visit = await _watch(uow, clock, room, fan.id, EntrySource.SEARCH, 300)  # a follower
    passer_visit = await _watch(uow, clock, room, passer.id, EntrySource.RECOMMEND_FEED, 120)
    await _watch(uow, clock, room, "vis_someone", EntrySource.CATEGORY, 60)
    # The passer-by comes back from the follow feed: its first visit decides its domain.
    await _watch(uow, clock, room, passer.id, EntrySource.FOLLOW_FEED, 30)
    await _buy_in_room(client, room, fan, fan_visit)
    await _buy_in_room(client, room, passer, passer_visit)
    await _buy_in_room(client, room, passer, passer_visit)
    shelf_buyer = await sign_up(client, Role.BUYER, name="Shelf buyer")
    await buy_and_pay(client, shelf_buyer, [(room["sku_id"], 2)])
    shop_id = await _shop_id(client, room)
    today = clock.now().date()

    report = await _identity(client, anchor, "shop", shop_id, today, today + timedelta(days=1))

    seen = _segments(report)
    assert (seen["private"]["uv"], seen["public"]["uv"], seen["live"]["uv"]) == (1, 2, 3)
    # A visit that ends in an order counts at least its time to purchase: the fan's 300 s
    # became the 510 s until it bought; the passer-by's 120 s became 210 s, and the
    # anonymous viewer's 60 s and the passer-by's second visit count as public.
    assert (seen["private"]["watch_seconds"], seen["public"]["watch_seconds"]) == (510, 300)
    assert (seen["private"]["orders"], seen["public"]["orders"]) == (1, 2)
    assert (seen["public"]["buyers"], seen["live"]["buyers"]) == (1, 2)
    assert seen["live"]["gmv_minor"] == 3 * PRICE
    assert (seen["shelf"]["uv"], seen["shelf"]["orders"]) == (1, 1)  # its buyer is a visitor
    assert report["gmv_minor"] == 3 * PRICE + seen["shelf"]["gmv_minor"]
    for name in ("private", "public", "live", "shelf"):
        product = math.prod(seen[name]["factors"].values())
        assert product == pytest.approx(seen[name]["gmv_minor"], rel=1e-9)
    live = seen["live"]["factors"]
    assert live["watch_per_viewer"] == pytest.approx(810 / 3)
    assert live["conversion"] == pytest.approx(2 / 810)
    assert live["frequency"] == pytest.approx(3 / 2)
    assert live["order_value"] == pytest.approx(PRICE)
    assert seen["private"]["factors"]["share"] == pytest.approx(1 / 3)
    assert [(t["tier"], t["buyers"], t["orders"]) for t in report["tiers"]] == [
        ("new_first", 3, 4)  # every test buyer ships to Hangzhou
    ]


async def test_a_buyer_who_came_in_before_midnight_is_a_viewer_of_the_day_it_paid(
    client: httpx.AsyncClient, room: dict[str, Any], uow: Any, clock: FrozenClock
) -> None:
    night = datetime.combine(clock.now().date(), datetime.min.time(), clock.now().tzinfo)
    clock.advance(night + timedelta(hours=23, minutes=50) - clock.now())
    buyer = await sign_up(client, Role.BUYER)
    async with uow() as ctx:
        visit_id = await do_enter(
            ctx, room["session_id"], buyer.id, buyer.id, EntrySource.PROFILE, False
        )
    clock.advance(timedelta(minutes=20))  # past midnight, then it buys
    await _buy_in_room(client, room, buyer, visit_id)
    next_day = clock.now().date()

    report = await _identity(
        client,
        room["anchor"],
        "session",
        room["session_id"],
        next_day,
        next_day + timedelta(days=1),
    )

    live = _segments(report)["live"]
    assert (live["uv"], live["buyers"], live["orders"]) == (1, 1, 1)
    assert live["watch_seconds"] >= 20 * 60  # at least its time to purchase
    assert _segments(report)["private"]["uv"] == 1  # a visit from its profile page is private
    assert "shelf" not in _segments(report)


async def test_the_change_between_two_days_is_explained_to_the_minor_unit(
    client: httpx.AsyncClient, room: dict[str, Any], uow: Any, clock: FrozenClock
) -> None:
    first_day = clock.now().date()
    buyers = [await sign_up(client, Role.BUYER) for _ in range(3)]
    visit = await _watch(uow, clock, room, buyers[0].id, EntrySource.RECOMMEND_FEED, 100)
    await _buy_in_room(client, room, buyers[0], visit)
    clock.advance(timedelta(days=1))
    for buyer, seconds in ((buyers[1], 40), (buyers[2], 500)):
        visit = await _watch(uow, clock, room, buyer.id, EntrySource.RECOMMEND_FEED, seconds)
        await _buy_in_room(client, room, buyer, visit)
        await _buy_in_room(client, room, buyer, visit)
    shop_id = await _shop_id(client, room)
    second_day = first_day + timedelta(days=1)

    answer = await client.get(
        f"/api/analytics/shop/{shop_id}/change",
        params={"start": _day(clock.now()), "end": (second_day + timedelta(days=1)).isoformat()},
        headers=room["anchor"].headers,
    )

    assert answer.status_code == 200, answer.text
    change = answer.json()
    assert change["base"]["start"] == first_day.isoformat()  # the day before, by default
    assert change["change_minor"] == 4 * PRICE - PRICE
    assert sum(term["minor"] for term in change["terms"]) == change["change_minor"]
    assert sum(change["by_factor"].values()) == change["change_minor"]
    assert change["by_factor"]["order_value"] == 0  # the same price both days
    assert change["by_factor"]["uv"] > 0  # two viewers instead of one


async def test_who_may_read_which_figures(
    client: httpx.AsyncClient, room: dict[str, Any], uow: Any, clock: FrozenClock
) -> None:
    shop_id = await _shop_id(client, room)
    stranger = await sign_up(client, Role.SELLER)
    operator = await make_operator(client, uow)
    today = clock.now().date()
    period = {"start": today.isoformat(), "end": (today + timedelta(days=1)).isoformat()}

    def get(path: str, user: ApiUser, **params: str) -> Any:
        return client.get(path, params={**period, **params}, headers=user.headers)

    assert (await get(f"/api/analytics/shop/{shop_id}/identity", stranger)).status_code == 404
    assert (
        await get(f"/api/analytics/anchor/{room['anchor'].id}/identity", stranger)
    ).status_code == 404
    assert (await get("/api/analytics/platform/identity", stranger)).status_code == 404
    assert (await get(f"/api/analytics/shop/{shop_id}/identity", operator)).status_code == 200
    assert (await get("/api/analytics/platform/identity", operator)).status_code == 200
    mine = await get(f"/api/analytics/anchor/{room['anchor'].id}/identity", room["anchor"])
    assert mine.status_code == 200
    backwards = await get(
        f"/api/analytics/shop/{shop_id}/identity",
        operator,
        start=period["end"],
        end=period["start"],
    )
    assert (backwards.status_code, backwards.json()["code"]) == (422, "period_invalid")
    too_long = await get(
        "/api/analytics/platform/identity", operator, end=(today + timedelta(days=400)).isoformat()
    )
    assert (too_long.status_code, too_long.json()["code"]) == (422, "period_invalid")
    half_base = await get("/api/analytics/platform/change", operator, base_start=period["start"])
    assert (half_base.status_code, half_base.json()["code"]) == (422, "period_invalid")
    first_days = await get(
        "/api/analytics/platform/change", operator, start="0001-01-01", end="0001-01-02"
    )
    assert (first_days.status_code, first_days.json()["code"]) == (422, "period_invalid")


async def test_the_identity_and_its_change_download_as_csv_and_read_raw_alike(
    client: httpx.AsyncClient, room: dict[str, Any], uow: Any, clock: FrozenClock
) -> None:
    buyer = await sign_up(client, Role.BUYER)
    visit = await _watch(uow, clock, room, buyer.id, EntrySource.RECOMMEND_FEED, 90)
    await _buy_in_room(client, room, buyer, visit)
    shop_id = await _shop_id(client, room)
    today = clock.now().date()
    days = {"start": today.isoformat(), "end": (today + timedelta(days=1)).isoformat()}
    path = f"/api/analytics/shop/{shop_id}"
    headers = room["anchor"].headers

    rolled = await client.get(f"{path}/identity", params=days, headers=headers)
    raw = await client.get(f"{path}/identity", params={**days, "source": "raw"}, headers=headers)
    table = await client.get(f"{path}/identity", params={**days, "format": "csv"}, headers=headers)
    terms = await client.get(f"{path}/change", params={**days, "format": "csv"}, headers=headers)

    assert rolled.json() == raw.json()
    assert table.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(table.text)))
    assert [row["segment"] for row in rows] == ["private", "public", "live", "shelf"]
    public = rows[1]
    assert (public["uv"], public["orders"], public["gmv_minor"]) == ("1", "1", str(PRICE))
    assert float(public["order_value"]) == PRICE and rows[0]["order_value"] == ""
    change = list(csv.DictReader(io.StringIO(terms.text)))
    assert sum(int(row["minor"]) for row in change) == PRICE  # from nothing the day before
    assert [(row["segment"], row["factor"]) for row in change] == [("public", "entry")]
