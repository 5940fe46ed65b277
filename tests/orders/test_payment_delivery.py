"""A payment's outcome always reaches laotie, once: webhooks retried, payments looked up."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select

from laotie.core.clock import FrozenClock
from laotie.orders.jobs import reconcile_payments
from laotie.orders.models import SandboxCharge, WebhookOutbox
from laotie.orders.webhooks import requeue_due_webhooks, retry_delay
from tests.conftest import asgi_webhook_sender
from tests.orders.world import buy, make_world, order


class Refusing:
    """A webhook target that refuses until told to let webhooks through."""

    def __init__(self, app: Any) -> None:
        self.deliver = asgi_webhook_sender(app)
        self.refusing = True
        self.refused = 0

    async def __call__(self, path: str, body: bytes, headers: dict[str, str]) -> None:
        if self.refusing:
            self.refused += 1
            raise httpx.ConnectError("connection refused")
        await self.deliver(path, body, headers)


async def _placed_and_opened(client: httpx.AsyncClient, uow: Any) -> tuple[Any, str, str]:
    world = await make_world(client, uow)
    placed = await buy(client, world.buyer, [(world.sku_ids[0], 1)])
    order_id = placed.json()["orders"][0]["id"]
    started = await client.post(
        "/api/payments", json={"order_ids": [order_id]}, headers=world.buyer.headers
    )
    return world, order_id, str(started.json()["id"])


async def _rows(uow: Any, table: Any) -> list[Any]:
    async with uow() as ctx:
        return list(await ctx.db.scalars(select(table)))


async def test_a_refused_webhook_is_sent_again_by_the_sweep_and_the_order_is_paid(
    app: Any, client: httpx.AsyncClient, uow: Any, clock: FrozenClock
) -> None:
    target = Refusing(app)
    app.state.webhook_sender = target
    world, order_id, payment_id = await _placed_and_opened(client, uow)
    paid = await client.post(f"/sandbox/pay/{payment_id}", data={"action": "pay"})
    assert paid.status_code == 303
    assert target.refused == 1
    assert (await order(client, world.buyer, order_id))["status"] == "pending_payment"
    [row] = await _rows(uow, WebhookOutbox)
    assert row.sent_at is None and row.attempts == 1
    assert "ConnectError" in (row.last_error or "")

    # Not due yet: the sweep leaves it alone.
    assert await requeue_due_webhooks(app.state) == 0
    # Still refused at the next attempt: the wait doubles.
    clock.advance(retry_delay(1))
    assert await requeue_due_webhooks(app.state) == 1
    [row] = await _rows(uow, WebhookOutbox)
    assert row.attempts == 2 and row.next_attempt_at == clock.now() + retry_delay(2)

    target.refusing = False
    clock.advance(retry_delay(2))
    assert await requeue_due_webhooks(app.state) == 1
    assert (await order(client, world.buyer, order_id))["status"] == "paid"
    [row] = await _rows(uow, WebhookOutbox)
    assert row.sent_at is not None and row.last_error is None
    clock.advance(timedelta(hours=2))
    assert await requeue_due_webhooks(app.state) == 0


async def test_paying_twice_on_the_page_charges_once(
    app: Any, client: httpx.AsyncClient, uow: Any
) -> None:
    app.state.webhook_sender = Refusing(app)
    _world, _order_id, payment_id = await _placed_and_opened(client, uow)
    first = await client.post(
        f"/sandbox/pay/{payment_id}", data={"action": "pay", "payer_account": "wallet-77"}
    )
    assert first.status_code == 303
    again = await client.post(f"/sandbox/pay/{payment_id}", data={"action": "pay"})
    assert again.status_code == 409
    assert again.json()["code"] == "payment_decided"
    page = await client.get(f"/sandbox/pay/{payment_id}")
    assert "already paid" in page.text and 'value="pay"' not in page.text
    [charge] = await _rows(uow, SandboxCharge)
    assert charge.kind == "charge" and charge.payer_account == "wallet-77"
    assert len(await _rows(uow, WebhookOutbox)) == 1


async def test_the_payer_account_defaults_to_the_buyers_own(
    client: httpx.AsyncClient, uow: Any
) -> None:
    world, _order_id, payment_id = await _placed_and_opened(client, uow)
    await client.post(f"/sandbox/pay/{payment_id}", data={"action": "pay"})
    [charge] = await _rows(uow, SandboxCharge)
    assert charge.payer_account == f"sbx:{world.buyer.id}"
    bad = await client.post(
        f"/sandbox/pay/{payment_id}", data={"action": "pay", "payer_account": "a b"}
    )
    assert bad.status_code == 422


async def test_the_reconciler_marks_paid_a_payment_whose_webhook_never_came(
    app: Any, client: httpx.AsyncClient, uow: Any, clock: FrozenClock
) -> None:
    app.state.webhook_sender = Refusing(app)
    world, order_id, payment_id = await _placed_and_opened(client, uow)
    await client.post(f"/sandbox/pay/{payment_id}", data={"action": "pay"})
    # A payment pending for less than a few minutes is left to its webhook.
    assert await reconcile_payments(app.state) == 0
    clock.advance(timedelta(minutes=6))
    assert await reconcile_payments(app.state) == 1
    assert (await order(client, world.buyer, order_id))["status"] == "paid"
    payment = await client.get(f"/api/payments/{payment_id}", headers=world.buyer.headers)
    assert payment.json()["status"] == "succeeded"
    assert await reconcile_payments(app.state) == 0
    assert len(await _rows(uow, SandboxCharge)) == 1


async def test_the_reconciler_leaves_a_payment_nobody_paid(
    app: Any, client: httpx.AsyncClient, uow: Any, clock: FrozenClock
) -> None:
    world, order_id, _payment_id = await _placed_and_opened(client, uow)
    clock.advance(timedelta(minutes=6))
    assert await reconcile_payments(app.state) == 0
    assert (await order(client, world.buyer, order_id))["status"] == "pending_payment"
