"""Sweeps once per cluster: the jobs lease in a real Redis, and runners that share it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from starlette.datastructures import State

from laotie.bench.common import free_port
from laotie.core.jobs import Job, RedisLease, run_jobs_forever
from laotie.core.stopping import Stop, finish


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    try:
        yield client
    finally:
        await client.aclose()


def _key() -> str:
    return f"test:jobs:{uuid.uuid4().hex[:8]}"


async def test_one_runner_holds_the_lease_until_it_gives_it_up(redis: Redis) -> None:
    key = _key()
    first, second = RedisLease(redis, 10, key), RedisLease(redis, 10, key)
    assert await first.hold()
    assert not await second.hold()
    assert await first.hold()  # renewed
    await second.release()  # not its own: nothing happens
    assert not await second.hold()
    await first.release()
    assert await second.hold()
    assert not await first.hold()


async def test_a_lease_not_renewed_lapses_to_a_standby(redis: Redis) -> None:
    key = _key()
    first, standby = RedisLease(redis, 0.1, key), RedisLease(redis, 0.1, key)
    assert await first.hold()
    await asyncio.sleep(0.25)  # the holder died: no renewal
    assert await standby.hold()
    assert not await first.hold()


async def test_two_runners_sharing_the_lease_run_each_sweep_once(redis: Redis) -> None:
    key = _key()
    runs: list[str] = []
    ran = asyncio.Event()

    def runner(name: str) -> tuple[Stop, asyncio.Task[None]]:
        async def sweep(_state: State) -> int:
            runs.append(name)
            ran.set()
            return 0

        stop = Stop()
        lease = RedisLease(redis, 1.0, key)
        jobs = [Job("sweep", sweep)]
        return stop, asyncio.create_task(run_jobs_forever(State(), jobs, 0.02, stop, lease))

    stop_a, task_a = runner("a")
    await asyncio.wait_for(ran.wait(), 5)  # a holds the lease before b starts
    stop_b, task_b = runner("b")
    await asyncio.sleep(0.3)
    assert set(runs) == {"a"}  # b stands by
    await finish([task_a], stop_a, grace_s=5)  # a stops and gives the lease up...
    await asyncio.sleep(0.2)
    await finish([task_b], stop_b, grace_s=5)
    assert runs[-1] == "b"  # ...and b took over at once
    assert await redis.exists(key) == 0


async def test_without_redis_the_sweeps_still_run() -> None:
    nobody = Redis(host="127.0.0.1", port=free_port(), retry=Retry(NoBackoff(), 0))
    try:
        lease = RedisLease(nobody, 1.0, _key())
        assert await lease.hold()  # idempotent sweeps: better twice than never
        await lease.release()  # logged, not raised
    finally:
        await nobody.aclose()
