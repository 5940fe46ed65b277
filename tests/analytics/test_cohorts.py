"""Repurchase by month, first-purchase cohorts and RFM segments: the definitions on small
hand-made cases, then the reports through the API, as JSON and as CSV."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from laotie.accounts.permissions import Role
from laotie.analytics.cohorts import (
    AT_RISK,
    CHAMPIONS,
    HIBERNATING,
    LOYAL,
    NEEDS_ATTENTION,
    NEW,
    PROMISING,
    SEGMENTS,
    MonthRepurchase,
    Purchase,
    cohorts,
    monthly_repurchase,
    months_overlapping,
    next_month,
    quintile_scores,
    rfm,
    segment_counts,
    segment_of,
)
from laotie.analytics.repurchase import repurchase
from laotie.core.clock import FrozenClock
from laotie.live.room.visits import do_enter, do_leave
from laotie.live.schemas import EntrySource
from tests.catalog_factories import make_operator
from tests.factories import ApiUser, sign_in, sign_up
from tests.live.sale_room import buy
from tests.orders.world import buy_and_pay, pay

JAN, FEB, MAR, APR = (date(2026, m, 1) for m in (1, 2, 3, 4))


def at(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def paid(buyer: str, moment: datetime, *, shop: str = "shop", private: bool = False) -> Purchase:
    return Purchase(shop, buyer, moment, 1_000, private)


# ---------------------------------------------------------------- repurchase by month


def test_months_are_the_calendar_months_overlapping_the_days() -> None:
    assert months_overlapping(date(2026, 1, 15), date(2026, 3, 1)) == [JAN, FEB]
    assert months_overlapping(date(2026, 1, 31), date(2026, 2, 2)) == [JAN, FEB]
    assert next_month(date(2025, 12, 1)) == JAN


def test_the_lookback_reaches_exactly_365_days_before_the_months_order() -> None:
    first = at(MAR, 10)
    orders = [
        paid("within", first - timedelta(days=365)),
        paid("within", first),
        paid("beyond", first - timedelta(days=365, seconds=1)),
        paid("beyond", first),
    ]
    (march,) = monthly_repurchase(orders, [MAR])
    assert (march.buyers, march.repeat_buyers) == (2, 1)
    assert march.rate == 0.5


def test_a_second_order_in_the_month_is_repurchase_as_the_trust_engine_counts_it() -> None:
    orders = [paid("ann", at(JAN)), paid("ann", at(date(2026, 1, 20))), paid("ann", at(FEB))]
    jan, feb = monthly_repurchase(orders, [JAN, FEB])
    assert jan == MonthRepurchase(JAN, 1, repeat_buyers=1, repeat_orders=2, private_repeat_orders=0)
    assert (jan.rate, jan.private_share) == (1.0, 0.0)
    assert (feb.buyers, feb.repeat_buyers, feb.repeat_orders) == (1, 1, 1)
    january = [(o.buyer_id, o.paid_at) for o in orders[:2]]
    once = repurchase(january, at(JAN) - timedelta(1), at(FEB))
    assert (once.buyers, once.repeat_buyers) == (jan.buyers, jan.repeat_buyers)


def test_an_earlier_order_at_another_shop_makes_no_repeat_buyer() -> None:
    orders = [paid("ann", at(JAN), shop="tea"), paid("ann", at(FEB), shop="jade")]
    (feb,) = monthly_repurchase(orders, [FEB])
    assert (feb.buyers, feb.repeat_buyers) == (1, 0)


def test_the_private_share_counts_every_repeat_order_and_only_those() -> None:
    orders = [
        paid("ann", at(JAN), private=True),  # before the month: not a repeat order of it
        paid("ann", at(FEB), private=True),  # all three of ann's February orders repeat
        paid("ann", at(date(2026, 2, 10)), private=True),
        paid("ann", at(date(2026, 2, 20))),
        paid("bob", at(date(2026, 2, 3)), private=True),  # one order, new: not repurchase
    ]
    (feb,) = monthly_repurchase(orders, [FEB])
    assert (feb.buyers, feb.repeat_buyers) == (2, 1)
    assert (feb.repeat_orders, feb.private_repeat_orders) == (3, 2)
    assert feb.private_share == pytest.approx(2 / 3)


def test_a_platform_counts_a_buyer_of_two_shops_once_per_shop() -> None:
    orders = [
        paid("ann", at(JAN), shop="tea"),
        paid("ann", at(FEB), shop="tea"),
        paid("ann", at(FEB), shop="jade"),
    ]
    (feb,) = monthly_repurchase(orders, [FEB])
    assert (feb.buyers, feb.repeat_buyers, feb.rate) == (2, 1, 0.5)


# ---------------------------------------------------------------- cohorts


def test_a_cohort_is_followed_month_by_month_from_its_first_purchases() -> None:
    orders = [
        paid("old", at(date(2025, 12, 5))),  # first bought in December: not January's
        paid("old", at(JAN)),
        paid("ann", at(JAN)),
        paid("ann", at(MAR)),
        paid("bob", at(date(2026, 1, 9))),
        paid("bob", at(FEB)),
        paid("bob", at(date(2026, 2, 25))),  # twice in a month is one customer active
        paid("cy", at(date(2026, 1, 31), 23)),
        paid("cy", at(APR)),  # after the last month followed
        paid("dee", at(FEB)),
    ]
    jan, feb = cohorts(orders, [JAN, FEB], MAR)
    assert (jan.month, jan.customers, jan.active) == (JAN, 3, (3, 1, 1))
    assert jan.share(1) == pytest.approx(1 / 3)
    assert (feb.month, feb.active) == (FEB, (1, 0))
    assert cohorts(orders, [FEB], FEB)[0].active == (1,)


# ---------------------------------------------------------------- RFM


def test_quintile_scores_spread_distinct_values_and_never_split_ties() -> None:
    assert quintile_scores(list(range(10))) == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert quintile_scores([7, 7, 7]) == [3, 3, 3]  # nothing to tell apart: average
    assert quintile_scores([4]) == [3]
    assert quintile_scores([1, 9]) == [2, 4]
    # Three of five bought once: they share the quintile of their run's middle (30%).
    assert quintile_scores([1, 1, 1, 3, 5]) == [2, 2, 2, 4, 5]
    # A middle on a border (40%) belongs to the quintile above it, as in [40%, 60%).
    assert quintile_scores([1, 1, 1, 1, 3]) == [3, 3, 3, 3, 5]


def test_rfm_scores_and_segments_of_a_hand_made_shop() -> None:
    day = date(2026, 6, 30)

    def orders(buyer: str, count: int, last_days_ago: int, each: int) -> list[Purchase]:
        last = at(day - timedelta(days=last_days_ago), 8)
        return [
            Purchase("shop", buyer, last - timedelta(days=i), each, False) for i in range(count)
        ]

    history = [
        *orders("ann", 6, 0, 10_000),
        *orders("bob", 4, 20, 2_000),
        *orders("cy", 1, 2, 3_000),
        *orders("dee", 3, 200, 10_000),
        *orders("eve", 1, 300, 1_000),
        Purchase("shop", "fay", at(day + timedelta(days=1)), 9_999, False),  # after the day
    ]
    scored = {c.buyer_id: c for c in rfm(history, day)}
    assert set(scored) == {"ann", "bob", "cy", "dee", "eve"}
    assert (scored["bob"].recency_days, scored["bob"].frequency) == (20, 4)
    assert scored["dee"].monetary_minor == 30_000
    assert {b: (c.r, c.f, c.m, c.segment) for b, c in scored.items()} == {
        "ann": (5, 5, 5, CHAMPIONS),
        "bob": (3, 4, 3, LOYAL),
        "cy": (4, 2, 2, NEW),
        "dee": (2, 3, 4, AT_RISK),
        "eve": (1, 2, 1, HIBERNATING),
    }
    counts = segment_counts(scored.values())
    assert list(counts) == list(SEGMENTS)
    assert (counts[CHAMPIONS], counts[PROMISING], sum(counts.values())) == (1, 0, 5)


def test_the_segment_rules_cover_every_score() -> None:
    assert segment_of(5, 3, 2, orders=2) == PROMISING
    assert segment_of(3, 3, 5, orders=4) == NEEDS_ATTENTION
    assert segment_of(4, 5, 3, orders=9) == LOYAL
    named = {segment_of(r, f, m, 2) for r in range(1, 6) for f in range(1, 6) for m in range(1, 6)}
    assert named == set(SEGMENTS) - {NEW}


# ---------------------------------------------------------------- through the API


async def _visit(uow: Any, room: dict[str, Any], buyer: ApiUser, source: EntrySource) -> str:
    """Enter the room and watch a minute; return the visit."""
    async with uow() as ctx:
        visit_id = await do_enter(ctx, room["session_id"], buyer.id, buyer.id, source, False)
    async with uow() as ctx:
        await do_leave(ctx, visit_id, 60)
    return visit_id


async def _buy_in_room(
    client: httpx.AsyncClient, room: dict[str, Any], buyer: ApiUser, visit_id: str
) -> None:
    bought = await buy(client, room, buyer, visit_id=visit_id)
    assert bought.status_code == 201, bought.text
    await pay(client, buyer, [str(bought.json()["orders"][0]["id"])])


async def _again(client: httpx.AsyncClient, user: ApiUser) -> ApiUser:
    """The same user with a new token: a month on, the old one has expired."""
    return ApiUser(user.id, user.email, await sign_in(client, user.email))


async def _january_and_february(
    client: httpx.AsyncClient, room: dict[str, Any], uow: Any, clock: FrozenClock
) -> tuple[ApiUser, str]:
    """Two buyers in January; in February both come back (one from the follow feed, one to
    the shelf) and a new one buys twice. Return the shop's owner, fresh, and the shop."""
    ann, bob = [await sign_up(client, Role.BUYER) for _ in range(2)]
    await _buy_in_room(client, room, ann, await _visit(uow, room, ann, EntrySource.FOLLOW_FEED))
    await _buy_in_room(client, room, bob, await _visit(uow, room, bob, EntrySource.SEARCH))
    clock.advance(timedelta(days=31))  # 5 February
    ann, bob, owner = [await _again(client, u) for u in (ann, bob, room["anchor"])]
    cy = await sign_up(client, Role.BUYER)
    await _buy_in_room(client, room, ann, await _visit(uow, room, ann, EntrySource.FOLLOW_FEED))
    await buy_and_pay(client, bob, [(room["sku_id"], 1)])
    cy_visit = await _visit(uow, room, cy, EntrySource.FOLLOW_FEED)
    await _buy_in_room(client, room, cy, cy_visit)
    await _buy_in_room(client, room, cy, cy_visit)
    shop = await client.get(f"/api/live/sessions/{room['session_id']}")
    return owner, str(shop.json()["shop_id"])


