"""After its first run ships, a campaign's product that keeps selling is made again: the
factory and the shop see each variant's sales, returns and their reasons, and a rerun's
mix follows what stayed sold."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from laotie.core.clock import FrozenClock
from laotie.supply.jobs import close_due_campaigns
from laotie.supply.punctuality import runs_of_shops
from laotie.supply.reruns import plan_mix
from tests.supply.campaign_world import (
    buyers,
    commit_and_pay,
    delivered_balance,
    make_campaign_world,
    open_campaign,
    report_steps,
    run_of,
)
from tests.supply.factories import make_factory
from tests.supply.test_balances import stock_of


def test_the_mix_follows_net_sales_by_largest_remainder() -> None:
    net = {"black/M": 5, "black/L": 3, "camel/M": 0, "camel/L": -1}
    assert plan_mix(net, None) == {"black/M": 5, "black/L": 3}
    assert plan_mix(net, 10) == {"black/M": 6, "black/L": 4}  # 6.25 and 3.75
    assert sum(plan_mix(net, 7).values()) == 7
    assert plan_mix({"a": 0, "b": 0}, 3) == {"a": 2, "b": 1}  # no sales: evenly


async def test_a_rerun_is_mixed_from_the_sales_less_the_returns(
    client: httpx.AsyncClient, uow: Any, clock: FrozenClock, app: Any
) -> None:
    world = await make_campaign_world(client, uow)
    campaign = await open_campaign(client, world, clock)
    path = f"/api/campaigns/{campaign['id']}"
    committed = []
    for buyer, variant in zip(
        await buyers(client, 3), ("black/M", "black/L", "camel/M"), strict=True
    ):
        committed.append(
            (buyer, await commit_and_pay(client, buyer, campaign["id"], variant=variant))
        )
    early = await client.get(f"{path}/sales", headers=world.seller.headers)
    assert early.status_code == 409 and early.json()["code"] == "campaign_not_confirmed"
    clock.advance(timedelta(days=1, seconds=1))
    await close_due_campaigns(app.state)
    orders = [await delivered_balance(client, world, b, c) for b, c in committed]
    returner = committed[1][0]
    asked = await client.post(
        f"/api/orders/{orders[1]}/aftersales",
        json={"kind": "return_refund", "reason_code": "size_fit", "reason": "too small"},
        headers=returner.headers,
    )
    assert asked.status_code == 201, asked.text
    approved = await client.post(
        f"/api/aftersales/{asked.json()['id']}/response",
        json={"approve": True},
        headers=world.seller.headers,
    )
    assert approved.status_code == 200, approved.text

    waiting = await client.post(f"{path}/reruns", json={}, headers=world.seller.headers)
    assert waiting.status_code == 409 and waiting.json()["code"] == "rerun_not_ready"
    first = await run_of(client, world, campaign["id"])
    await report_steps(client, world, first["id"])

    other, _ = await make_factory(client)
    assert (await client.get(f"{path}/sales", headers=other.headers)).status_code == 404
    sales = await client.get(f"{path}/sales", headers=world.factory_owner.headers)
    assert sales.status_code == 200, sales.text
    by_variant = {v["variant"]: v for v in sales.json()["variants"]}
    assert (by_variant["black/M"]["sold"], by_variant["black/M"]["returned"]) == (1, 0)
    returned = by_variant["black/L"]
    assert (returned["sold"], returned["returned"], returned["return_rate"]) == (1, 1, 1.0)
    assert returned["reasons"] == {"size_fit": 1}
    # Sold since the run was ordered, less what came back: the size mix to make again.
    assert sales.json()["rerun_mix"] == {"black/M": 1, "camel/M": 1}

    too_few = await client.post(f"{path}/reruns", json={"units": 1}, headers=world.seller.headers)
    assert too_few.status_code == 422 and too_few.json()["code"] == "moq_below_factory"
    stranger = await client.post(f"{path}/reruns", json={}, headers=world.factory_owner.headers)
    assert stranger.status_code == 404
    product_id = (await client.get(path)).json()["product_id"]
    before = await stock_of(client, product_id)
    rerun = await client.post(f"{path}/reruns", json={}, headers=world.seller.headers)
    assert rerun.status_code == 201, rerun.text
    made = rerun.json()
    assert (made["number"], made["units"], made["status"]) == (2, 2, "ordered")
    assert made["buffer"] == {"black/M": 1, "camel/M": 1} and made["committed"] == {}
    again = await client.post(f"{path}/reruns", json={"units": 4}, headers=world.seller.headers)
    assert again.status_code == 409  # the rerun has not shipped yet
    await report_steps(client, world, made["id"])
    after = await stock_of(client, product_id)
    assert after["black/M"] == before["black/M"] + 1 and after["camel/M"] == before["camel/M"] + 1
    assert (await client.get(path)).json()["production"]["status"] == "shipped"  # the first
    async with uow() as ctx:  # in the shop's logistics, the rerun weighs all its units
        (timed,) = [
            r
            for r in (await runs_of_shops(ctx, [world.shop_id], ctx.now()))[world.shop_id]
            if r.run_id == made["id"]
        ]
        assert (timed.units, timed.on_time) == (2, True)
