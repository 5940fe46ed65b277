"""Brushing flags through the API: found, queued for operators, and once confirmed the
orders stop counting and the shop gets penalty points; dismissed, nothing changes."""

from __future__ import annotations

from typing import Any

import httpx

from laotie.accounts.permissions import Role
from laotie.core.fingerprint import DEVICE_HEADER
from laotie.core.ratelimit import RateLimiter
from laotie.trust import flags
from laotie.trust.jobs import detect_brushing_daily
from tests.factories import ApiUser, sign_up
from tests.orders.world import World, make_world, pay
from tests.trust.test_penalties import _operator

FIVE = {"product_stars": 5, "logistics_stars": 5, "service_stars": 5}


async def _brush(client: httpx.AsyncClient, world: World, buyer: ApiUser) -> str:
    """One fake order: bought from the ring's phone, shipped, confirmed at once, five stars."""
    placed = await client.post(
        "/api/orders",
        json={"lines": [{"sku_id": world.sku_ids[0], "quantity": 1}]},
        headers={**buyer.headers, DEVICE_HEADER: "ring-phone-01", "Idempotency-Key": buyer.id},
    )
    order_id = str(placed.json()["orders"][0]["id"])
    await pay(client, buyer, [order_id])
    shipping = {"carrier": "SF", "tracking_no": "SF0"}
    await client.post(
        f"/api/orders/{order_id}/shipment", json=shipping, headers=world.seller.headers
    )
    await client.post(f"/api/orders/{order_id}/receipt", headers=buyer.headers)
    detail = (await client.get(f"/api/orders/{order_id}", headers=buyer.headers)).json()
    reviewed = await client.post(
        f"/api/orders/{order_id}/reviews",
        json={"line_id": detail["lines"][0]["id"], **FIVE, "text": "great"},
        headers=buyer.headers,
    )
    assert reviewed.status_code == 201, reviewed.text
    return order_id


async def test_a_ring_is_flagged_and_once_confirmed_its_orders_stop_counting(
    client: httpx.AsyncClient, uow: Any, app: Any
) -> None:
    app.state.sign_in_limiter = RateLimiter(10_000, 60.0)
    world = await make_world(client, uow, stocks=(50, 50))
    operator = await _operator(client, uow)
    ring = [await sign_up(client, Role.BUYER, name=f"Ring {i}") for i in range(4)]
    fake = {await _brush(client, world, buyer) for buyer in ring}
    trust_before = (await client.get(f"/api/shops/{world.shop_id}/trust")).json()
    reviews_counted = next(d for d in trust_before["dimensions"] if d["dimension"] == "product")
    assert reviews_counted["count"] == 4

    assert await detect_brushing_daily(app.state) == 4
    assert await detect_brushing_daily(app.state) == 0  # once a day
    async with uow() as ctx:
        assert await flags.run_detection(ctx) == 0  # and nothing twice
    queue = await client.get("/api/operator/brushing-flags", headers=operator.headers)
    (flag,) = queue.json()
    assert (flag["shop_id"], set(flag["order_ids"]), set(flag["buyer_ids"])) == (
        world.shop_id,
        fake,
        {buyer.id for buyer in ring},
    )
    assert set(flag["signals"]) == {"shared_fingerprint", "instant_five_stars"}
    shared = {finding["fingerprint"] for finding in flag["signals"]["shared_fingerprint"]}
    assert shared == {"device", "address"}  # the test buyers all ship to one address
    refused = await client.get("/api/operator/brushing-flags", headers=world.seller.headers)
    assert refused.status_code == 403

    decide = f"/api/operator/brushing-flags/{flag['id']}/decision"
    confirmed = await client.post(
        decide, json={"confirm": True, "note": "one phone"}, headers=operator.headers
    )
    assert confirmed.json()["status"] == "confirmed", confirmed.text
    again = await client.post(decide, json={"confirm": False}, headers=operator.headers)
    assert (again.status_code, again.json()["code"]) == (409, "flag_decided")

    after = (await client.get(f"/api/shops/{world.shop_id}/trust")).json()
    counted = {d["dimension"]: d["count"] for d in after["dimensions"]}
    assert (counted["product"], counted["logistics"], after["buyers"]) == (0, 0, 0)
    seen = await client.get(f"/api/shops/{world.shop_id}/penalties", headers=world.seller.headers)
    (violation,) = seen.json()["violations"]
    assert (violation["kind"], violation["points"]) == ("fake_engagement", 12)
    trail = await client.get(
        "/api/operator/trust-audit", params={"shop_id": world.shop_id}, headers=operator.headers
    )
    actions = [e["action"] for e in trail.json()]
    assert actions.count("flag_raised") == 3 and "flag_confirmed" in actions  # three findings


async def test_a_dismissed_flag_changes_nothing(
    client: httpx.AsyncClient, uow: Any, app: Any
) -> None:
    app.state.sign_in_limiter = RateLimiter(10_000, 60.0)
    world = await make_world(client, uow, stocks=(50, 50))
    operator = await _operator(client, uow)
    for i in range(3):
        await _brush(client, world, await sign_up(client, Role.BUYER, name=f"Fan {i}"))
    async with uow() as ctx:
        assert await flags.run_detection(ctx) == 3
    (flag,) = (await client.get("/api/operator/brushing-flags", headers=operator.headers)).json()
    dismissed = await client.post(
        f"/api/operator/brushing-flags/{flag['id']}/decision",
        json={"confirm": False, "note": "a family"},
        headers=operator.headers,
    )
    assert dismissed.json()["status"] == "dismissed"
    after = (await client.get(f"/api/shops/{world.shop_id}/trust")).json()
    assert next(d for d in after["dimensions"] if d["dimension"] == "product")["count"] == 3
    seen = await client.get(f"/api/shops/{world.shop_id}/penalties", headers=world.seller.headers)
    assert seen.json()["points"] == 0
    async with uow() as ctx:
        assert await flags.run_detection(ctx) == 0  # dismissed orders are not raised again
