"""Refunds before shipping, returns after delivery, seller answers, disputes and restocking."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from laotie.accounts.permissions import Role
from laotie.core.clock import FrozenClock
from laotie.orders import ledger
from laotie.orders.jobs import complete_orders, expire_cases
from tests.factories import sign_up
from tests.orders.world import World, buy_and_pay, make_world, order, sku_units


async def _delivered(client: httpx.AsyncClient, world: World, quantity: int = 2) -> str:
    order_id = await buy_and_pay(client, world.buyer, [(world.sku_ids[0], quantity)])
    await client.post(
        f"/api/orders/{order_id}/shipment",
        json={"carrier": "SF", "tracking_no": "SF200"},
        headers=world.seller.headers,
    )
    await client.post(f"/api/orders/{order_id}/receipt", headers=world.buyer.headers)
    return order_id


async def _open(
    client: httpx.AsyncClient, world: World, order_id: str, **body: Any
) -> httpx.Response:
    return await client.post(
        f"/api/orders/{order_id}/aftersales",
        json={"kind": "return_refund", **body},
        headers=world.buyer.headers,
    )


async def test_refund_before_shipping_is_immediate_and_restocks(
    client: httpx.AsyncClient, uow: Any
) -> None:
    world = await make_world(client, uow)
    order_id = await buy_and_pay(client, world.buyer, [(world.sku_ids[0], 2)])
    case = await client.post(
        f"/api/orders/{order_id}/aftersales",
        json={"kind": "refund_only", "reason": "changed my mind"},
        headers=world.buyer.headers,
    )
    assert case.status_code == 201, case.text
    assert case.json()["status"] == "refunded"
    refunded = await order(client, world.buyer, order_id)
    assert refunded["status"] == "refunded"
    assert refunded["refunded_minor"] == refunded["total_minor"]
    assert await sku_units(uow, world.sku_ids[0]) == {
        "stock": 10,
        "reserved": 0,
        "sold": 0,
        "returned": 0,
    }
    async with uow() as ctx:
        assert await ledger.balance(ctx, "escrow") == 0
        assert await ledger.trial_balance(ctx) == 0


async def test_partial_refund_before_shipping_keeps_the_rest_paid(
    client: httpx.AsyncClient, uow: Any
) -> None:
    world = await make_world(client, uow)
    order_id = await buy_and_pay(client, world.buyer, [(world.sku_ids[0], 3)])
    line_id = (await order(client, world.buyer, order_id))["lines"][0]["id"]
    case = await client.post(
        f"/api/orders/{order_id}/aftersales",
        json={"kind": "refund_only", "lines": [{"line_id": line_id, "quantity": 1}]},
        headers=world.buyer.headers,
    )
    assert case.json()["amount_minor"] == world.prices[0]
    after = await order(client, world.buyer, order_id)
    assert after["status"] == "paid"
    assert after["lines"][0]["refunded_quantity"] == 1
    too_many = await client.post(
        f"/api/orders/{order_id}/aftersales",
        json={"kind": "refund_only", "lines": [{"line_id": line_id, "quantity": 3}]},
        headers=world.buyer.headers,
    )
    assert too_many.status_code == 409
    assert too_many.json()["code"] == "refund_exceeds_paid"


async def test_return_approved_by_seller_refunds_and_waits_for_inspection(
    client: httpx.AsyncClient, uow: Any
) -> None:
    world = await make_world(client, uow)
    order_id = await _delivered(client, world)
    case = (await _open(client, world, order_id, reason="too small")).json()
    assert case["status"] == "requested"
    second = await _open(client, world, order_id)
    assert second.json()["code"] == "case_open"
    approved = await client.post(
        f"/api/aftersales/{case['id']}/response",
        json={"approve": True},
        headers=world.seller.headers,
    )
    assert approved.json()["status"] == "refunded"
    assert approved.json()["restock"] == "pending"
    assert await sku_units(uow, world.sku_ids[0]) == {
        "stock": 8,
        "reserved": 0,
        "sold": 0,
        "returned": 2,
    }
    restocked = await client.post(
        f"/api/aftersales/{case['id']}/restock",
        json={"resellable": True},
        headers=world.seller.headers,
    )
    assert restocked.json()["restock"] == "resellable"
    assert await sku_units(uow, world.sku_ids[0]) == {
        "stock": 10,
        "reserved": 0,
        "sold": 0,
        "returned": 0,
    }
    twice = await client.post(
        f"/api/aftersales/{case['id']}/restock",
        json={"resellable": True},
        headers=world.seller.headers,
    )
    assert twice.json()["code"] == "invalid_state"


async def test_return_after_the_window_is_refused(
    client: httpx.AsyncClient, uow: Any, clock: FrozenClock
) -> None:
    world = await make_world(client, uow)
    order_id = await _delivered(client, world)
    clock.advance(timedelta(days=7, seconds=1))
    late = await _open(client, world, order_id)
    assert late.status_code == 409
    assert late.json()["code"] == "return_window_closed"


async def test_category_sets_the_return_window(
    client: httpx.AsyncClient, uow: Any, clock: FrozenClock
) -> None:
    categories = (await client.get("/api/categories")).json()
    longer = max(
        (c for c in categories if c["return_window_days"] is not None),
        key=lambda c: c["return_window_days"],
    )
    world = await make_world(client, uow, category=longer["slug"])
    order_id = await _delivered(client, world)
    delivered = await order(client, world.buyer, order_id)
    assert delivered["return_deadline"] is not None
    clock.advance(timedelta(days=longer["return_window_days"], seconds=-1))
    assert (await _open(client, world, order_id)).status_code == 201


async def test_seller_silence_approves(
    client: httpx.AsyncClient, uow: Any, app: Any, clock: FrozenClock
) -> None:
    world = await make_world(client, uow)
    order_id = await _delivered(client, world)
    case = (await _open(client, world, order_id)).json()
    clock.advance(timedelta(hours=47))
    assert await expire_cases(app.state) == 0
    clock.advance(timedelta(hours=2))
    assert await expire_cases(app.state) == 1
    assert (await client.get(f"/api/aftersales/{case['id']}", headers=world.buyer.headers)).json()[
        "status"
    ] == "refunded"


async def test_rejection_escalated_and_decided_by_an_operator(
    client: httpx.AsyncClient, uow: Any, app: Any, clock: FrozenClock
) -> None:
    world = await make_world(client, uow)
    order_id = await _delivered(client, world, quantity=1)
    case = (await _open(client, world, order_id, reason="broken")).json()
    rejected = await client.post(
        f"/api/aftersales/{case['id']}/response",
        json={"approve": False, "note": "used"},
        headers=world.seller.headers,
    )
    assert rejected.json()["status"] == "rejected"
    # While the case is open the order cannot complete, even after the window.
    clock.advance(timedelta(days=8))
    assert await complete_orders(app.state) == 0
    disputed = await client.post(
        f"/api/aftersales/{case['id']}/escalation",
        json={"reason": "it arrived broken"},
        headers=world.buyer.headers,
    )
    assert disputed.json()["status"] == "disputed"
    operator = await _operator(client, uow)
    queue = await client.get("/api/operator/disputes", headers=operator.headers)
    assert [c["id"] for c in queue.json()] == [case["id"]]
    assert (
        await client.get("/api/operator/disputes", headers=world.seller.headers)
    ).status_code == 403
    decided = await client.post(
        f"/api/aftersales/{case['id']}/decision",
        json={"refund": True, "note": "photos"},
        headers=operator.headers,
    )
    assert decided.json()["status"] == "refunded"
    assert (await order(client, world.buyer, order_id))["status"] == "refunded"


async def test_operator_can_side_with_the_seller(
    client: httpx.AsyncClient, uow: Any, app: Any, clock: FrozenClock
) -> None:
    world = await make_world(client, uow)
    order_id = await _delivered(client, world, quantity=1)
    case = (await _open(client, world, order_id)).json()
    await client.post(
        f"/api/aftersales/{case['id']}/response",
        json={"approve": False},
        headers=world.seller.headers,
    )
    await client.post(
        f"/api/aftersales/{case['id']}/escalation", json={}, headers=world.buyer.headers
    )
    operator = await _operator(client, uow)
    closed = await client.post(
        f"/api/aftersales/{case['id']}/decision", json={"refund": False}, headers=operator.headers
    )
    assert closed.json()["status"] == "closed"
    clock.advance(timedelta(days=8))
    assert await complete_orders(app.state) == 1
    assert (await order(client, world.buyer, order_id))["status"] == "completed"


async def test_unescalated_rejection_closes_and_the_order_completes(
    client: httpx.AsyncClient, uow: Any, app: Any, clock: FrozenClock
) -> None:
    world = await make_world(client, uow)
    order_id = await _delivered(client, world, quantity=1)
    case = (await _open(client, world, order_id)).json()
    await client.post(
        f"/api/aftersales/{case['id']}/response",
        json={"approve": False},
        headers=world.seller.headers,
    )
    clock.advance(timedelta(days=8))
    assert await expire_cases(app.state) == 1
    assert await complete_orders(app.state) == 1


async def _operator(client: httpx.AsyncClient, uow: Any) -> Any:
    from laotie.accounts.service import do_grant_roles

    user = await sign_up(client, Role.BUYER, name="Operator")
    async with uow() as ctx:
        await do_grant_roles(ctx, user.id, frozenset({Role.OPERATOR}))
    return user
