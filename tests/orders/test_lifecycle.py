"""Payment, webhooks, shipping, delivery, completion and the ledger, through the API."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import httpx

from laotie.core.clock import FrozenClock
from laotie.orders import ledger
from laotie.orders.jobs import auto_deliver_orders, complete_orders, expire_unpaid_orders
from laotie.orders.payments import sign
from tests.orders.world import buy, buy_and_pay, make_world, order, pay, sku_units


async def _books_balance(uow: Any) -> None:
    async with uow() as ctx:
        assert await ledger.trial_balance(ctx) == 0
        assert await ledger.unbalanced_transactions(ctx) == []


async def test_paying_on_the_sandbox_marks_the_order_paid_and_sells_the_units(
    client: httpx.AsyncClient, uow: Any
) -> None:
    world = await make_world(client, uow)
    order_id = await buy_and_pay(client, world.buyer, [(world.sku_ids[0], 2)])
    paid = await order(client, world.buyer, order_id)
    assert paid["status"] == "paid"
    assert paid["ship_by"] is not None
    assert await sku_units(uow, world.sku_ids[0]) == {
        "stock": 8,
        "reserved": 0,
        "sold": 2,
        "returned": 0,
    }
    async with uow() as ctx:
        assert await ledger.balance(ctx, "escrow") == -2 * world.prices[0]
    await _books_balance(uow)


async def test_declined_payment_leaves_the_order_unpaid(
    client: httpx.AsyncClient, uow: Any
) -> None:
    world = await make_world(client, uow)
    order_id = (await buy(client, world.buyer, [(world.sku_ids[0], 1)])).json()["orders"][0]["id"]
    payment_id = await pay(client, world.buyer, [order_id], approve=False)
    assert (await order(client, world.buyer, order_id))["status"] == "pending_payment"
    payment = await client.get(f"/api/payments/{payment_id}", headers=world.buyer.headers)
    assert payment.json()["status"] == "failed"


def _webhook(
    payment: dict[str, Any], event_id: str, secret: str, when: int
) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(
        {
            "id": event_id,
            "type": "payment.succeeded",
            "payment_id": payment["id"],
            "amount_minor": payment["amount_minor"],
            "currency": payment["currency"],
        }
    ).encode()
    return body, {
        "x-laotie-signature": sign(secret, when, body),
        "content-type": "application/json",
    }


async def test_bad_signature_is_rejected_and_changes_nothing(
    client: httpx.AsyncClient, uow: Any, clock: FrozenClock
) -> None:
    world = await make_world(client, uow)
    order_id = (await buy(client, world.buyer, [(world.sku_ids[0], 1)])).json()["orders"][0]["id"]
    payment = (
        await client.post(
            "/api/payments", json={"order_ids": [order_id]}, headers=world.buyer.headers
        )
    ).json()
    body, headers = _webhook(payment, "evt_forged", "not-the-secret", int(clock.now().timestamp()))
    answer = await client.post("/api/payments/webhooks/sandbox", content=body, headers=headers)
    assert answer.status_code == 400
    assert answer.json()["code"] == "bad_signature"
    stale_body, stale = _webhook(
        payment, "evt_old", "test-webhook-secret", int(clock.now().timestamp()) - 3600
    )
    assert (
        await client.post("/api/payments/webhooks/sandbox", content=stale_body, headers=stale)
    ).status_code == 400
    assert (await order(client, world.buyer, order_id))["status"] == "pending_payment"


async def test_replayed_webhook_takes_effect_once(
    client: httpx.AsyncClient, uow: Any, clock: FrozenClock
) -> None:
    world = await make_world(client, uow)
    order_id = (await buy(client, world.buyer, [(world.sku_ids[0], 1)])).json()["orders"][0]["id"]
    payment = (
        await client.post(
            "/api/payments", json={"order_ids": [order_id]}, headers=world.buyer.headers
        )
    ).json()
    body, headers = _webhook(
        payment, "evt_once", "test-webhook-secret", int(clock.now().timestamp())
    )
    first = await client.post("/api/payments/webhooks/sandbox", content=body, headers=headers)
    second = await client.post("/api/payments/webhooks/sandbox", content=body, headers=headers)
    assert first.json() == {"result": "paid"}
    assert second.json() == {"result": "duplicate"}
    async with uow() as ctx:
        assert await ledger.balance(ctx, "escrow") == -world.prices[0]
    assert (await sku_units(uow, world.sku_ids[0]))["sold"] == 1


async def test_payment_after_expiry_is_refunded(
    client: httpx.AsyncClient, uow: Any, app: Any, clock: FrozenClock
) -> None:
    world = await make_world(client, uow)
    order_id = (await buy(client, world.buyer, [(world.sku_ids[0], 1)])).json()["orders"][0]["id"]
    payment = (
        await client.post(
            "/api/payments", json={"order_ids": [order_id]}, headers=world.buyer.headers
        )
    ).json()
    clock.advance(timedelta(minutes=20))
    await expire_unpaid_orders(app.state)
    await client.post(f"/sandbox/pay/{payment['id']}", data={"action": "pay"})
    assert (await order(client, world.buyer, order_id))["status"] == "cancelled"
    async with uow() as ctx:
        assert await ledger.balance(ctx, "escrow") == 0
        assert await ledger.balance(ctx, "provider:sandbox") == 0
    assert await sku_units(uow, world.sku_ids[0]) == {
        "stock": 10,
        "reserved": 0,
        "sold": 0,
        "returned": 0,
    }
    await _books_balance(uow)


async def test_ship_deliver_complete_releases_funds_minus_fee(
    client: httpx.AsyncClient, uow: Any, app: Any, clock: FrozenClock
) -> None:
    world = await make_world(client, uow)
    order_id = await buy_and_pay(client, world.buyer, [(world.sku_ids[0], 1)])
    wrong = await client.post(
        f"/api/orders/{order_id}/shipment",
        json={"carrier": "SF", "tracking_no": "SF123"},
        headers=world.buyer.headers,
    )
    assert wrong.status_code == 403
    shipped = await client.post(
        f"/api/orders/{order_id}/shipment",
        json={"carrier": "SF", "tracking_no": "SF123"},
        headers=world.seller.headers,
    )
    assert shipped.json()["status"] == "shipped"
    received = await client.post(f"/api/orders/{order_id}/receipt", headers=world.buyer.headers)
    assert received.json()["status"] == "delivered"
    balance = (
        await client.get(f"/api/shops/{world.shop_id}/balance", headers=world.seller.headers)
    ).json()
    assert balance["held_minor"] == world.prices[0]
    assert balance["released_minor"] == 0
    assert await complete_orders(app.state) == 0
    clock.advance(timedelta(days=7, minutes=1))
    assert await complete_orders(app.state) == 1
    done = await order(client, world.buyer, order_id)
    assert done["status"] == "completed"
    fee = (world.prices[0] * 500 + 5000) // 10_000
    balance = (
        await client.get(f"/api/shops/{world.shop_id}/balance", headers=world.seller.headers)
    ).json()
    assert balance == {**balance, "held_minor": 0, "released_minor": world.prices[0] - fee}
    async with uow() as ctx:
        assert await ledger.balance(ctx, "platform:fees") == -fee
    await _books_balance(uow)
    events = await client.get(f"/api/orders/{order_id}/events", headers=world.seller.headers)
    assert [e["kind"] for e in events.json()] == [
        "placed",
        "paid",
        "shipped",
        "delivered",
        "completed",
    ]


async def test_unconfirmed_parcels_are_delivered_automatically(
    client: httpx.AsyncClient, uow: Any, app: Any, clock: FrozenClock
) -> None:
    world = await make_world(client, uow)
    order_id = await buy_and_pay(client, world.buyer, [(world.sku_ids[0], 1)])
    await client.post(
        f"/api/orders/{order_id}/shipment",
        json={"carrier": "SF", "tracking_no": "SF124"},
        headers=world.seller.headers,
    )
    clock.advance(timedelta(days=9))
    assert await auto_deliver_orders(app.state) == 0
    clock.advance(timedelta(days=1, minutes=1))
    assert await auto_deliver_orders(app.state) == 1
    assert (await order(client, world.buyer, order_id))["status"] == "delivered"


async def test_late_shipment_is_recorded(
    client: httpx.AsyncClient, uow: Any, clock: FrozenClock
) -> None:
    world = await make_world(client, uow)
    order_id = await buy_and_pay(client, world.buyer, [(world.sku_ids[0], 1)])
    clock.advance(timedelta(hours=49))
    await client.post(
        f"/api/orders/{order_id}/shipment",
        json={"carrier": "SF", "tracking_no": "SF125"},
        headers=world.seller.headers,
    )
    events = (
        await client.get(f"/api/orders/{order_id}/events", headers=world.buyer.headers)
    ).json()
    assert events[-1]["data"]["late"] is True


async def test_other_users_cannot_see_or_touch_an_order(
    client: httpx.AsyncClient, uow: Any
) -> None:
    world = await make_world(client, uow)
    order_id = await buy_and_pay(client, world.buyer, [(world.sku_ids[0], 1)])
    assert (
        await client.get(f"/api/orders/{order_id}", headers=world.other_buyer.headers)
    ).status_code == 404
    assert (
        await client.post(f"/api/orders/{order_id}/receipt", headers=world.other_buyer.headers)
    ).status_code == 404
    seller_orders = await client.get(
        f"/api/shops/{world.shop_id}/orders", headers=world.seller.headers
    )
    assert [o["id"] for o in seller_orders.json()] == [order_id]
    assert (
        await client.get(f"/api/shops/{world.shop_id}/orders", headers=world.buyer.headers)
    ).status_code == 404
