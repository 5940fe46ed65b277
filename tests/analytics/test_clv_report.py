"""A shop's customer lifetime value through the API: fitted to the shop when it has enough
customers, to the platform when it has not, to nothing when even the platform has too
few; the figures are those of `analytics.clv` on the same histories."""

from __future__ import annotations

import csv
import io
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import httpx
import pytest

from laotie.accounts import service as accounts
from laotie.accounts.permissions import Role
from laotie.analytics import clv
from laotie.analytics.clv_report import UNIT, fit_models
from laotie.orders.models import Order
from tests.catalog_factories import make_operator, make_seller, make_shop
from tests.factories import PASSWORD, ApiUser, sign_up

START = date(2025, 1, 6)
DAY = START + timedelta(weeks=26)  # the report's day: half a year of history
Row = tuple[str, date, int]  # buyer, day of purchase, value in minor units


def simulated(rng: random.Random, buyers: list[str]) -> list[Row]:
    """Purchases told by the BG/NBD's story: a Poisson rate while active, a dropout chance
    after each purchase, a spend of each customer's own mean (Gamma-Gamma)."""
    rows: list[Row] = []
    horizon = (DAY - START).days
    for buyer in buyers:
        weekly, dropout = rng.gammavariate(1.5, 1 / 3), rng.betavariate(1, 3)
        mean_rate = rng.gammavariate(4, 1 / 2_500)
        moment, bought = rng.uniform(0, 56), 0
        while moment <= horizon:
            spend = max(1, round(rng.gammavariate(6, 1 / mean_rate)))
            rows.append((buyer, START + timedelta(days=int(moment)), spend))
            bought += 1
            if bought > 1 and rng.random() < dropout:  # leaving follows a repeat purchase
                break
            moment += rng.expovariate(weekly) * 7
    return rows


SMALL_SHOP = [  # five customers, two of them back
    (0, 3, 4_000),
    (0, 40, 5_000),
    (0, 90, 4_500),
    (1, 10, 2_000),
    (2, 20, 9_000),
    (2, 150, 8_000),
    (3, 100, 3_000),
    (4, 170, 6_000),
]


@dataclass
class Market:
    """Shops, their owners and the purchases written into them."""

    owners: dict[str, ApiUser]  # by shop name
    shops: dict[str, str]  # shop id by name
    rows: dict[str, list[Row]]  # by shop name, as written
    written: list[tuple[str, Row]]  # every purchase, with its shop's name, as written


async def _buyers(uow: Any, count: int) -> list[str]:
    """Sign buyers up in one unit of work (they only need to exist)."""
    async with uow() as ctx:
        made = [
            await accounts.do_sign_up(
                ctx, f"{uuid.uuid4().hex[:10]}@example.com", PASSWORD, "Buyer", frozenset()
            )
            for _ in range(count)
        ]
    return [actor.id for actor in made]


async def _write(uow: Any, shop_id: str, rows: list[Row], serial: list[int]) -> None:
    """Write paid orders, at noon of their day; ids sort as written, so that the report
    reads the customers in the order the test lists them."""
    async with uow() as ctx:
        for buyer, day, value in rows:
            serial[0] += 1
            paid_at = datetime.combine(day, time(12), UTC)
            ctx.db.add(
                Order(
                    id=f"ord_{serial[0]:06d}",
                    buyer_id=buyer,
                    shop_id=shop_id,
                    status="paid",
                    currency="CNY",
                    total_minor=value,
                    checkout_key=uuid.uuid4().hex,
                    return_window_days=7,
                    created_at=paid_at,
                    expires_at=paid_at,
                    paid_at=paid_at,
                )
            )


async def _market(client: httpx.AsyncClient, uow: Any, *, big: int) -> Market:
    """A big shop of `big` simulated customers, a small shop of five and an empty shop."""
    market = Market({}, {}, {}, [])
    for name in ("big", "small", "empty"):
        owner = await make_seller(client)
        market.owners[name], market.shops[name] = owner, await make_shop(client, owner)
    buyers = await _buyers(uow, big + 5)
    big_rows = simulated(random.Random(3), buyers[:big])
    small_rows = [(buyers[big + i], START + timedelta(days=d), v) for i, d, v in SMALL_SHOP]
    serial = [0]
    for name, rows in (("big", big_rows), ("small", small_rows), ("empty", [])):
        market.rows[name] = sorted(rows, key=lambda row: row[1])  # by moment, as read
        market.written += [(name, row) for row in market.rows[name]]
        await _write(uow, market.shops[name], market.rows[name], serial)
    return market


