"""After confirmation the factory may decline its run, or the shop cancel the campaign,
until the goods ship: every committer gets the deposit back double, the second half out of
the shop's security deposit, and whoever paid for the product is refunded."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import func, select

from laotie.core.clock import FrozenClock
from laotie.orders import ledger
from laotie.orders.models import Refund, SandboxCharge
from laotie.supply.jobs import close_due_campaigns
from laotie.supply.money import deposits_account
from tests.supply.campaign_world import (
    DEPOSIT_UNIT,
    RUN_STEPS,
    buyers,
    check_books,
    commit_and_pay,
    confirmed,
    make_campaign_world,
    open_campaign,
    pay_order,
    report_steps,
    run_of,
    start_balance,
)
from tests.supply.factories import make_factory

SECURITY_DEPOSIT = 100_000


async def test_a_declined_run_returns_every_deposit_double(
    client: httpx.AsyncClient, uow: Any, clock: FrozenClock, app: Any
) -> None:
    world, campaign, committed = await confirmed(client, uow, clock, app, SECURITY_DEPOSIT)
    (payer, paid), (starter, started), _ = committed
    order = (await start_balance(client, payer, paid["id"])).json()
    await pay_order(client, payer, order["id"])
    pending = (await start_balance(client, starter, started["id"])).json()
    run = await run_of(client, world, campaign["id"])

    other, _ = await make_factory(client)
    theirs = await client.post(f"/api/runs/{run['id']}/decline", headers=other.headers)
    assert theirs.status_code == 404
    declined = await client.post(
        f"/api/runs/{run['id']}/decline", headers=world.factory_owner.headers
    )
    assert declined.status_code == 200 and declined.json()["status"] == "declined", declined.text
    after = (await client.get(f"/api/campaigns/{campaign['id']}")).json()
    assert after["status"] == "defaulted"
    assert (await client.get(f"/api/products/{after['product_id']}")).status_code == 404
    for buyer, _ in committed:
        mine = (await client.get("/api/me/commitments", headers=buyer.headers)).json()
        assert mine[0]["status"] == "returned_double"
    refunded = (await client.get(f"/api/orders/{order['id']}", headers=payer.headers)).json()
    assert refunded["status"] == "refunded"
    lapsed = (await client.get(f"/api/orders/{pending['id']}", headers=starter.headers)).json()
    assert lapsed["status"] == "cancelled"
    again = await client.post(f"/api/runs/{run['id']}/decline", headers=world.factory_owner.headers)
    assert again.status_code == 409 and again.json()["code"] == "campaign_not_confirmed"

    async with uow() as ctx:
        for _, commitment in committed:  # the deposit back, and as much again
            refunds = await ctx.db.scalar(
                select(func.sum(Refund.amount_minor)).where(
                    Refund.payment_id == commitment["payment_id"]
                )
            )
            transfers = await ctx.db.scalar(
                select(func.sum(SandboxCharge.amount_minor)).where(
                    SandboxCharge.payment_id == commitment["payment_id"],
                    SandboxCharge.kind == "transfer",
                )
            )
            assert (refunds, transfers) == (DEPOSIT_UNIT, DEPOSIT_UNIT)
        held = -await ledger.balance(ctx, ledger.deposit_account(world.shop_id))
        assert held == SECURITY_DEPOSIT - 3 * DEPOSIT_UNIT
        assert await ledger.balance(ctx, deposits_account(campaign["id"])) == 0
        assert await ledger.balance(ctx, ledger.ESCROW) == 0
        await check_books(ctx)
    shop = (await client.get(f"/api/shops/{world.shop_id}")).json()
    assert shop["deposit_minor"] == SECURITY_DEPOSIT - 3 * DEPOSIT_UNIT


async def test_the_shop_cancels_before_the_goods_ship_and_not_after(
    client: httpx.AsyncClient, uow: Any, clock: FrozenClock, app: Any
) -> None:
    world = await make_campaign_world(client, uow)
    shipped, cancelled = [await open_campaign(client, world, clock, cap_units=4) for _ in "ab"]
    for campaign in (shipped, cancelled):
        for buyer in await buyers(client, 3):
            await commit_and_pay(client, buyer, campaign["id"])
    clock.advance(timedelta(days=1, seconds=1))
    assert await close_due_campaigns(app.state) == 2
    await report_steps(client, world, (await run_of(client, world, shipped["id"]))["id"])

    path = "/api/campaigns/{}/cancellation"
    late = await client.post(path.format(shipped["id"]), headers=world.seller.headers)
    assert late.status_code == 409 and late.json()["code"] == "run_shipped"
    stranger = await client.post(path.format(cancelled["id"]), headers=world.factory_owner.headers)
    assert stranger.status_code == 404
    done = await client.post(path.format(cancelled["id"]), headers=world.seller.headers)
    assert done.status_code == 200 and done.json()["status"] == "defaulted", done.text
    run = await run_of(client, world, cancelled["id"])
    assert run["status"] == "cancelled" and "cancelled" in run["steps"]
    step = await client.post(
        f"/api/runs/{run['id']}/steps",
        json={"step": RUN_STEPS[0]},
        headers=world.factory_owner.headers,
    )
    assert step.status_code == 409
    async with uow() as ctx:
        await check_books(ctx)