async def test_a_shops_repurchase_cohorts_and_rfm_through_the_api(
    client: httpx.AsyncClient, room: dict[str, Any], uow: Any, clock: FrozenClock
) -> None:
    owner, shop_id = await _january_and_february(client, room, uow, clock)
    months = {"start": "2026-01-01", "end": "2026-03-01"}

    repurchase = await client.get(
        f"/api/analytics/shop/{shop_id}/repurchase", params=months, headers=owner.headers
    )
    cohort_table = await client.get(
        f"/api/analytics/shop/{shop_id}/cohorts", params=months, headers=owner.headers
    )
    segments = await client.get(
        f"/api/analytics/shop/{shop_id}/rfm",
        params={"day": "2026-02-05", "limit": 2},
        headers=owner.headers,
    )

    assert repurchase.status_code == 200, repurchase.text
    jan, feb = repurchase.json()["months"]
    assert (jan["month"], jan["buyers"], jan["repeat_buyers"], jan["rate"]) == ("2026-01", 2, 0, 0)
    assert jan["private_share"] is None
    # ann (private) and bob (the shelf) came back, and cy's second order had its first
    # (both from the follow feed) just before it.
    assert (feb["buyers"], feb["repeat_buyers"], feb["repeat_orders"]) == (3, 3, 4)
    assert (feb["private_repeat_orders"], feb["private_share"]) == (3, 0.75)
    assert feb["rate"] == pytest.approx(1.0)
    assert cohort_table.status_code == 200, cohort_table.text
    assert [
        (c["month"], c["customers"], [cell["customers"] for cell in c["retention"]])
        for c in cohort_table.json()["cohorts"]
    ] == [("2026-01", 2, [2, 2]), ("2026-02", 1, [1])]
    assert segments.status_code == 200, segments.text
    rfm_body = segments.json()
    assert rfm_body["customers"] == 3
    assert sum(s["customers"] for s in rfm_body["segments"]) == 3
    assert len(rfm_body["items"]) == 2  # the page
    assert [c["frequency"] for c in rfm_body["items"]] == [2, 2]
    assert all(c["recency_days"] == 0 for c in rfm_body["items"])


