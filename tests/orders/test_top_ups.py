"""Top-ups: a seller pays into its shop's released balance through the provider, credited
once when the payment succeeds (never on a decline, never twice on a replayed webhook),
and the money then buys reach or is withdrawn like any released money."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import httpx

from laotie.accounts.permissions import Role
from laotie.core.clock import FrozenClock
from laotie.orders import ledger
from laotie.orders.payments import sign
from tests.factories import ApiUser, sign_up
from tests.live.sale_room import go_live
from tests.orders.world import make_world


async def _top_up(
    client: httpx.AsyncClient, seller: ApiUser, shop_id: str, amount: int
) -> httpx.Response:
    return await client.post(
        f"/api/shops/{shop_id}/top-ups", json={"amount_minor": amount}, headers=seller.headers
    )


async def _paid_top_up(
    client: httpx.AsyncClient, seller: ApiUser, shop_id: str, amount: int, approve: bool = True
) -> dict[str, Any]:
    opened = await _top_up(client, seller, shop_id, amount)
    assert opened.status_code == 201, opened.text
    top_up: dict[str, Any] = opened.json()
    action = "pay" if approve else "decline"
    page = await client.post(top_up["pay_url"], data={"action": action})
    assert page.status_code == 303, page.text
    return top_up


async def _released(client: httpx.AsyncClient, seller: ApiUser, shop_id: str) -> int:
    answer = await client.get(f"/api/shops/{shop_id}/balance", headers=seller.headers)
    return int(answer.json()["released_minor"])


async def test_a_paid_top_up_is_credited_once_and_a_declined_one_never(
    client: httpx.AsyncClient, uow: Any, clock: FrozenClock
) -> None:
    world = await make_world(client, uow)
    seller, shop_id = world.seller, world.shop_id
    paid = await _paid_top_up(client, seller, shop_id, 50_000)
    assert (paid["status"], paid["credited_at"], paid["shop_id"]) == ("pending", None, shop_id)
    assert await _released(client, seller, shop_id) == 50_000
    clock.advance(timedelta(minutes=1))
    await _paid_top_up(client, seller, shop_id, 7_000, approve=False)
    assert await _released(client, seller, shop_id) == 50_000

    listed = (await client.get(f"/api/shops/{shop_id}/top-ups", headers=seller.headers)).json()
    assert [(t["amount_minor"], t["status"], t["credited_at"] is not None) for t in listed] == [
        (7_000, "failed", False),
        (50_000, "succeeded", True),
    ]
    async with uow() as ctx:
        assert await ledger.balance(ctx, ledger.provider_account("sandbox")) == 50_000
        assert await ledger.trial_balance(ctx) == 0


async def test_a_replayed_top_up_webhook_credits_nothing_more(
    client: httpx.AsyncClient, uow: Any, clock: FrozenClock
) -> None:
    world = await make_world(client, uow)
    opened = (await _top_up(client, world.seller, world.shop_id, 20_000)).json()
    event = {
        "id": "evt_top_up",
        "type": "payment.succeeded",
        "payment_id": opened["payment_id"],
        "amount_minor": 20_000,
        "currency": "CNY",
    }
    body = json.dumps(event).encode()
    signature = sign("test-webhook-secret", int(clock.now().timestamp()), body)
    headers = {"x-laotie-signature": signature, "content-type": "application/json"}
    answers = [
        (await client.post("/api/payments/webhooks/sandbox", content=body, headers=headers)).json()
        for _ in range(2)
    ]
    assert answers == [{"result": "topped_up"}, {"result": "duplicate"}]
    assert await _released(client, world.seller, world.shop_id) == 20_000


async def test_a_top_up_is_the_owners_and_within_bounds(
    client: httpx.AsyncClient, uow: Any
) -> None:
    world = await make_world(client, uow)
    other_seller = await sign_up(client, Role.SELLER, name="Other seller")
    stranger = await _top_up(client, other_seller, world.shop_id, 10_000)
    assert (stranger.status_code, stranger.json()["code"]) == (404, "not_found")
    buyer = await _top_up(client, world.buyer, world.shop_id, 10_000)
    assert buyer.status_code == 403
    for amount in (99, 10_000_001, 0, -5):
        refused = await _top_up(client, world.seller, world.shop_id, amount)
        assert (refused.status_code, refused.json()["code"]) == (422, "invalid_input"), amount
    assert await _released(client, world.seller, world.shop_id) == 0


async def test_money_topped_up_buys_reach(
    client: httpx.AsyncClient, clock: FrozenClock, uow: Any
) -> None:
    show = await go_live(client, clock, "Topped up", price_minor=5_000, stock=50)
    shop_id = (await client.get(f"/api/live/sessions/{show.session_id}")).json()["shop_id"]
    terms = {"pricing": "cpm", "price_minor": 3_000, "budget_minor": 10_000}
    promote = f"/api/live/sessions/{show.session_id}/promotions"
    poor = await client.post(promote, json=terms, headers=show.anchor.headers)
    assert (poor.status_code, poor.json()["code"]) == (409, "balance_too_low")
    await _paid_top_up(client, show.anchor, shop_id, 10_000)
    bought = await client.post(promote, json=terms, headers=show.anchor.headers)
    assert bought.status_code == 201, bought.text
    assert await _released(client, show.anchor, shop_id) == 0
