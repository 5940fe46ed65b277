"""Periodic jobs: each feature declares its own; a runner calls them on an interval.

Every job is idempotent and re-checks state under a lock, so two workers running the same
sweep at once do no harm; the sweeps only move work whose deadline has passed. Still, a
sweep runs once per cluster, not once per worker: the runner that holds the jobs lease
(`RedisLease`, a key in Redis renewed on every tick) runs them, and the others stand by to
take over when it stops renewing. One process alone always holds it (`SoleLease`).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import Select
from starlette.datastructures import State

from laotie.core.context import Ctx, unit_of_work_for
from laotie.core.stopping import Stop

log = logging.getLogger(__name__)
SWEEP_BATCH = 200  # items a sweep moves in one run at most


@dataclass(frozen=True, slots=True)
class Job:
    """A named sweep that returns how many things it moved."""

    name: str
    run: Callable[[State], Awaitable[int]]


async def sweep(
    state: State,
    due: Callable[[Ctx], Select[str]],
    act: Callable[[Ctx, str], Awaitable[bool]],
    batch: int = SWEEP_BATCH,
) -> int:
    """Find due ids in one transaction, then act on each in its own, so one failure stays
    alone; return how many moved (`act` re-checks each under its lock)."""
    async with unit_of_work_for(state) as ctx:
        ids = list(await ctx.db.scalars(due(ctx).limit(batch)))
    moved = 0
    for item_id in ids:
        async with unit_of_work_for(state) as ctx:
            moved += bool(await act(ctx, item_id))
    return moved


async def run_jobs_once(state: State, jobs: Sequence[Job]) -> dict[str, int]:
    """Run every job once; a failing job is logged and does not stop the others."""
    moved: dict[str, int] = {}
    for job in jobs:
        try:
            moved[job.name] = await job.run(state)
        except Exception:
            log.exception("job failed", extra={"job": job.name})
            moved[job.name] = -1
    return moved


class JobsLease(Protocol):
    """Who runs the cluster's sweeps: `hold` answers whether this runner does, this tick."""

    async def hold(self) -> bool:
        """Take or renew the lease; return whether this runner holds it."""
        ...

    async def release(self) -> None:
        """Give the lease up, so that another runner takes over at once."""
        ...


class SoleLease:
    """The lease of a process that runs alone: always held."""

    async def hold(self) -> bool:
        """Hold it."""
        return True

    async def release(self) -> None:
        """Nothing to give up."""


# Take the lease if nobody holds it, renew it if we do; answer 1 when we hold it.
_HOLD_LEASE = """
local holder = redis.call('GET', KEYS[1])
if holder == false then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
"""

_RELEASE_LEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


@dataclass
class RedisLease:
    """The jobs lease in Redis: held by one runner of the cluster, lost if not renewed.

    When Redis cannot answer, the runner runs the sweeps anyway: they are idempotent, and
    a sale left running past its end would cost more than a sweep run twice.
    """

    redis: Any
    ttl_s: float
    key: str = "laotie:jobs:lease"
    owner: str = field(default_factory=lambda: secrets.token_hex(8))

    async def hold(self) -> bool:
        """Take or renew the lease; return whether this runner holds it."""
        try:
            held = await self.redis.eval(_HOLD_LEASE, 1, self.key, self.owner, self._ttl_ms())
        except Exception:
            log.warning("the jobs lease could not be checked; running the sweeps", exc_info=True)
            return True
        return bool(held)

    async def release(self) -> None:
        """Give the lease up if this runner holds it."""
        try:
            await self.redis.eval(_RELEASE_LEASE, 1, self.key, self.owner)
        except Exception:
            log.warning("the jobs lease could not be released; it will lapse", exc_info=True)

    def _ttl_ms(self) -> int:
        return max(1, int(self.ttl_s * 1000))


async def run_jobs_forever(
    state: State, jobs: Sequence[Job], interval_s: float, stop: Stop, lease: JobsLease
) -> None:
    """Run the jobs on an interval, while this runner holds the lease, until stopped."""
    try:
        while not stop.requested:
            if await lease.hold():
                moved = await run_jobs_once(state, jobs)
                busy = {name: count for name, count in moved.items() if count}
                if busy:
                    log.info("jobs ran", extra={"moved": busy})
            await stop.pause(interval_s)
    finally:
        await lease.release()
