"""Checkout: reservation, idempotency, limits, expiry, and the statement budget."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest

from laotie.bench.checkout import count_statements
from laotie.core.clock import FrozenClock
from laotie.orders.jobs import expire_unpaid_orders
from tests.conftest import BACKEND, POSTGRES_URL, _pg_execute
from tests.orders.world import buy, make_world, order, sku_units


async def test_buy_now_reserves_stock_and_makes_a_pending_order(
    client: httpx.AsyncClient, uow: Any
) -> None:
    world = await make_world(client, uow)
    placed = await buy(client, world.buyer, [(world.sku_ids[0], 2)])
    assert placed.status_code == 201, placed.text
    (made,) = placed.json()["orders"]
    assert made["status"] == "pending_payment"
    assert made["total_minor"] == 2 * world.prices[0]
    assert made["channel"] == "shelf"
    assert made["lines"][0]["quantity"] == 2
    assert await sku_units(uow, world.sku_ids[0]) == {
        "stock": 8,
        "reserved": 2,
        "sold": 0,
        "returned": 0,
    }


async def test_same_key_gives_the_same_order_and_one_reservation(
    client: httpx.AsyncClient, uow: Any
) -> None:
    world = await make_world(client, uow)
    first = await buy(client, world.buyer, [(world.sku_ids[0], 1)], key="key-0000001")
    again = await buy(client, world.buyer, [(world.sku_ids[0], 1)], key="key-0000001")
    assert again.status_code == 201
    assert again.json()["replayed"] is True
    assert again.json()["orders"][0]["id"] == first.json()["orders"][0]["id"]
    assert (await sku_units(uow, world.sku_ids[0]))["reserved"] == 1


async def test_same_key_with_a_different_request_is_refused(
    client: httpx.AsyncClient, uow: Any
) -> None:
    world = await make_world(client, uow)
    await buy(client, world.buyer, [(world.sku_ids[0], 1)], key="key-0000002")
    other = await buy(client, world.buyer, [(world.sku_ids[0], 2)], key="key-0000002")
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"


async def test_missing_idempotency_key_is_refused(client: httpx.AsyncClient, uow: Any) -> None:
    world = await make_world(client, uow)
    answer = await client.post(
        "/api/orders",
        json={"lines": [{"sku_id": world.sku_ids[0], "quantity": 1}]},
        headers=world.buyer.headers,
    )
    assert answer.status_code == 400
    assert answer.json()["code"] == "idempotency_key_missing"


@pytest.mark.parametrize("key", ["short", "k" * 81, "tab\tin-the-key"])
async def test_a_key_of_the_wrong_shape_has_its_own_code(
    client: httpx.AsyncClient, uow: Any, key: str
) -> None:
    world = await make_world(client, uow)
    answer = await client.post(
        "/api/orders",
        json={"lines": [{"sku_id": world.sku_ids[0], "quantity": 1}]},
        headers={**world.buyer.headers, "Idempotency-Key": key},
    )
    assert (answer.status_code, answer.json()["code"]) == (400, "idempotency_key_invalid")
    assert (await sku_units(uow, world.sku_ids[0]))["reserved"] == 0


async def test_out_of_stock_leaves_nothing_behind(client: httpx.AsyncClient, uow: Any) -> None:
    world = await make_world(client, uow, stocks=(10, 1))
    answer = await buy(client, world.buyer, [(world.sku_ids[0], 3), (world.sku_ids[1], 2)])
    assert answer.status_code == 409
    assert answer.json()["code"] == "out_of_stock"
    # The first line's reservation was rolled back with the rest.
    assert (await sku_units(uow, world.sku_ids[0]))["stock"] == 10
    listing = await client.get("/api/orders", headers=world.buyer.headers)
    assert listing.json() == []


async def test_unknown_sku_and_bad_quantities_are_refused(
    client: httpx.AsyncClient, uow: Any
) -> None:
    world = await make_world(client, uow)
    assert (await buy(client, world.buyer, [("sku_nope", 1)])).json()["code"] == "sku_not_found"
    zero = await buy(client, world.buyer, [(world.sku_ids[0], 0)])
    assert zero.status_code == 422
    huge = await buy(client, world.buyer, [(world.sku_ids[0], 500)])
    assert huge.json()["code"] == "quantity_invalid"


async def test_per_buyer_limit_counts_earlier_orders(client: httpx.AsyncClient, uow: Any) -> None:
    world = await make_world(client, uow, per_buyer_limit=2)
    assert (await buy(client, world.buyer, [(world.sku_ids[0], 2)])).status_code == 201
    third = await buy(client, world.buyer, [(world.sku_ids[0], 1)])
    assert third.status_code == 409
    assert third.json()["code"] == "per_buyer_limit"
    assert (await buy(client, world.other_buyer, [(world.sku_ids[0], 2)])).status_code == 201


async def test_cart_checkout_makes_one_order_per_shop(client: httpx.AsyncClient, uow: Any) -> None:
    from tests.orders.world import make_shop_with_skus

    world = await make_world(client, uow)
    _, other_skus = await make_shop_with_skus(uow, world.seller.id, (3,), (999,))
    for sku_id, quantity in ((world.sku_ids[0], 1), (world.sku_ids[1], 2), (other_skus[0], 1)):
        put = await client.put(
            f"/api/cart/items/{sku_id}", json={"quantity": quantity}, headers=world.buyer.headers
        )
        assert put.status_code == 200, put.text
    headers = {**world.buyer.headers, "Idempotency-Key": "cart-checkout-1"}
    done = await client.post("/api/cart/checkout", headers=headers)
    assert done.status_code == 201, done.text
    orders = done.json()["orders"]
    assert sorted(len(o["lines"]) for o in orders) == [1, 2]
    assert (await client.get("/api/cart", headers=world.buyer.headers)).json() == []
    retried = await client.post("/api/cart/checkout", headers=headers)
    assert {o["id"] for o in retried.json()["orders"]} == {o["id"] for o in orders}


async def test_unpaid_orders_expire_and_give_stock_back(
    client: httpx.AsyncClient, uow: Any, app: Any, clock: FrozenClock
) -> None:
    world = await make_world(client, uow)
    placed = await buy(client, world.buyer, [(world.sku_ids[0], 4)])
    order_id = placed.json()["orders"][0]["id"]
    assert await expire_unpaid_orders(app.state) == 0
    clock.advance(timedelta(minutes=16))
    assert await expire_unpaid_orders(app.state) == 1
    assert (await order(client, world.buyer, order_id))["status"] == "cancelled"
    assert await sku_units(uow, world.sku_ids[0]) == {
        "stock": 10,
        "reserved": 0,
        "sold": 0,
        "returned": 0,
    }


async def test_buyer_cancels_an_unpaid_order(client: httpx.AsyncClient, uow: Any) -> None:
    world = await make_world(client, uow)
    order_id = (await buy(client, world.buyer, [(world.sku_ids[1], 1)])).json()["orders"][0]["id"]
    refused = await client.post(
        f"/api/orders/{order_id}/cancellation", headers=world.other_buyer.headers
    )
    assert refused.status_code == 404
    done = await client.post(f"/api/orders/{order_id}/cancellation", headers=world.buyer.headers)
    assert done.json()["status"] == "cancelled"
    again = await client.post(f"/api/orders/{order_id}/cancellation", headers=world.buyer.headers)
    assert again.json()["code"] == "invalid_state"


async def test_concurrent_buyers_never_oversell(client: httpx.AsyncClient, uow: Any) -> None:
    world = await make_world(client, uow, stocks=(5, 1))
    answers = await asyncio.gather(
        *(buy(client, world.buyer, [(world.sku_ids[0], 1)]) for _ in range(12))
    )
    codes = sorted(answer.status_code for answer in answers)
    assert codes.count(201) == 5
    assert codes.count(409) == 7
    assert await sku_units(uow, world.sku_ids[0]) == {
        "stock": 0,
        "reserved": 5,
        "sold": 0,
        "returned": 0,
    }


async def test_buy_now_stays_within_the_statement_budget(
    client: httpx.AsyncClient, uow: Any, app: Any
) -> None:
    world = await make_world(client, uow, per_buyer_limit=5)
    with app.state.database.counter.counting() as statements:
        placed = await buy(client, world.buyer, [(world.sku_ids[0], 1)])
    assert placed.status_code == 201
    assert placed.json()["orders"][0]["ship_to"]["city"] == "杭州市"
    # The SKUs, the key's use, the address and the shop's freight template: one read.
    assert len(statements) <= 9, "\n".join(statements)


async def test_a_paid_order_stays_within_the_statement_budget() -> None:
    # Buy now, open the payment, pay on the sandbox's page, its webhook and its delivery.
    if BACKEND == "sqlite":
        counted = await count_statements()
    else:
        name = f"laotie_count_{uuid.uuid4().hex[:10]}"
        await _pg_execute(POSTGRES_URL, f"CREATE DATABASE {name}")
        try:
            counted = await count_statements(POSTGRES_URL.rsplit("/", 1)[0] + "/" + name)
        finally:
            await _pg_execute(POSTGRES_URL, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    assert counted["place_order"] <= 5
    assert counted["place_and_pay"] <= 16
