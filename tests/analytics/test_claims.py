"""What the seed claims, measured: rank correlations of hand-made anchors with their trust,
concentration on numbers worked by hand, and the deposit of public visitors into followers
and buyers through the API, for operators only."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from laotie.accounts.permissions import Role
from laotie.analytics.claims import (
    AnchorRates,
    AnchorTrust,
    Claims,
    Concentration,
    Deposit,
    claims_out,
    concentration,
    rank_correlation,
)
from laotie.analytics.concentration import gini, top_share
from laotie.analytics.facts import Period, SaleRow
from laotie.core.clock import FrozenClock
from laotie.live.room.visits import do_enter, do_leave
from laotie.live.schemas import EntrySource
from tests.catalog_factories import make_operator
from tests.factories import ApiUser, sign_up
from tests.live.sale_room import buy
from tests.orders.world import pay

DAY = date(2026, 1, 5)
PERIOD = Period(DAY, DAY + timedelta(days=1))
CLAIMS = "/api/analytics/platform/claims"
DAYS = {"start": DAY.isoformat(), "end": (DAY + timedelta(days=1)).isoformat()}


def _claims(anchors: list[AnchorRates]) -> Claims:
    return Claims(PERIOD, "CNY", anchors, Deposit(0, 0, 0, None), Concentration(0, 0, 0, 0.0, 0.0))


def _anchor(name: str, buyers: int, orders: int, watch_minutes: int = 10) -> AnchorRates:
    return AnchorRates(name, 50, watch_minutes * 60, buyers, orders, orders * 1_000)


# ---------------------------------------------------------------- c and F against trust


def test_hand_made_anchors_give_the_rank_correlations_worked_by_hand() -> None:
    anchors = [  # c = buyers / 10 minutes rises with trust; F's ranks swap the first two
        _anchor("a", buyers=1, orders=2),  # c 0.1, F 2
        _anchor("b", buyers=2, orders=2),  # c 0.2, F 1
        _anchor("c", buyers=3, orders=9),  # c 0.3, F 3
        _anchor("d", buyers=4, orders=16),  # c 0.4, F 4
        _anchor("idle", buyers=0, orders=0),  # c 0: F undefined, left out of F's pairs
        _anchor("unscored", buyers=5, orders=5),  # no trust score: in no pair
    ]
    trust = {
        name: AnchorTrust(score, DAY)
        for name, score in (("a", 3.5), ("b", 4.0), ("c", 4.5), ("d", 4.8), ("idle", 3.2))
    }

    report = claims_out(_claims(anchors), trust)

    c, f = report.conversion_vs_trust, report.frequency_vs_trust
    assert c is not None and f is not None
    assert (c.n, c.rho) == (5, pytest.approx(1.0))  # idle's c of 0 ranks last, as its trust
    assert c.p_value == pytest.approx(0.0, abs=1e-9)
    # F's ranks (2, 1, 3, 4) against (1, 2, 3, 4): rho = 1 − 6 Σd² / (n (n² − 1)) = 0.8.
    assert (f.n, f.rho) == (4, pytest.approx(0.8))
    assert 0 < f.p_value < 1
    rows = {row.anchor_id: row for row in report.anchors}
    assert rows["c"].conversion_per_minute == pytest.approx(0.3)
    assert rows["c"].frequency == pytest.approx(3.0)
    assert rows["idle"].frequency is None and rows["unscored"].trust_score is None
    assert [row.anchor_id for row in report.anchors][:2] == ["d", "c"]  # highest GMV first


def test_no_correlation_below_three_anchors_or_with_a_side_all_alike() -> None:
    assert rank_correlation([(4.0, 0.1), (4.5, 0.2)]) is None
    assert rank_correlation([(4.0, 0.1), (4.0, 0.2), (4.0, 0.3)]) is None
    found = rank_correlation([(3.0, 0.3), (4.0, 0.2), (5.0, 0.1)])
    assert found is not None and (found.n, found.rho) == (3, pytest.approx(-1.0))
    report = claims_out(_claims([_anchor("a", 1, 1), _anchor("b", 2, 2)]), {})
    assert report.conversion_vs_trust is None and report.frequency_vs_trust is None


# ---------------------------------------------------------------- concentration


def test_gini_is_zero_for_equal_shops_and_near_one_for_one_shop_taking_all() -> None:
    assert gini([5, 5, 5, 5]) == 0.0
    assert gini([0, 0, 0, 10]) == 0.75  # (n - 1) / n: the most a Gini of four shops can be
    assert gini([1, 2, 3, 4]) == pytest.approx(0.25)  # 2 × (1 + 4 + 9 + 16) / (4 × 10) − 5 / 4
    assert gini([]) == 0.0 and gini([0, 0]) == 0.0


def test_the_top_fifth_of_shops_holds_its_share_of_gmv() -> None:
    assert top_share([10, 0, 0, 0, 0, 0, 0, 0, 0, 10], 0.2) == 1.0
    assert top_share([1] * 10, 0.2) == pytest.approx(0.2)
    assert top_share([3, 1], 0.2) == 0.75  # at least one shop is the top
    assert top_share([], 0.2) == 0.0


def _sale(shop: str, total: int, currency: str = "CNY") -> SaleRow:
    paid = PERIOD.since
    return SaleRow("o", "b", shop, None, total, currency, None, paid, None, None, None, None, None)


def test_concentration_counts_the_shops_without_gmv_and_only_the_currency() -> None:
    sales = [
        _sale("tea", 6_000),
        _sale("tea", 2_000),
        _sale("jade", 2_000),
        _sale("jade", 9, "USD"),
    ]
    found = concentration(["tea", "jade", "silk", "salt", "rice"], sales, "CNY")
    assert (found.shops, found.shops_with_gmv, found.gmv_minor) == (5, 2, 10_000)
    assert found.top_share == 0.8  # the top fifth of five shops is tea
    assert found.gini == pytest.approx(gini([8_000, 2_000, 0, 0, 0]))


# ---------------------------------------------------------------- the deposit, through the API


async def _enter(uow: Any, room: dict[str, Any], viewer: ApiUser, source: EntrySource) -> str:
    """Enter the room and watch a minute; return the visit."""
    async with uow() as ctx:
        visit_id = await do_enter(ctx, room["session_id"], viewer.id, viewer.id, source, False)
    async with uow() as ctx:
        await do_leave(ctx, visit_id, 60)
    return visit_id


async def _follow(client: httpx.AsyncClient, room: dict[str, Any], viewer: ApiUser) -> None:
    followed = await client.put(f"/api/follows/anchor/{room['anchor'].id}", headers=viewer.headers)
    assert followed.status_code == 200, followed.text


async def _buy(
    client: httpx.AsyncClient, room: dict[str, Any], buyer: ApiUser, visit_id: str
) -> None:
    bought = await buy(client, room, buyer, visit_id=visit_id)
    assert bought.status_code == 201, bought.text
    await pay(client, buyer, [str(bought.json()["orders"][0]["id"])])


async def test_the_deposit_counts_public_visitors_who_followed_then_bought(
    client: httpx.AsyncClient, room: dict[str, Any], uow: Any, clock: FrozenClock
) -> None:
    ann, bob, cy, dee = [await sign_up(client, Role.BUYER) for _ in range(4)]
    ann_visit = await _enter(uow, room, ann, EntrySource.RECOMMEND_FEED)
    await _follow(client, room, ann)  # public, then a follower...
    bob_visit = await _enter(uow, room, bob, EntrySource.SEARCH)  # public, never follows
    cy_visit = await _enter(uow, room, cy, EntrySource.FOLLOW_FEED)  # private from the start
    await _follow(client, room, cy)
    await _enter(uow, room, dee, EntrySource.RECOMMEND_FEED)
    await _follow(client, room, dee)  # follows, never buys
    await _buy(client, room, bob, bob_visit)
    await _buy(client, room, cy, cy_visit)
    clock.advance(timedelta(minutes=10))
    await _buy(client, room, ann, ann_visit)  # ...and a buyer ten minutes on
    operator = await make_operator(client, uow)

    answer = await client.get(CLAIMS, params=DAYS, headers=operator.headers)

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["deposit"] == {
        "public_viewers": 3,
        "followed": 2,
        "bought": 1,
        "median_seconds_to_purchase": 600.0,
    }
    (anchor,) = body["anchors"]
    assert anchor["anchor_id"] == room["anchor"].id
    assert (anchor["uv"], anchor["buyers"], anchor["orders"], anchor["frequency"]) == (4, 3, 3, 1.0)
    assert anchor["conversion_per_minute"] == pytest.approx(3 / (anchor["watch_seconds"] / 60))
    assert 3.0 <= anchor["trust_score"] <= 5.0 and anchor["trust_day"] == DAY.isoformat()
    assert body["conversion_vs_trust"] is None  # one anchor: no correlation
    assert body["concentration"]["shops"] == 1
    assert (body["concentration"]["top20_share"], body["concentration"]["gini"]) == (1.0, 0.0)

    download = await client.get(CLAIMS, params={**DAYS, "format": "csv"}, headers=operator.headers)
    assert download.status_code == 200, download.text
    assert download.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(download.text)))
    assert [(r["anchor_id"], r["buyers"]) for r in rows] == [(room["anchor"].id, "3")]
    assert "trust_score" in rows[0]


async def test_only_operators_read_the_claims(
    client: httpx.AsyncClient, room: dict[str, Any], uow: Any
) -> None:
    buyer = await sign_up(client, Role.BUYER)
    for user in (room["anchor"], buyer):
        refused = await client.get(CLAIMS, params=DAYS, headers=user.headers)
        assert (refused.status_code, refused.json()["code"]) == (404, "not_found")
    operator = await make_operator(client, uow)
    backwards = await client.get(
        CLAIMS,
        params={"start": DAYS["end"], "end": DAYS["start"]},
        headers=operator.headers,
    )
    assert (backwards.status_code, backwards.json()["code"]) == (422, "period_invalid")
    empty = await client.get(CLAIMS, params=DAYS, headers=operator.headers)
    assert empty.status_code == 200, empty.text
    assert empty.json()["deposit"]["public_viewers"] == 0
    assert empty.json()["anchors"] == []
