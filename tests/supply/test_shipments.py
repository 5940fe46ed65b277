"""A run ships to the shop, or straight to the buyers: each paid order of the product goes
out under a child of the master waybill; a balance order is due when the run is."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx

from laotie.core.clock import FrozenClock
from tests.supply.campaign_world import (
    RUN_STEPS,
    confirmed,
    pay_order,
    report_steps,
    run_of,
    start_balance,
)
from tests.supply.factories import make_factory


async def test_a_run_ships_straight_to_the_buyers_of_its_paid_orders(
    client: httpx.AsyncClient, uow: Any, clock: FrozenClock, app: Any
) -> None:
    world, campaign, committed = await confirmed(client, uow, clock, app)
    run = await run_of(client, world, campaign["id"])
    orders = []
    for buyer, commitment in committed[:2]:
        order = (await start_balance(client, buyer, commitment["id"])).json()
        await pay_order(client, buyer, order["id"])
        orders.append((buyer, order["id"]))
    unpaid = (await start_balance(client, *_pair(committed[2]))).json()

    paid = (await client.get(f"/api/orders/{orders[0][1]}", headers=orders[0][0].headers)).json()
    # Made to order: due to ship when the run is due, not in the usual two days.
    ship_by = datetime.fromisoformat(paid["ship_by"])
    assert ship_by == datetime.fromisoformat(run["due_by"]) + timedelta(hours=48)

    path = f"/api/runs/{run['id']}/shipment"
    body = {"to": "buyers", "carrier": "SF Express", "tracking_no": "SF7001"}
    early = await client.post(path, json=body, headers=world.factory_owner.headers)
    assert early.status_code == 409 and early.json()["code"] == "run_step_invalid"
    await report_steps(client, world, run["id"], RUN_STEPS[:-1])
    other, _ = await make_factory(client)
    assert (await client.post(path, json=body, headers=other.headers)).status_code == 404
    shipped = await client.post(path, json=body, headers=world.factory_owner.headers)
    assert shipped.status_code == 200, shipped.text
    made = shipped.json()
    assert made["status"] == "shipped"
    assert made["shipment"] == {**body, "parcels": 2}
    waybills = set()
    for buyer, order_id in orders:
        got = (await client.get(f"/api/orders/{order_id}", headers=buyer.headers)).json()
        assert (got["status"], got["carrier"]) == ("shipped", "SF Express")
        waybills.add(got["tracking_no"])
    assert waybills == {"SF7001-1", "SF7001-2"}
    left = await client.get(f"/api/orders/{unpaid['id']}", headers=committed[2][0].headers)
    assert left.json()["status"] == "pending_payment"  # an unpaid order waits for the shop
    events = await client.get(f"/api/orders/{orders[0][1]}/events", headers=orders[0][0].headers)
    shipped_event = next(e for e in events.json() if e["kind"] == "shipped")
    assert shipped_event["data"]["late"] is False


def _pair(entry: tuple[Any, dict[str, Any]]) -> tuple[Any, str]:
    buyer, commitment = entry
    return buyer, str(commitment["id"])
