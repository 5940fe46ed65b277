"""The largest price and quantity the API allows fit every money and counter column."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from laotie.catalog.schemas import MAX_PRICE_MINOR
from laotie.core.clock import FrozenClock
from laotie.orders import ledger
from laotie.orders.jobs import complete_orders
from laotie.orders.schemas import MAX_QUANTITY
from laotie.settings import Settings
from tests.orders.world import buy_and_pay, make_world, order


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Allow the hard ceiling of units per line, not only the default limit."""
    return settings.model_copy(update={"max_quantity_per_line": MAX_QUANTITY})


async def test_the_largest_price_times_the_largest_quantity_is_bought_paid_and_released(
    client: httpx.AsyncClient, uow: Any, app: Any, clock: FrozenClock
) -> None:
    world = await make_world(client, uow, stocks=(MAX_QUANTITY,), prices=(MAX_PRICE_MINOR,))
    total = MAX_PRICE_MINOR * MAX_QUANTITY
    assert total > 2**31  # the 32-bit columns overflowed here on PostgreSQL
    order_id = await buy_and_pay(client, world.buyer, [(world.sku_ids[0], MAX_QUANTITY)])
    paid = await order(client, world.buyer, order_id)
    assert paid["status"] == "paid"
    assert paid["total_minor"] == total
    shipped = await client.post(
        f"/api/orders/{order_id}/shipment",
        json={"carrier": "SF", "tracking_no": "SF123"},
        headers=world.seller.headers,
    )
    assert shipped.status_code == 200, shipped.text
    await client.post(f"/api/orders/{order_id}/receipt", headers=world.buyer.headers)
    clock.advance(timedelta(days=8))  # past the return window, within the tokens' lifetime
    assert await complete_orders(app.state) == 1
    fee = (total * 500 + 5000) // 10_000
    balance = (
        await client.get(f"/api/shops/{world.shop_id}/balance", headers=world.seller.headers)
    ).json()
    assert balance["released_minor"] == total - fee
    async with uow() as ctx:
        assert await ledger.trial_balance(ctx) == 0
