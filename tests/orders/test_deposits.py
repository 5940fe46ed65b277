"""A shop's security deposit: money its owner pays in through the provider, held by the
platform in `deposit:<shop_id>` and shown on the shop; credited once, never on a decline,
never into the balance that payouts and reach spend."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from laotie.core.clock import FrozenClock
from laotie.orders import ledger
from tests.catalog_factories import make_seller, make_shop
from tests.factories import ApiUser


async def _pay_deposit(
    client: httpx.AsyncClient, seller: ApiUser, shop_id: str, amount: int, action: str = "pay"
) -> dict[str, Any]:
    opened = await client.post(
        f"/api/shops/{shop_id}/deposit-payments",
        json={"amount_minor": amount},
        headers=seller.headers,
    )
    assert opened.status_code == 201, opened.text
    payment: dict[str, Any] = opened.json()
    assert payment["purpose"] == "deposit"
    page = await client.get(payment["pay_url"])
    assert "name=return_to value='/seller'" in page.text  # back to where it is shown
    paid = await client.post(payment["pay_url"], data={"action": action})
    assert paid.status_code == 303, paid.text
    return payment


async def test_a_paid_deposit_is_held_and_shown_and_a_declined_one_is_not(
    client: httpx.AsyncClient, uow: Any, clock: FrozenClock
) -> None:
    seller = await make_seller(client)
    shop_id = await make_shop(client, seller)
    for amount, action in ((300_000, "pay"), (50_000, "decline"), (200_000, "pay")):
        await _pay_deposit(client, seller, shop_id, amount, action)
        clock.advance(timedelta(minutes=1))
    assert (await client.get(f"/api/shops/{shop_id}")).json()["deposit_minor"] == 500_000
    async with uow() as ctx:
        assert await ledger.balance(ctx, ledger.deposit_account(shop_id)) == -500_000
        assert await ledger.balance(ctx, ledger.seller_account(shop_id)) == 0
        assert await ledger.trial_balance(ctx) == 0
        assert await ledger.unbalanced_transactions(ctx) == []
    balance = await client.get(f"/api/shops/{shop_id}/balance", headers=seller.headers)
    assert balance.json()["released_minor"] == 0  # not money to spend or withdraw
    listed = await client.get(f"/api/shops/{shop_id}/top-ups", headers=seller.headers)
    assert [(t["purpose"], t["amount_minor"], t["status"]) for t in listed.json()] == [
        ("deposit", 200_000, "succeeded"),
        ("deposit", 50_000, "failed"),
        ("deposit", 300_000, "succeeded"),
    ]


async def test_only_the_owner_pays_into_a_shop_s_deposit(client: httpx.AsyncClient) -> None:
    seller = await make_seller(client)
    shop_id = await make_shop(client, seller)
    stranger = await make_seller(client, "Stranger")
    answer = await client.post(
        f"/api/shops/{shop_id}/deposit-payments",
        json={"amount_minor": 100_000},
        headers=stranger.headers,
    )
    assert answer.status_code == 404 and answer.json()["code"] == "not_found"
    too_little = await client.post(
        f"/api/shops/{shop_id}/deposit-payments", json={"amount_minor": 0}, headers=seller.headers
    )
    assert too_little.status_code == 422
