"""Forecasting a campaign's final units: the Bass curve recovered from half a campaign,
the pace when there is too little to fit, the deadline's rush measured, the error of both
on simulated campaigns, and the forecast through the API for the shop and the factory."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from laotie.core.clock import FrozenClock
from laotie.sim.campaign_forecast import evaluate
from laotie.supply import forecast as f
from tests.supply.campaign_world import buyers, commit_and_pay, make_campaign_world, open_campaign


def test_half_an_exact_bass_curve_gives_its_end() -> None:
    m, p, q = 400.0, 1.2, 4.0
    elapsed = [i / 100 for i in range(1, 51)]
    units = [round(m * f.bass_share(t, p, q)) for t in elapsed]
    made = f.forecast(elapsed, units, 0.5, rush=0.0)
    assert made.method == f.BASS
    assert abs(made.units - m * f.bass_share(1.0, p, q)) / (m * f.bass_share(1.0, p, q)) < 0.03


def test_too_few_commitments_are_forecast_at_their_pace() -> None:
    made = f.forecast([0.1, 0.25], [3, 5], 0.25, rush=0.0)
    assert (made.method, made.units) == (f.PACE, 20)
    assert f.pace_units(9, 0.9) == 10
    assert f.pace_units(9, 1.0) == 9
    assert f.forecast([0.2], [0], 0.2).units == 0


def test_the_rush_is_the_median_share_of_the_last_tenth() -> None:
    curves = [([0.5, 0.95], [8, 10]), ([0.3, 0.99], [5, 10]), ([0.2], [4]), ([0.1], [0])]
    assert f.calibrated_rush(curves) == pytest.approx(0.2)  # shares 0.2, 0.5, 0.0: the median


def test_on_simulated_campaigns_the_bass_curve_beats_the_pace() -> None:
    found = evaluate(campaigns=40, seed=3)
    assert found["campaigns"] == 40 and 0.0 <= found["rush"] < 0.3
    assert found["mape"]["bass"] < found["mape"]["pace"]


async def test_the_shop_and_its_factory_read_the_forecast(
    client: httpx.AsyncClient, uow: Any, clock: FrozenClock
) -> None:
    world = await make_campaign_world(client, uow)
    campaign = await open_campaign(client, world, clock)  # a day long
    people = await buyers(client, 2)
    clock.advance(timedelta(hours=3))
    await commit_and_pay(client, people[0], campaign["id"], quantity=2)
    clock.advance(timedelta(hours=3))  # a quarter of the time gone
    path = f"/api/campaigns/{campaign['id']}/forecast"
    seen = await client.get(path, headers=world.seller.headers)
    assert seen.status_code == 200, seen.text
    body = seen.json()
    assert (body["committed"], body["method"], body["elapsed"]) == (2, "pace", 0.25)
    assert body["forecast_units"] == f.pace_units(2, 0.25) and body["reaches_moq"] is True
    factory = await client.get(path, headers=world.factory_owner.headers)
    assert factory.status_code == 200
    stranger = await client.get(path, headers=people[1].headers)
    assert stranger.status_code == 404
