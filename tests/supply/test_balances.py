"""After confirmation: the campaign's product is listed, each committer pays the balance
at the tier reached less the deposit, a refund gives the deposit back too, and a committer
who does not pay in time forfeits the deposit to the shop while the units go on sale."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select

from laotie.core.clock import FrozenClock
from laotie.orders import ledger
from laotie.orders.models import Refund
from laotie.supply.jobs import settle_due_balances
from laotie.supply.money import deposits_account
from tests.supply.campaign_world import (
    DEPOSIT_UNIT,
    check_books,
    confirmed,
    pay_order,
    report_steps,
    run_of,
    start_balance,
)

PRICE = 20_000  # the first retail tier, reached by 3 units


async def stock_of(client: httpx.AsyncClient, product_id: str) -> dict[str, int]:
    """Units on hand of each SKU of a product, by its attributes."""
    product = (await client.get(f"/api/products/{product_id}")).json()
    return {"/".join(sku["attributes"].values()): sku["stock"] for sku in product["skus"]}


async def test_the_committers_pay_the_balance_less_the_deposit(
    client: httpx.AsyncClient, uow: Any, clock: FrozenClock, app: Any
) -> None:
    _, campaign, committed = await confirmed(client, uow, clock, app)
    product_id = (await client.get(f"/api/campaigns/{campaign['id']}")).json()["product_id"]
    before = await stock_of(client, product_id)
    # Nothing is on the shelf before the goods exist: the committed units wait for their
    # committers, the buffer for the run to ship.
    assert before == {"black/M": 0, "black/L": 0, "camel/M": 0, "camel/L": 0}

    buyer, commitment = committed[0]
    key = "balance-1"
    placed = await start_balance(client, buyer, commitment["id"], key)
    assert placed.status_code == 201, placed.text
    order = placed.json()
    assert (order["total_minor"], order["discount_minor"]) == (PRICE - DEPOSIT_UNIT, DEPOSIT_UNIT)
    assert order["lines"][0]["unit_price_minor"] == PRICE
    again = await start_balance(client, buyer, commitment["id"], key)
    assert again.status_code == 201 and again.json()["id"] == order["id"]
    assert await stock_of(client, product_id) == before  # put on hand and reserved at once
    stranger = await start_balance(client, committed[1][0], commitment["id"])
    assert stranger.status_code == 404

    await pay_order(client, buyer, order["id"])
    mine = (await client.get("/api/me/commitments", headers=buyer.headers)).json()
    assert (mine[0]["status"], mine[0]["order_id"]) == ("applied", order["id"])
    ended = await start_balance(client, buyer, commitment["id"])
    assert ended.status_code == 409 and ended.json()["code"] == "commitment_ended"
    async with uow() as ctx:
        # Two deposits wait in the campaign's account; the paid one is in escrow.
        assert await ledger.balance(ctx, deposits_account(campaign["id"])) == -2 * DEPOSIT_UNIT
        await check_books(ctx)


async def test_a_refund_of_the_balance_order_gives_the_deposit_back_too(
    client: httpx.AsyncClient, uow: Any, clock: FrozenClock, app: Any
) -> None:
    _, _, committed = await confirmed(client, uow, clock, app)
    buyer, commitment = committed[0]
    order = (await start_balance(client, buyer, commitment["id"])).json()
    await pay_order(client, buyer, order["id"])
    refund = await client.post(
        f"/api/orders/{order['id']}/aftersales",
        json={"kind": "refund_only", "reason": "changed my mind"},
        headers=buyer.headers,
    )
    assert refund.status_code == 201, refund.text
    async with uow() as ctx:
        refunds = await ctx.db.scalars(
            select(Refund.amount_minor).where(Refund.payment_id == commitment["payment_id"])
        )
        assert list(refunds) == [DEPOSIT_UNIT]
        assert await ledger.balance(ctx, ledger.ESCROW) == 0
        await check_books(ctx)


async def test_a_committer_who_does_not_pay_forfeits_the_deposit_to_the_shop(
    client: httpx.AsyncClient, uow: Any, clock: FrozenClock, app: Any
) -> None:
    world, campaign, committed = await confirmed(client, uow, clock, app)
    product_id = (await client.get(f"/api/campaigns/{campaign['id']}")).json()["product_id"]
    before = await stock_of(client, product_id)
    (payer, paid), (starter, started), (idle, _) = committed
    order = (await start_balance(client, payer, paid["id"])).json()
    await pay_order(client, payer, order["id"])
    pending = (await start_balance(client, starter, started["id"])).json()

    clock.advance(timedelta(hours=71))
    assert await settle_due_balances(app.state) == 0  # not due yet
    clock.advance(timedelta(hours=1, seconds=1))
    late = await start_balance(client, idle, committed[2][1]["id"])
    assert late.status_code == 409 and late.json()["code"] == "balance_overdue"
    assert await settle_due_balances(app.state) == 2
    statuses = {
        (await client.get("/api/me/commitments", headers=buyer.headers)).json()[0]["status"]
        for buyer, _ in committed
    }
    assert statuses == {"applied", "forfeited"}
    lapsed = (await client.get(f"/api/orders/{pending['id']}", headers=starter.headers)).json()
    assert lapsed["status"] == "cancelled"
    # The two forfeited units join the buffer, on sale once the run ships.
    assert await stock_of(client, product_id) == before
    run = await run_of(client, world, campaign["id"])
    assert run["committed"]["black/M"] == 1
    await report_steps(client, world, run["id"])
    on_hand = await stock_of(client, product_id)
    assert on_hand == run["buffer"] and on_hand["black/M"] >= 2
    async with uow() as ctx:
        shop = -await ledger.balance(ctx, ledger.seller_account(world.shop_id))
        assert shop == 2 * DEPOSIT_UNIT
        assert await ledger.balance(ctx, deposits_account(campaign["id"])) == 0
        await check_books(ctx)
