"""Sellers withdraw their released balance; the balance never goes below zero."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx

from laotie.core.clock import FrozenClock
from laotie.orders import ledger
from laotie.orders.jobs import complete_orders
from tests.orders.world import World, buy_and_pay, make_world

FEE_BPS = 500


async def _released(app: Any, client: httpx.AsyncClient, uow: Any, clock: FrozenClock) -> World:
    """A world whose shop has one completed order, its money released."""
    world = await make_world(client, uow)
    order_id = await buy_and_pay(client, world.buyer, [(world.sku_ids[0], 1)])
    await client.post(
        f"/api/orders/{order_id}/shipment",
        json={"carrier": "SF", "tracking_no": "SF123"},
        headers=world.seller.headers,
    )
    await client.post(f"/api/orders/{order_id}/receipt", headers=world.buyer.headers)
    clock.advance(timedelta(days=7, minutes=1))
    assert await complete_orders(app.state) == 1
    return world


async def _balance(client: httpx.AsyncClient, world: World) -> int:
    answer = await client.get(f"/api/shops/{world.shop_id}/balance", headers=world.seller.headers)
    return int(answer.json()["released_minor"])


async def _set_account(client: httpx.AsyncClient, world: World, account_no: str) -> None:
    answer = await client.put(
        f"/api/shops/{world.shop_id}/payout-account",
        json={"holder_name": "Seller Ltd", "account_no": account_no},
        headers=world.seller.headers,
    )
    assert answer.status_code == 200, answer.text


async def _books_balance(uow: Any) -> None:
    async with uow() as ctx:
        assert await ledger.trial_balance(ctx) == 0
        assert await ledger.unbalanced_transactions(ctx) == []


async def test_a_seller_withdraws_its_released_balance_and_the_sandbox_pays_it(
    app: Any, client: httpx.AsyncClient, uow: Any, clock: FrozenClock
) -> None:
    world = await _released(app, client, uow, clock)
    released = world.prices[0] - world.prices[0] * FEE_BPS // 10_000
    assert await _balance(client, world) == released
    missing = await client.post(
        f"/api/shops/{world.shop_id}/payouts",
        json={"amount_minor": 100},
        headers=world.seller.headers,
    )
    assert missing.status_code == 409 and missing.json()["code"] == "payout_account_missing"
    await _set_account(client, world, "6222-0000-1111")
    asked = await client.post(
        f"/api/shops/{world.shop_id}/payouts",
        json={"amount_minor": 5_000},
        headers=world.seller.headers,
    )
    assert asked.status_code == 201, asked.text
    [payout] = (
        await client.get(f"/api/shops/{world.shop_id}/payouts", headers=world.seller.headers)
    ).json()
    assert payout["status"] == "paid" and payout["account_no"] == "6222-0000-1111"
    assert await _balance(client, world) == released - 5_000
    too_much = await client.post(
        f"/api/shops/{world.shop_id}/payouts",
        json={"amount_minor": released},
        headers=world.seller.headers,
    )
    assert too_much.status_code == 409 and too_much.json()["code"] == "balance_too_low"
    others = await client.get(f"/api/shops/{world.shop_id}/payouts", headers=world.buyer.headers)
    assert others.status_code == 404
    async with uow() as ctx:
        assert await ledger.balance(ctx, ledger.PAYOUTS_IN_TRANSIT) == 0
    await _books_balance(uow)


async def test_a_failed_payout_gives_the_money_back(
    app: Any, client: httpx.AsyncClient, uow: Any, clock: FrozenClock
) -> None:
    world = await _released(app, client, uow, clock)
    before = await _balance(client, world)
    await _set_account(client, world, "fail-0001")
    asked = await client.post(
        f"/api/shops/{world.shop_id}/payouts",
        json={"amount_minor": 3_000},
        headers=world.seller.headers,
    )
    assert asked.status_code == 201
    [payout] = (
        await client.get(f"/api/shops/{world.shop_id}/payouts", headers=world.seller.headers)
    ).json()
    assert payout["status"] == "failed" and payout["failure_reason"]
    assert await _balance(client, world) == before
    await _books_balance(uow)


async def test_concurrent_payouts_never_overdraw_the_balance(
    app: Any, client: httpx.AsyncClient, uow: Any, clock: FrozenClock
) -> None:
    world = await _released(app, client, uow, clock)
    await _set_account(client, world, "6222-0000-2222")
    released = await _balance(client, world)
    each = released // 2 - 1  # two fit, a third does not

    async def ask() -> int:
        answer = await client.post(
            f"/api/shops/{world.shop_id}/payouts",
            json={"amount_minor": each},
            headers=world.seller.headers,
        )
        return answer.status_code

    statuses = await asyncio.gather(*(ask() for _ in range(6)))
    assert sorted(statuses) == [201, 201, 409, 409, 409, 409]
    assert await _balance(client, world) == released - 2 * each
    assert await _balance(client, world) >= 0
    await _books_balance(uow)
