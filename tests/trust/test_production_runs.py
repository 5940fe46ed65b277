"""A partner factory's on-time record counts in the shop's logistics: its runs shipped by
their due date raise it, its late runs lower it, and the shop's trust answer shows them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from laotie.core.clock import FrozenClock
from laotie.supply.jobs import close_due_campaigns
from laotie.trust.score import PRIOR
from laotie.trust.service import shop_scores
from tests.supply.campaign_world import (
    buyers,
    commit_and_pay,
    make_campaign_world,
    open_campaign,
    report_steps,
    run_of,
)


async def _trust(client: httpx.AsyncClient, shop_id: str) -> dict[str, Any]:
    answer = await client.get(f"/api/shops/{shop_id}/trust")
    assert answer.status_code == 200, answer.text
    trust: dict[str, Any] = answer.json()
    return trust


def _logistics(trust: dict[str, Any]) -> float:
    (found,) = [d["value"] for d in trust["dimensions"] if d["dimension"] == "logistics"]
    return float(found)


async def test_a_shop_whose_factory_ships_late_scores_lower_logistics(
    client: httpx.AsyncClient, uow: Any, clock: FrozenClock, app: Any
) -> None:
    punctual, tardy = await make_campaign_world(client, uow), await make_campaign_world(client, uow)
    campaigns = [await open_campaign(client, world, clock) for world in (punctual, tardy)]
    for buyer in await buyers(client, 3):
        for campaign in campaigns:
            await commit_and_pay(client, buyer, campaign["id"])
    clock.advance(timedelta(days=1, seconds=1))
    assert await close_due_campaigns(app.state) == 2
    # Each run: 3 units, due in 21 days (the factory's lead time).
    early = await run_of(client, punctual, campaigns[0]["id"])
    late = await run_of(client, tardy, campaigns[1]["id"])
    assert _logistics(await _trust(client, punctual.shop_id)) == PRIOR  # nothing known yet

    clock.advance(timedelta(days=10))
    await report_steps(client, punctual, early["id"])
    clock.advance(timedelta(days=15))  # four days past the due dates
    waiting = await _trust(client, tardy.shop_id)
    assert _logistics(waiting) < PRIOR  # unshipped past its due date: late already
    (seen,) = waiting["production_runs"]
    assert (seen["campaign_id"], seen["on_time"], seen["shipped_at"]) == (
        campaigns[1]["id"],
        False,
        None,
    )
    assert seen["at"] == late["due_by"]

    await report_steps(client, tardy, late["id"])
    on_time, behind = await _trust(client, punctual.shop_id), await _trust(client, tardy.shop_id)
    assert _logistics(behind) < PRIOR < _logistics(on_time)
    (shipped,) = on_time["production_runs"]
    assert (shipped["on_time"], shipped["units"], shipped["factory_id"]) == (
        True,
        3,
        punctual.factory_id,
    )
    logistics = next(d for d in on_time["dimensions"] if d["dimension"] == "logistics")
    assert logistics["count"] == 1 and logistics["weight"] < 3  # 3 units, 15 days old
    (shipped,) = behind["production_runs"]
    assert shipped["on_time"] is False and shipped["shipped_at"] == shipped["at"]

    # The daily scores read the runs as the answer does.
    async with uow() as ctx:
        kept = await shop_scores(ctx, [punctual.shop_id, tardy.shop_id])
    for trust in (on_time, behind):
        dimensions = {d.dimension: d.value for d in kept[trust["shop_id"]].dimensions}
        assert dimensions["logistics"] == _logistics(trust)