def _rows(download: httpx.Response) -> list[dict[str, str]]:
    assert download.status_code == 200, download.text
    assert download.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(download.text)))


async def test_the_reports_download_as_csv_and_refuse_strangers_and_bad_periods(
    client: httpx.AsyncClient, room: dict[str, Any], uow: Any, clock: FrozenClock
) -> None:
    owner, shop_id = await _january_and_february(client, room, uow, clock)
    operator = await make_operator(client, uow)
    stranger = await sign_up(client, Role.SELLER)
    months = {"start": "2026-01-01", "end": "2026-03-01"}

    async def get(path: str, user: ApiUser, **params: Any) -> httpx.Response:
        return await client.get(path, params={**months, **params}, headers=user.headers)

    download = await get(f"/api/analytics/shop/{shop_id}/repurchase", owner, format="csv")
    assert download.status_code == 200, download.text
    assert download.headers["content-type"].startswith("text/csv")
    assert "attachment" in download.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(download.text)))
    assert rows[0][:3] == ["month", "buyers", "repeat_buyers"]
    assert rows[2][:3] == ["2026-02", "3", "3"]
    assert rows[1][-1] == ""  # January's private share is undefined
    cohort_rows = _rows(await get(f"/api/analytics/shop/{shop_id}/cohorts", owner, format="csv"))
    assert [(r["cohort"], r["months_since"], r["active_customers"]) for r in cohort_rows] == [
        ("2026-01", "0", "2"),
        ("2026-01", "1", "2"),
        ("2026-02", "0", "1"),
    ]
    rfm_path = f"/api/analytics/shop/{shop_id}/rfm"
    rfm_rows = _rows(await get(rfm_path, owner, day="2026-02-05", limit=1, format="csv"))
    assert len(rfm_rows) == 3  # a download holds every customer
    assert {r["segment"] for r in rfm_rows} <= set(SEGMENTS)

    platform = await get("/api/analytics/platform/repurchase", operator)
    assert platform.status_code == 200, platform.text
    assert platform.json()["months"][1]["repeat_buyers"] >= 2
    assert (await get("/api/analytics/platform/repurchase", owner)).status_code == 404
    for report in ("repurchase", "cohorts"):
        assert (await get(f"/api/analytics/shop/{shop_id}/{report}", stranger)).status_code == 404
    unknown = await get(f"/api/analytics/shop/{uuid.uuid4().hex}/cohorts", operator)
    assert unknown.status_code == 404
    assert (await get(rfm_path, stranger, day="2026-02-05")).status_code == 404
    backwards = await get(f"/api/analytics/shop/{shop_id}/repurchase", owner, end="2025-12-01")
    assert (backwards.status_code, backwards.json()["code"]) == (422, "period_invalid")
    too_many = await get(f"/api/analytics/shop/{shop_id}/cohorts", owner, start="2024-01-01")
    assert (too_many.status_code, too_many.json()["code"]) == (422, "period_invalid")
    too_far = await get(
        f"/api/analytics/shop/{shop_id}/repurchase", owner, start="0001-01-01", end="0001-02-01"
    )
    assert (too_far.status_code, too_far.json()["code"]) == (422, "period_invalid")
    big_page = await get(rfm_path, owner, day="2026-02-05", limit=201)
    assert (big_page.status_code, big_page.json()["code"]) == (422, "invalid_input")
    odd_format = await get(rfm_path, owner, day="2026-02-05", format="xml")
    assert (odd_format.status_code, odd_format.json()["code"]) == (422, "invalid_input")
