"""A production run moves step by step as its factory reports, with dates; the campaign's
buyers follow it, and see when it is late."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from laotie.core.clock import FrozenClock
from laotie.supply.jobs import close_due_campaigns
from tests.supply.campaign_world import buyers, commit_and_pay, make_campaign_world, open_campaign
from tests.supply.factories import make_factory

STEPS = ("accepted", "materials", "producing", "quality_check", "shipped")


async def test_the_factory_reports_each_step_in_order_and_buyers_see_it(
    client: httpx.AsyncClient, uow: Any, clock: FrozenClock, app: Any
) -> None:
    world = await make_campaign_world(client, uow)
    campaign = await open_campaign(client, world, clock)
    for buyer in await buyers(client, 3):
        await commit_and_pay(client, buyer, campaign["id"])
    clock.advance(timedelta(days=1, seconds=1))
    assert await close_due_campaigns(app.state) == 1
    owner = world.factory_owner
    (run,) = (
        await client.get(f"/api/factories/{world.factory_id}/runs", headers=owner.headers)
    ).json()
    assert (run["status"], list(run["steps"]), run["late"]) == ("ordered", ["ordered"], False)
    # 3 units, 50 a week: the lead time of the factory alone (21 days).
    assert run["due_by"].startswith((clock.now() + timedelta(days=21)).date().isoformat())

    path = f"/api/runs/{run['id']}/steps"
    skipped = await client.post(path, json={"step": "producing"}, headers=owner.headers)
    assert skipped.status_code == 409 and skipped.json()["code"] == "run_step_invalid"
    other, _ = await make_factory(client)
    theirs = await client.post(path, json={"step": "accepted"}, headers=other.headers)
    assert theirs.status_code == 404
    for step in STEPS[:3]:
        clock.advance(timedelta(days=2))
        moved = await client.post(path, json={"step": step}, headers=owner.headers)
        assert moved.status_code == 200 and moved.json()["status"] == step, moved.text
    seen = (await client.get(f"/api/campaigns/{campaign['id']}")).json()["production"]
    assert seen["status"] == "producing" and list(seen["steps"]) == ["ordered", *STEPS[:3]]
    assert seen["late"] is False

    clock.advance(timedelta(days=20))  # past the due date, not shipped
    assert (await client.get(f"/api/campaigns/{campaign['id']}")).json()["production"]["late"]
    for step in STEPS[3:]:
        await client.post(path, json={"step": step}, headers=owner.headers)
    shipped = (await client.get(f"/api/campaigns/{campaign['id']}")).json()["production"]
    assert (shipped["status"], shipped["late"]) == ("shipped", False)
    done = await client.post(path, json={"step": "shipped"}, headers=owner.headers)
    assert done.status_code == 409
    page = await client.get(f"/campaigns/{campaign['id']}")
    assert "In production: shipped" in page.text and "quality check" in page.text
