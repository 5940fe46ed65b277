"""Anyone can recompute a shop's score from the API's payload alone, with the published formula.

This test holds its own implementation of docs/trust.md and imports no trust code.
"""

from __future__ import annotations

from typing import Any

import httpx

from laotie.accounts.permissions import Role
from laotie.core.ratelimit import RateLimiter
from tests.factories import sign_up
from tests.orders.world import buy_and_pay, make_world


def recompute(payload: dict[str, Any]) -> float:
    """The published formula, from the payload's inputs and constants."""
    formula = payload["formula"]
    if payload["buyers"] < formula["new_shop_buyers"]:
        return float(formula["prior"])
    prior, m = formula["prior"], formula["prior_weight"]
    total = sum(
        d["weight_in_score"] * (d["weighted_sum"] + prior * m) / (d["weight"] + m)
        for d in payload["dimensions"]
    )
    return round(min(max(total, formula["lowest"]), formula["highest"]), 2)


async def test_the_score_is_recomputed_from_its_payload(
    client: httpx.AsyncClient, uow: Any, app: Any
) -> None:
    app.state.sign_in_limiter = RateLimiter(10_000, 60.0)  # a dozen buyers sign in at once
    world = await make_world(client, uow, stocks=(50, 50))
    new = (await client.get(f"/api/shops/{world.shop_id}/trust")).json()
    assert (new["new"], new["tier"], new["score"]) == (True, "new", recompute(new))
    buyers = [world.buyer]
    buyers += [await sign_up(client, Role.BUYER, name=f"B{i}") for i in range(10)]
    for buyer in buyers:
        await buy_and_pay(client, buyer, [(world.sku_ids[0], 1)])
    order_id = await buy_and_pay(client, world.buyer, [(world.sku_ids[1], 1)])
    await client.post(
        f"/api/orders/{order_id}/shipment",
        json={"carrier": "SF", "tracking_no": "SF9"},
        headers=world.seller.headers,
    )
    await client.post(f"/api/orders/{order_id}/receipt", headers=world.buyer.headers)
    placed = (await client.get(f"/api/orders/{order_id}", headers=world.buyer.headers)).json()
    stars = {"product_stars": 1, "logistics_stars": 2, "service_stars": 1}
    reviewed = await client.post(
        f"/api/orders/{order_id}/reviews",
        json={"line_id": placed["lines"][0]["id"], **stars},
        headers=world.buyer.headers,
    )
    assert reviewed.status_code == 201, reviewed.text
    scored = (await client.get(f"/api/shops/{world.shop_id}/trust")).json()
    assert scored["new"] is False and scored["buyers"] == 11
    assert scored["score"] == recompute(scored)
    dims = {d["dimension"]: d for d in scored["dimensions"]}
    assert dims["product"]["count"] == 1  # the review
    assert dims["logistics"]["count"] == 2  # the review and the shipment
    assert scored["score"] < scored["formula"]["prior"]  # bad news lowers it


async def test_an_unknown_shop_has_no_score(client: httpx.AsyncClient) -> None:
    answer = await client.get("/api/shops/shp_missing/trust")
    assert (answer.status_code, answer.json()["code"]) == (404, "not_found")
