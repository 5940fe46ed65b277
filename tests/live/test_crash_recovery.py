"""A server killed with SIGKILL mid-sale loses no acknowledged order and no unit.

Buyers hammer a flash sale; the server (one SQLite process, or one of two workers on
PostgreSQL and Redis) is killed with SIGKILL while orders are under way, and comes back
(restarted here, or by uvicorn's supervisor). Then every order answered 201 is in the
database, the sale's units add up (in the SKU's sale bucket or in an order), and buying
goes on until the sale sells exactly its quantity: the gate rebuilt from the database
(one process) or reconciled after the in-flight timeout (Redis) lost no unit and made
none up.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections import Counter

import pytest

from laotie.bench.flashsale import (
    REGULAR_UNITS,
    LaotieProcess,
    SaleWorld,
    seed_sale,
    sqlite_server,
    verify_sale,
)
from tests.live.test_cluster import (  # noqa: F401 - fixtures
    CLUSTER_ENV,
    buy_until_sold_out,
    cluster,
    cluster_database,
    cluster_postgres,
    cluster_redis,
)

pytestmark = pytest.mark.server

QUANTITY = 150
BUYERS = 8
KILL_AFTER = 40  # acknowledged orders before the kill: the sale is well under way


async def _hammer_then(world: SaleWorld, acknowledged: list[str], kill: object) -> Counter[str]:
    """Buy until KILL_AFTER orders are acknowledged, then call `kill` while buys are in flight."""
    buying = asyncio.create_task(buy_until_sold_out(world, acknowledged))
    deadline = time.monotonic() + 30
    while len(acknowledged) < KILL_AFTER and not buying.done():
        assert time.monotonic() < deadline, "the sale did not get under way"
        await asyncio.sleep(0.01)
    assert not buying.done(), "the sale sold out before the kill"
    await asyncio.to_thread(kill)  # type: ignore[arg-type]
    return await buying


async def _sell_out(world: SaleWorld, acknowledged: list[str], database: str) -> None:
    """Buy until the database holds the sale's whole quantity in orders (or time is up)."""
    deadline = time.monotonic() + 25
    while True:
        answers = await buy_until_sold_out(world, acknowledged)
        assert answers["connection"] == 0, answers
        verdict = await verify_sale(database, world, acknowledged)
        assert verdict.oversold == 0
        if verdict.sold == world.quantity or time.monotonic() > deadline:
            return
        # Units of takes that died in flight come back once the reconciler has seen them.
        await asyncio.sleep(1)


async def _check_after_restart(world: SaleWorld, acknowledged: list[str], database: str) -> None:
    verdict = await verify_sale(database, world, acknowledged)
    assert verdict.lost == 0, f"acknowledged orders missing: {verdict.missing}"
    assert verdict.oversold == 0
    assert verdict.balanced, verdict
    await _sell_out(world, acknowledged, database)
    final = await verify_sale(database, world, acknowledged)
    assert final.lost == 0, final.missing
    assert final.oversold == 0
    assert final.sold == final.orders == world.quantity, final
    assert final.in_sale == 0
    assert final.on_hand == REGULAR_UNITS  # nothing came out of the regular stock


async def test_sigkill_of_the_single_process_loses_nothing() -> None:
    with sqlite_server(**CLUSTER_ENV) as server:
        database = server.env["LAOTIE_DATABASE_URL"]
        world = await seed_sale(server.url, buyers=BUYERS, units=QUANTITY, per_buyer_limit=QUANTITY)
        acknowledged: list[str] = []
        answers = await _hammer_then(world, acknowledged, server.kill)
        assert answers["connection"] > 0, "no buy was in flight at the kill"
        await asyncio.to_thread(server.start)
        await _check_after_restart(world, acknowledged, database)


async def test_sigkill_of_one_worker_loses_nothing(
    cluster: LaotieProcess,  # noqa: F811 - the fixture
    cluster_database: str,  # noqa: F811 - the fixture
) -> None:
    world = await seed_sale(cluster.url, buyers=BUYERS, units=QUANTITY, per_buyer_limit=QUANTITY)
    victim = cluster.worker_pids()[0]
    acknowledged: list[str] = []
    await _hammer_then(world, acknowledged, lambda: os.kill(victim, signal.SIGKILL))
    await asyncio.to_thread(_wait_for_replacement, cluster, victim)
    await _check_after_restart(world, acknowledged, cluster_database)


def _wait_for_replacement(server: LaotieProcess, victim: int) -> None:
    """Wait until the supervisor has started a new worker in place of the killed one."""
    deadline = time.monotonic() + 30
    while victim in server.worker_pids() or len(server.worker_pids()) < server.workers:
        assert time.monotonic() < deadline, "the killed worker was not replaced"
        time.sleep(0.1)
    server.wait_for_workers()
