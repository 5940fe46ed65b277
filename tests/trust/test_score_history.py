"""The daily job scores every shop once a day and keeps the history the seller's chart draws."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from laotie.core.clock import FrozenClock
from laotie.trust.jobs import score_shops_daily
from tests.orders.world import make_world


async def test_each_shop_is_scored_once_a_day_and_its_history_kept(
    client: httpx.AsyncClient, uow: Any, app: Any, clock: FrozenClock
) -> None:
    world = await make_world(client, uow)
    assert await score_shops_daily(app.state) == 1
    assert await score_shops_daily(app.state) == 0  # scored today already
    clock.advance(timedelta(days=1))
    assert await score_shops_daily(app.state) == 1
    history = await client.get(f"/api/shops/{world.shop_id}/trust/history")
    days = history.json()
    assert [d["score"] for d in days] == [4.5, 4.5]
    assert days[0]["day"] < days[1]["day"]
    assert {d["tier"] for d in days} == {"new"}
    assert {d["formula_version"] for d in days} == {"shop-score-1"}
    short = await client.get(f"/api/shops/{world.shop_id}/trust/history", params={"days": 1})
    assert len(short.json()) == 1


async def test_an_unknown_shop_has_no_history(client: httpx.AsyncClient) -> None:
    answer = await client.get("/api/shops/shp_missing/trust/history")
    assert answer.status_code == 404