async def _value(
    client: httpx.AsyncClient, market: Market, name: str, **params: Any
) -> dict[str, Any]:
    answer = await client.get(
        f"/api/analytics/shop/{market.shops[name]}/customers/value",
        params={"day": DAY.isoformat(), **params},
        headers=market.owners[name].headers,
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def test_a_shop_with_enough_customers_is_fitted_on_itself_as_clv_would(
    client: httpx.AsyncClient, uow: Any
) -> None:
    market = await _market(client, uow, big=60)
    body = await _value(client, market, "big", limit=200)

    histories = clv.summarize(market.rows["big"], DAY, UNIT)
    found = list(histories.values())
    bgnbd, gamma_gamma = fit_models(found)
    assert (body["fitted_on"], body["fit_customers"], body["customers"]) == ("shop", 60, 60)
    assert body["refusals"] == []
    assert body["bgnbd"]["r"] == pytest.approx(bgnbd.r, rel=1e-9)
    assert body["bgnbd"]["b"] == pytest.approx(bgnbd.b, rel=1e-9)
    assert body["gamma_gamma"]["q"] == pytest.approx(gamma_gamma.q, rel=1e-9)
    expected = clv.shop_value_minor(bgnbd, gamma_gamma, found, 12, unit=UNIT)
    assert body["value_12_months_minor"] == expected > 0

    x, t_x, age, _ = clv.columns(found)
    alive = dict(zip(histories, clv.p_alive(bgnbd, x, t_x, age), strict=True))
    values = dict(
        zip(histories, clv.customer_values(bgnbd, gamma_gamma, found, 12, unit=UNIT), strict=True)
    )
    items = body["items"]
    assert len(items) == 60
    assert [c["expected_value_minor"] for c in items] == sorted(
        (c["expected_value_minor"] for c in items), reverse=True
    )
    for item in items:
        history = histories[item["buyer_id"]]
        assert (item["x"], item["recency_weeks"], item["age_weeks"]) == (
            history.x,
            pytest.approx(history.t_x),
            pytest.approx(history.age),
        )
        assert item["p_alive"] == pytest.approx(alive[item["buyer_id"]], rel=1e-9)
        assert item["expected_value_minor"] == round(values[item["buyer_id"]])
    assert any(c["p_alive"] < 0.5 for c in items) and any(c["x"] == 0 for c in items)


async def test_a_small_shop_borrows_the_platforms_fit_and_an_empty_shop_answers(
    client: httpx.AsyncClient, uow: Any
) -> None:
    market = await _market(client, uow, big=60)
    small = await _value(client, market, "small")
    empty = await _value(client, market, "empty")

    # Every purchase by moment, then as written: the order the report reads them in.
    every = sorted(market.written, key=lambda named: named[1][1])
    platform = clv.summarize([(f"{n} {b}", day, v) for n, (b, day, v) in every], DAY, UNIT)
    bgnbd, gamma_gamma = fit_models(list(platform.values()))
    own = list(clv.summarize(market.rows["small"], DAY, UNIT).values())
    assert (small["fitted_on"], small["fit_customers"], small["customers"]) == ("platform", 65, 5)
    assert [r["on"] for r in small["refusals"]] == ["shop"]
    assert "at least 50 customers" in small["refusals"][0]["reason"]
    assert small["bgnbd"]["alpha"] == pytest.approx(bgnbd.alpha, rel=1e-6)
    expected = clv.shop_value_minor(bgnbd, gamma_gamma, own, 12, unit=UNIT)
    assert small["value_12_months_minor"] == pytest.approx(expected, abs=1)
    assert {c["x"] for c in small["items"]} == {0, 1, 2}
    assert all(c["p_alive"] is not None for c in small["items"])

    assert (empty["customers"], empty["items"], empty["value_12_months_minor"]) == (0, [], 0)
    assert empty["fitted_on"] is None


async def test_too_few_customers_even_on_the_platform_answer_the_histories_alone(
    client: httpx.AsyncClient, uow: Any
) -> None:
    market = await _market(client, uow, big=0)
    body = await _value(client, market, "small")

    assert (body["customers"], body["fitted_on"], body["fit_customers"]) == (5, None, None)
    assert [r["on"] for r in body["refusals"]] == ["shop", "platform"]
    assert body["bgnbd"] is None and body["gamma_gamma"] is None
    assert body["value_12_months_minor"] is None
    first = body["items"][0]  # the most repeat transactions first
    assert (first["x"], first["average_spend_minor"]) == (2, 4_750)
    assert first["recency_weeks"] == pytest.approx(87 / 7)
    assert all(c["p_alive"] is None and c["expected_value_minor"] is None for c in body["items"])


async def test_the_value_downloads_as_csv_for_its_owner_and_operators_only(
    client: httpx.AsyncClient, uow: Any
) -> None:
    market = await _market(client, uow, big=0)
    path = f"/api/analytics/shop/{market.shops['small']}/customers/value"
    params = {"day": DAY.isoformat()}
    stranger = await sign_up(client, Role.SELLER)
    operator = await make_operator(client, uow)

    download = await client.get(
        path, params={**params, "format": "csv", "limit": 1}, headers=market.owners["small"].headers
    )
    assert download.status_code == 200, download.text
    assert download.headers["content-type"].startswith("text/csv")
    assert "attachment" in download.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(download.text)))
    assert len(rows) == 5  # every customer, whatever the page
    assert list(rows[0]) == [
        "buyer_id",
        "x",
        "recency_weeks",
        "age_weeks",
        "average_spend_minor",
        "p_alive",
        "expected_purchases_12_months",
        "expected_value_minor",
    ]
    assert rows[0]["p_alive"] == ""  # no fit: an empty cell where JSON has null
    read = await client.get(path, params=params, headers=operator.headers)
    assert read.status_code == 200, read.text
    refused = await client.get(path, params=params, headers=stranger.headers)
    assert (refused.status_code, refused.json()["code"]) == (404, "not_found")
    unknown = await client.get(
        f"/api/analytics/shop/{uuid.uuid4().hex}/customers/value",
        params=params,
        headers=operator.headers,
    )
    assert unknown.status_code == 404
    odd = await client.get(path, params={"day": "someday"}, headers=operator.headers)
    assert (odd.status_code, odd.json()["code"]) == (422, "invalid_input")
