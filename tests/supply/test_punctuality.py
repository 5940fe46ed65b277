"""A factory's on-time record: a run shipped by its due date is on time; one shipped after
it, or unshipped past it, is late; a run not yet due, or no longer in production, is not
timed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from laotie.core.clock import FrozenClock
from laotie.supply.jobs import close_due_campaigns
from laotie.supply.punctuality import observed, runs_of_shops
from tests.supply.campaign_world import (
    RUN_STEPS,
    buyers,
    commit_and_pay,
    make_campaign_world,
    open_campaign,
    report_steps,
    run_of,
)

DUE = datetime(2026, 6, 1, tzinfo=UTC)


def test_a_run_is_timed_once_shipped_or_past_due() -> None:
    day = timedelta(days=1)
    assert observed(DUE - day, DUE, DUE + 9 * day) == (DUE - day, True)
    assert observed(DUE, DUE, DUE) == (DUE, True)  # on the due date itself: on time
    assert observed(DUE + day, DUE, DUE + 9 * day) == (DUE + day, False)
    assert observed(None, DUE, DUE + day) == (DUE, False)  # late from its due date on
    assert observed(None, DUE, DUE) is None  # not due yet: nothing known
    # Shipped after the moment asked about: as it stood then, unshipped and not yet due.
    assert observed(DUE - day, DUE, DUE - 2 * day) is None


async def test_the_shops_runs_are_read_with_their_punctuality(
    client: httpx.AsyncClient, uow: Any, clock: FrozenClock, app: Any
) -> None:
    world = await make_campaign_world(client, uow)
    # Five campaigns of one shop, each confirmed into a run of 3 units due in 21 days.
    campaigns = [await open_campaign(client, world, clock, title=f"Coat {n}") for n in range(5)]
    for buyer in await buyers(client, 3):
        for campaign in campaigns:
            await commit_and_pay(client, buyer, campaign["id"])
    clock.advance(timedelta(days=1, seconds=1))
    assert await close_due_campaigns(app.state) == 5
    runs = [await run_of(client, world, c["id"]) for c in campaigns]
    early, late, unshipped, declined, cancelled = runs
    due = datetime.fromisoformat(early["due_by"])

    async def read() -> list[Any]:
        async with uow() as ctx:
            return (await runs_of_shops(ctx, [world.shop_id], ctx.now()))[world.shop_id]

    clock.advance(timedelta(days=10))
    await report_steps(client, world, early["id"])
    await report_steps(client, world, late["id"], RUN_STEPS[:3])
    await report_steps(client, world, declined["id"], RUN_STEPS[:1])
    (shipped,) = await read()  # the others are not due yet
    assert (shipped.run_id, shipped.on_time, shipped.at, shipped.units) == (
        early["id"],
        True,
        clock.now(),
        3,
    )

    # Defaults, answered as such (their deposits returned double), not timed.
    owner, seller = world.factory_owner.headers, world.seller.headers
    gone = await client.post(f"/api/runs/{declined['id']}/decline", headers=owner)
    assert gone.status_code == 200, gone.text
    gone = await client.post(
        f"/api/campaigns/{cancelled['campaign_id']}/cancellation", headers=seller
    )
    assert gone.status_code == 200, gone.text
    assert (await run_of(client, world, cancelled["campaign_id"]))["status"] == "cancelled"
    clock.advance(timedelta(days=15))  # four days past the due date
    await report_steps(client, world, late["id"], RUN_STEPS[3:])
    timed = {run.run_id: run for run in await read()}
    assert set(timed) == {early["id"], late["id"], unshipped["id"]}
    assert (timed[late["id"]].on_time, timed[late["id"]].at) == (False, clock.now())
    assert timed[late["id"]].shipped_at == clock.now()
    assert (timed[unshipped["id"]].on_time, timed[unshipped["id"]].at) == (False, due)
    assert timed[unshipped["id"]].shipped_at is None
    assert {run.shop_id for run in timed.values()} == {world.shop_id}
    assert {run.factory_id for run in timed.values()} == {world.factory_id}
