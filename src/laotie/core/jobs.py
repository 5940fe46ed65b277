"""Periodic jobs: each feature declares its own; a runner calls them on an interval.

Every job is idempotent and re-checks state under a lock, so two workers running the same
sweep at once do no harm; the sweeps only move work whose deadline has passed.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from starlette.datastructures import State

from laotie.core.stopping import Stop

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Job:
    """A named sweep that returns how many things it moved."""

    name: str
    run: Callable[[State], Awaitable[int]]


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


async def run_jobs_forever(
    state: State, jobs: Sequence[Job], interval_s: float, stop: Stop
) -> None:
    """Run the jobs on an interval until a stop is requested."""
    while not stop.requested:
        moved = await run_jobs_once(state, jobs)
        busy = {name: count for name, count in moved.items() if count}
        if busy:
            log.info("jobs ran", extra={"moved": busy})
        await stop.pause(interval_s)
