"""Stopping background loops between their steps, never inside one.

A loop task cancelled in the middle of a unit of work has its connection's rollback cut
short, and a batch whose transaction was committing in a thread is then retried as if it
had failed. So loops stop the polite way: they pause on a `Stop`, which wakes them at
once when requested, and they finish the step they are in.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Collection
from typing import Any


class Stop:
    """A request that loops check between steps; their pauses end as soon as it is made."""

    def __init__(self) -> None:
        self._requested = asyncio.Event()

    @property
    def requested(self) -> bool:
        """Tell whether the loops should stop."""
        return self._requested.is_set()

    def request(self) -> None:
        """Ask the loops to stop; those pausing wake now."""
        self._requested.set()

    def withdraw(self) -> None:
        """Let the loops run again (a restart)."""
        self._requested.clear()

    async def pause(self, seconds: float) -> bool:
        """Wait `seconds`, or less if a stop is requested; return whether to go on."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._requested.wait(), seconds)
        return not self.requested


async def finish(tasks: Collection[asyncio.Task[Any]], stop: Stop, grace_s: float) -> None:
    """Request the stop and let the loops finish their step; cancel those past `grace_s`."""
    stop.request()
    if not tasks:
        return
    _, stuck = await asyncio.wait(tasks, timeout=grace_s)
    for task in stuck:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
