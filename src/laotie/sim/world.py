"""The simulated world: buyers, shops and anchors living through days on the real services.

One event at a time, in simulated time: the stage's agenda (`sim/stage.py`) holds every
coming event (a feed opened, a visit ended, an order paid, a parcel shipped, a show
gone live, the daily jobs ...), the clock jumps to the next one and it runs through the
services, in-process, on a fresh SQLite file migrated with the project's migrations.
Every draw comes from generators named by the seed, and every id the services make is
drawn from one of them (`core.ids.drawn_from`), so the same seed gives the same world
and a byte-identical summary. The parameters and assumptions: `sim/settings.py` and
docs/simulation.md.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from laotie.core.clock import FrozenClock
from laotie.core.ids import drawn_from
from laotie.sim import buyers, shows
from laotie.sim.agents import World, populate
from laotie.sim.common import CATEGORIES, START, world_database
from laotie.sim.report import Report, measure
from laotie.sim.settings import ShopKind, WorldSettings
from laotie.sim.stage import Stage, make_state

__all__ = ["ShopKind", "WorldSettings", "expected_counts", "simulate"]

DayDone = Callable[[int], None]


@dataclass(frozen=True)
class Outcome:
    """A world's measures, and how long it took to play."""

    report: Report
    seconds: float
    events: int
    spent: list[tuple[str, float]]  # wall seconds by kind of event, most first


async def simulate(
    settings: WorldSettings, folder: Path | None = None, on_day: DayDone | None = None
) -> Outcome:
    """Play a world from its seed, day by day; measure it from its database at the end."""
    started = time.monotonic()
    async with world_database("world", folder) as (database, server):
        app_settings = server.model_copy(update={"feed_board_seconds": settings.feed_board_seconds})
        clock = FrozenClock(START - timedelta(days=1))
        stage = Stage(make_state(database, app_settings, clock), clock, settings.seed)
        world = World(settings, stage)
        with drawn_from(stage.rng("ids")):
            async with stage.uow() as ctx:
                await populate(ctx, world)
            for day in range(settings.days):
                await _play_day(world, day)
                if on_day is not None:
                    on_day(day)
            await buyers.write_impressions(world)
            await shows.run_jobs(world, shows.DAILY_JOBS)
            async with stage.uow() as ctx:
                report = await measure(ctx, world)
    report.summary["expected"] = expected_counts(settings)
    spent = sorted(stage.spent.items(), key=lambda pair: -pair[1])
    return Outcome(report, time.monotonic() - started, stage.events, spent)


async def _play_day(world: World, day: int) -> None:
    """Put the day's routine and the buyers' feed opens on the agenda; play the day."""
    stage, midnight = world.stage, START + timedelta(days=day)
    stage.at(midnight + shows.DAILY_AT, shows.daily_jobs, world)
    for hour in range(24):
        stage.at(midnight + timedelta(hours=hour, minutes=5), shows.hourly_jobs, world)
    stage.at(midnight + shows.SCHEDULE_AT, shows.schedule_day, world, midnight)
    buyers.plan_day(world, midnight)
    await stage.run_until(midnight + timedelta(days=1))


def expected_counts(settings: WorldSettings) -> dict[str, int]:
    """Roughly how many feed opens, visits and orders a world's parameters make, before churn.

    Trust is taken at its prior; tastes and budgets are averaged over
    draws of a generator of their own (not the world's), so that the estimate is fixed.
    """
    s = settings
    opens = s.buyers * s.opens_per_day * s.days
    tastes, afford = _typical(s)
    mean = sum(tastes) / len(tastes)
    # The feed holds the rooms live at an open: on average the shows' hours over the day's.
    length = sum(s.show_length_hours) / 2
    live = s.shops * s.show_share * length / (s.open_hours[1] - s.open_hours[0])
    miss = 1.0
    for place in range(min(s.feed_size, max(1, round(live)))):
        miss *= 1 - min(s.click_base * s.click_decay**place * mean, 0.95)
    visits = opens * (1 - miss)
    # A room is entered in proportion to the taste for it, so entered rooms are liked more.
    liked = sum(t * t for t in tastes) / sum(tastes)
    orders = visits * s.buy_base * liked * afford * s.pay_share
    shows_ = s.shops * s.show_share * s.days
    brushing = s.kind_counts()[ShopKind.BRUSHING]
    fake = s.show_share * s.days * brushing * s.burst_share * s.burst_accounts * s.burst_orders
    return {
        "feed_opens": round(opens),
        "visits": round(visits),
        "orders": round(orders),
        "fake_orders": round(fake),
        "shows": round(shows_),
    }


def _typical(s: WorldSettings, draws: int = 2_000) -> tuple[list[float], float]:
    """Draws of a category's taste, and the mean affordability of a shop's price."""
    rng = random.Random(0)  # noqa: S311 - an estimate's draws, apart from the world's
    tastes, afford = [], 0.0
    for _ in range(draws):
        raw = [rng.gammavariate(s.taste_shape, 1.0) for _ in CATEGORIES]
        tastes.append(raw[0] / max(raw))
        budget = rng.lognormvariate(math.log(s.budget_median_yuan), s.budget_sigma)
        price = rng.lognormvariate(math.log(s.price_median_yuan), s.price_sigma)
        afford += min(1.0, budget / min(max(price, 10.0), 1_000.0)) ** 2
    return tastes, afford / draws
