"""Commissions: released with the order as a leg of one balanced transaction, on what the buyer
kept, at the rate the order was placed at; pending until then, withdrawn like a seller's."""

from __future__ import annotations

from typing import Any

import httpx

from laotie.core.clock import FrozenClock
from laotie.core.money import fee_of
from laotie.orders import ledger
from tests.affiliate.world import (
    PRICE,
    RATE,
    approved,
    buy_pooled,
    complete,
    make_affiliate_world,
    paid_pool_order,
    set_cart,
)
from tests.orders.world import pay


async def test_the_commission_is_the_rate_of_what_was_kept_and_a_later_rate_moves_nothing(
    client: httpx.AsyncClient, clock: FrozenClock, uow: Any, app: Any
) -> None:
    world = await make_affiliate_world(client, clock)
    await approved(client, world)
    assert (await set_cart(client, world, [world.pooled.id])).status_code == 200
    bought = await buy_pooled(client, world, quantity=3)
    order_id = bought.json()["orders"][0]["id"]
    line_id = bought.json()["orders"][0]["lines"][0]["id"]
    await pay(client, world.buyer, [order_id])
    # The shop doubles its rate after the order: the order keeps the rate it was placed at.
    raised = await client.put(
        f"/api/shops/{world.supplier_shop}/pool/{world.pooled.id}",
        json={"commission_bps": RATE * 2},
        headers=world.supplier.headers,
    )
    assert raised.status_code == 200

    commissions = (await client.get("/api/me/commissions", headers=world.anchor.headers)).json()
    assert commissions["pending_minor"] == fee_of(3 * PRICE, RATE)
    assert commissions["released_minor"] == 0 and commissions["balance_minor"] == 0

    # One unit refunded before shipping: the commission shrinks with the sale.
    case = await client.post(
        f"/api/orders/{order_id}/aftersales",
        json={"kind": "refund_only", "lines": [{"line_id": line_id, "quantity": 1}]},
        headers=world.buyer.headers,
    )
    assert case.status_code == 201, case.text
    earned = fee_of(2 * PRICE, RATE)
    commissions = (await client.get("/api/me/commissions", headers=world.anchor.headers)).json()
    assert commissions["pending_minor"] == earned
    (line,) = commissions["lines"]
    assert (line["state"], line["refunded_quantity"], line["commission_bps"]) == (
        "pending",
        1,
        RATE,
    )

    await complete(client, world, clock, app, order_id)

    kept = 2 * PRICE  # no freight on this shop's products
    fee = fee_of(kept, 500)
    async with uow() as ctx:
        assert await ledger.balance(ctx, ledger.anchor_account(world.anchor.id)) == -earned
        assert await ledger.balance(ctx, ledger.seller_account(world.supplier_shop)) == -(
            kept - fee - earned
        )
        assert await ledger.trial_balance(ctx) == 0
        assert await ledger.unbalanced_transactions(ctx) == []
    commissions = (await client.get("/api/me/commissions", headers=world.anchor.headers)).json()
    assert commissions["pending_minor"] == 0
    assert commissions["released_minor"] == commissions["balance_minor"] == earned
    assert commissions["lines"][0]["state"] == "released"
    events = await client.get(f"/api/orders/{order_id}/events", headers=world.supplier.headers)
    completed = events.json()[-1]
    assert completed["kind"] == "completed"
    assert completed["data"] == {
        "released_minor": kept - fee - earned,
        "fee_minor": fee,
        "commission_minor": earned,
    }

    # After completion the order takes no refund: the commission released is final.
    late = await client.post(
        f"/api/orders/{order_id}/aftersales",
        json={"kind": "return_refund", "reason": "too late"},
        headers=world.buyer.headers,
    )
    assert late.status_code == 409, late.text


async def test_the_anchors_own_shops_lines_carry_the_anchor_and_no_commission(
    client: httpx.AsyncClient, clock: FrozenClock
) -> None:
    world = await make_affiliate_world(client, clock)
    own = await client.post(
        f"/api/live/sessions/{world.session_id}/orders",
        json={"sku_id": world.own.sku_ids[0], "quantity": 1},
        headers={**world.buyer.headers, "Idempotency-Key": "own-shop-1"},
    )
    assert own.status_code == 201, own.text
    (line,) = own.json()["orders"][0]["lines"]
    assert (line["anchor_id"], line["commission_bps"]) == (world.anchor.id, 0)
    commissions = (await client.get("/api/me/commissions", headers=world.anchor.headers)).json()
    assert commissions["lines"] == [] and commissions["pending_minor"] == 0


async def test_an_anchor_withdraws_its_released_commissions_and_no_more(
    client: httpx.AsyncClient, clock: FrozenClock, uow: Any, app: Any
) -> None:
    world = await make_affiliate_world(client, clock)
    order_id = await paid_pool_order(client, world)
    anchor = world.anchor.headers
    missing = await client.post("/api/me/payouts", json={"amount_minor": 1}, headers=anchor)
    assert missing.status_code == 409 and missing.json()["code"] == "payout_account_missing"
    account = {"holder_name": "Anchor Wang", "account_no": "6222-7777"}
    assert (await client.put("/api/me/payout-account", json=account, headers=anchor)).is_success
    pending = await client.post("/api/me/payouts", json={"amount_minor": 1}, headers=anchor)
    assert pending.status_code == 409 and pending.json()["code"] == "balance_too_low"

    await complete(client, world, clock, app, order_id)
    earned = fee_of(PRICE, RATE)
    asked = await client.post(
        "/api/me/payouts", json={"amount_minor": earned - 100}, headers=anchor
    )
    assert asked.status_code == 201, asked.text
    (payout,) = (await client.get("/api/me/payouts", headers=anchor)).json()
    assert (payout["anchor_id"], payout["shop_id"], payout["status"]) == (
        world.anchor.id,
        None,
        "paid",
    )
    too_much = await client.post("/api/me/payouts", json={"amount_minor": 101}, headers=anchor)
    assert too_much.status_code == 409 and too_much.json()["code"] == "balance_too_low"
    commissions = (await client.get("/api/me/commissions", headers=anchor)).json()
    assert (commissions["released_minor"], commissions["balance_minor"]) == (earned, 100)
    buyer_account = await client.put(
        "/api/me/payout-account", json=account, headers=world.buyer.headers
    )
    assert buyer_account.status_code == 403
    async with uow() as ctx:
        assert await ledger.balance(ctx, ledger.PAYOUTS_IN_TRANSIT) == 0
        assert await ledger.trial_balance(ctx) == 0
