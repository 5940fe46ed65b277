"""`laotie bench trust-attack`: how well brushing detection holds against a simulated attack.

It builds the world of `sim/trust_world.py` through the real services on a throwaway
SQLite file, once without the rings (the twin) and once per camouflage value of the
sweep, runs detection as of the world's last day and reports, over orders:

- `precision`: flagged orders that were the rings' (their shop's or camouflage) over
  flagged orders; `recall`: the rings' orders flagged over the rings' orders;
- `inflation`: a brushing shop's score once an operator confirmed every flag (its
  flagged orders excluded), minus its score in the twin, averaged over the brushing
  shops; `inflation_unflagged` is the same before any exclusion: what the attack buys.

The top-level figures are those of the camouflage-0.3 run (or of the first run).
"""

from __future__ import annotations

import asyncio
import time
from contextlib import AbstractAsyncContextManager
from dataclasses import replace
from typing import Any

from laotie.core.clock import FrozenClock
from laotie.core.context import unit_of_work
from laotie.db.engine import Database
from laotie.settings import Settings
from laotie.sim import trust_world
from laotie.sim.common import START, world_database
from laotie.sim.trust_world import World, WorldSettings
from laotie.trust import flags
from laotie.trust.schemas import FlagDecisionIn
from laotie.trust.service import shop_trust

TOP_CAMOUFLAGE = 0.3


def run_trust_attack(base: WorldSettings, sweep: list[float]) -> dict[str, Any]:
    """Build the twin and one attacked world per camouflage; return the figures."""
    return asyncio.run(_run(base, sweep))


async def _run(base: WorldSettings, sweep: list[float]) -> dict[str, Any]:
    started = time.monotonic()
    twin, twin_orders = await _twin(replace(base, fake=False))
    runs = [await _attacked(replace(base, camouflage=c), twin) for c in sweep]
    top = next((run for run in runs if run["camouflage"] == TOP_CAMOUFLAGE), runs[0])
    return {
        "benchmark": "trust-attack",
        "precision": top["precision"],
        "recall": top["recall"],
        "inflation": top["inflation"],
        "inflation_unflagged": top["inflation_unflagged"],
        "camouflage": top["camouflage"],
        "twin_orders": twin_orders,
        "sweep": runs,
        "settings": {
            key: value for key, value in vars(base).items() if key not in ("fake", "camouflage")
        },
        "seconds": round(time.monotonic() - started, 1),
    }


async def _twin(settings: WorldSettings) -> tuple[list[float], int]:
    """Build the world without its rings; return the brushing shops' scores and its orders."""
    async with _world_database() as (database, app_settings):
        world = await _build(database, app_settings, settings)
        return await _brushing_scores(database, app_settings, world), world.honest_orders


async def _attacked(settings: WorldSettings, twin: list[float]) -> dict[str, Any]:
    """Build an attacked world, detect, confirm every flag, and measure."""
    started = time.monotonic()
    async with _world_database() as (database, app_settings):
        world = await _build(database, app_settings, settings)
        unflagged = await _brushing_scores(database, app_settings, world)
        end = FrozenClock(settings.end)
        async with unit_of_work(database, app_settings, end) as ctx:
            await flags.run_detection(ctx)
            flagged = await flags.held_orders(ctx)
        await _confirm_every_flag(database, app_settings, world)
        scores = await _brushing_scores(database, app_settings, world)
    rings = world.fake_orders | world.camouflage_orders
    caught = flagged & rings
    return {
        "camouflage": settings.camouflage,
        "precision": round(len(caught) / len(flagged), 4) if flagged else 1.0,
        "recall": round(len(caught) / len(rings), 4) if rings else 1.0,
        "recall_at_brushing_shops": round(
            len(flagged & world.fake_orders) / len(world.fake_orders), 4
        )
        if world.fake_orders
        else 1.0,
        "inflation": _mean_gap(scores, twin),
        "inflation_unflagged": _mean_gap(unflagged, twin),
        "orders": world.honest_orders + len(rings),
        "fake_orders": len(world.fake_orders),
        "camouflage_orders": len(world.camouflage_orders),
        "flagged_orders": len(flagged),
        "false_positives": len(flagged - rings),
        "scores": [round(s, 2) for s in scores],
        "twin_scores": [round(s, 2) for s in twin],
        "seconds": round(time.monotonic() - started, 1),
    }


def _mean_gap(scores: list[float], twin: list[float]) -> float:
    return round(sum(a - b for a, b in zip(scores, twin, strict=True)) / len(twin), 4)


async def _build(database: Database, app_settings: Settings, settings: WorldSettings) -> World:
    """Populate the world, then place its orders one unit of work each, in time order."""
    async with unit_of_work(database, app_settings, FrozenClock(START)) as ctx:
        world = await trust_world.populate(ctx, settings)
    for plan in trust_world.all_plans(world):
        async with unit_of_work(database, app_settings, FrozenClock(plan.paid_at)) as ctx:
            order_id = await trust_world.place(ctx, world, plan)
        if plan.fake:
            world.fake_orders.add(order_id)
        elif plan.camouflage:
            world.camouflage_orders.add(order_id)
        else:
            world.honest_orders += 1
    return world


async def _confirm_every_flag(database: Database, app_settings: Settings, world: World) -> None:
    """An operator confirms each open flag, as the evaluation's worst case for the shops."""
    assert world.operator is not None
    clock = FrozenClock(world.settings.end)
    async with unit_of_work(database, app_settings, clock) as ctx:
        queue = await flags.flag_queue(ctx, world.operator, "open", 1_000, 0)
    for flag in queue:
        async with unit_of_work(database, app_settings, clock) as ctx:
            decision = FlagDecisionIn(confirm=True, note="trust-attack benchmark")
            await flags.decide_flag(ctx, world.operator, flag.id, decision)


async def _brushing_scores(database: Database, app_settings: Settings, world: World) -> list[float]:
    """The brushing shops' scores as of the world's end."""
    clock = FrozenClock(world.settings.end)
    scores = []
    async with unit_of_work(database, app_settings, clock) as ctx:
        for shop in world.shops:
            if shop.brushing:
                scores.append((await shop_trust(ctx, shop.shop_id)).score)
    return scores


def _world_database() -> AbstractAsyncContextManager[tuple[Database, Settings]]:
    """A migrated throwaway SQLite file and the settings of a world on it."""
    return world_database("trust-attack")
