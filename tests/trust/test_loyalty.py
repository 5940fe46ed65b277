"""Loyalty: repurchase ranked within the main category, read by the score."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from laotie.accounts.permissions import Role
from laotie.core.clock import FrozenClock
from laotie.trust import loyalty, score
from laotie.trust.jobs import rank_loyalty_daily
from laotie.trust.loyalty import loyalty_value, main_category, percentiles
from tests.factories import sign_up
from tests.orders.world import buy_and_pay, make_shop_with_skus, make_world


def test_percentiles_rank_from_zero_to_one_and_ties_share_the_middle() -> None:
    assert percentiles({"a": 0.1, "b": 0.3, "c": 0.5}) == {"a": 0.0, "b": 0.5, "c": 1.0}
    assert percentiles({"a": 0.2, "b": 0.2, "c": 0.4}) == {"a": 0.25, "b": 0.25, "c": 1.0}
    assert percentiles({"alone": 0.9}) == {}  # nobody to be ranked against


def test_the_main_category_holds_the_most_gmv_and_the_median_shop_observes_the_prior() -> None:
    assert main_category({"tea": 500, "jade": 9_000}) == "jade"
    assert main_category({"tea": 500, "jade": 500}) == "jade"
    assert main_category({}) is None
    assert loyalty_value(0.5) == score.PRIOR
    assert (loyalty_value(0.0), loyalty_value(1.0)) == (4.0, 5.0)


async def test_shops_are_ranked_in_their_category_and_the_score_reads_the_rank(
    client: httpx.AsyncClient,
    uow: Any,
    app: Any,
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(loyalty, "MIN_BUYERS", 2)
    world = await make_world(client, uow, stocks=(50, 50))
    other_seller = await sign_up(client, Role.SELLER, name="Other seller")
    rival, rival_skus = await make_shop_with_skus(uow, other_seller.id, (50,), (12_900,))
    small, small_skus = await make_shop_with_skus(uow, other_seller.id, (50,), (12_900,))
    buyers = [world.buyer, world.other_buyer]
    for buyer in buyers:  # both come back to the world's shop, neither to its rival
        await buy_and_pay(client, buyer, [(world.sku_ids[0], 1)])
        await buy_and_pay(client, buyer, [(rival_skus[0], 1)])
    clock.advance(timedelta(days=3))
    for buyer in buyers:
        await buy_and_pay(client, buyer, [(world.sku_ids[0], 1)])
    await buy_and_pay(client, world.buyer, [(small_skus[0], 1)])

    assert await rank_loyalty_daily(app.state) == 3
    assert await rank_loyalty_daily(app.state) == 0  # once a day
    loyal = (await client.get(f"/api/shops/{world.shop_id}/trust")).json()
    assert loyal["loyalty"] | {"day": None} == {
        "day": None,
        "category_slug": "apparel",
        "buyers": 2,
        "repeat_buyers": 2,
        "rate": 1.0,
        "peers": 2,
        "percentile": 1.0,
    }
    dimension = next(d for d in loyal["dimensions"] if d["dimension"] == "loyalty")
    assert (dimension["count"], dimension["weight"]) == (1, pytest.approx(2.0))
    assert dimension["value"] == pytest.approx((2 * 5.0 + score.PRIOR * score.PRIOR_WEIGHT) / 22)
    unloyal = (await client.get(f"/api/shops/{rival}/trust")).json()
    assert unloyal["loyalty"]["percentile"] == 0.0
    lonely = (await client.get(f"/api/shops/{small}/trust")).json()
    assert (lonely["loyalty"]["percentile"], lonely["loyalty"]["peers"]) == (None, 0)
    assert next(d for d in lonely["dimensions"] if d["dimension"] == "loyalty")["count"] == 0

    clock.advance(timedelta(days=loyalty.STALE_DAYS))
    assert (await client.get(f"/api/shops/{world.shop_id}/trust")).json()["loyalty"] is None
