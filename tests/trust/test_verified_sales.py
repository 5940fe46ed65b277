"""Verified sales count only units delivered, past the return window, and not refunded."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from laotie.core.clock import FrozenClock
from laotie.orders.jobs import complete_orders
from tests.factories import sign_in
from tests.orders.world import World, buy_and_pay, make_world


async def _delivered(client: httpx.AsyncClient, world: World, sku_id: str, units: int) -> str:
    order_id = await buy_and_pay(client, world.buyer, [(sku_id, units)])
    await client.post(
        f"/api/orders/{order_id}/shipment",
        json={"carrier": "SF", "tracking_no": "SF2"},
        headers=world.seller.headers,
    )
    await client.post(f"/api/orders/{order_id}/receipt", headers=world.buyer.headers)
    return order_id


async def test_only_completed_units_are_verified_sales(
    client: httpx.AsyncClient, uow: Any, app: Any, clock: FrozenClock
) -> None:
    world = await make_world(client, uow, stocks=(20, 20))
    first, second = world.sku_ids
    completed = await _delivered(client, world, first, 3)
    await buy_and_pay(client, world.buyer, [(second, 2)])  # paid, never shipped
    trust = (await client.get(f"/api/shops/{world.shop_id}/trust")).json()
    assert trust["verified_sales"] == 0  # delivered, but the return window is open
    clock.advance(timedelta(days=8))
    world.buyer.token = await sign_in(client, world.buyer.email)
    assert await complete_orders(app.state) == 1
    late = await _delivered(client, world, second, 1)  # delivered after, window still open
    assert late
    trust = (await client.get(f"/api/shops/{world.shop_id}/trust")).json()
    assert trust["verified_sales"] == 3
    placed = (await client.get(f"/api/orders/{completed}", headers=world.buyer.headers)).json()
    product_id = placed["lines"][0]["product_id"]
    sales = (await client.get(f"/api/products/{product_id}/verified-sales")).json()
    assert sales == {"product_id": product_id, "units": 3, "skus": {first: 3, second: 0}}


async def test_an_unknown_product_has_no_verified_sales(client: httpx.AsyncClient) -> None:
    answer = await client.get("/api/products/prd_missing/verified-sales")
    assert answer.status_code == 404
