"""Writers that batch: items gathered for a moment, then written together by one task.

`add` queues an item and wakes the task; the task lets a tick's worth gather (`every_s`),
then hands everything waiting to `write`, one transaction for all of it. A batch whose
write fails stays queued, in order, for the next try after a growing pause; beyond
`max_waiting` the oldest items are dropped rather than growing the server's memory while
the database is away. Stopping writes what still waits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, Generic, TypeVar

log = logging.getLogger(__name__)

Item = TypeVar("Item")

RETRY_PAUSES_S = (0.1, 0.5, 1.0, 2.0)


class BatchWriter(Generic[Item]):
    """Gather items and write them a batch at a time; subclasses say how (`write`)."""

    name = "batch"

    def __init__(self, every_s: float, max_waiting: int = 10_000) -> None:
        self.every_s = every_s
        self.max_waiting = max_waiting
        self.batches = 0  # batches written, for the review and the tests
        self._waiting: list[Item] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    async def write(self, state: Any, batch: list[Item]) -> int:
        """Write a batch in one transaction and tell whom it concerns; return a count."""
        raise NotImplementedError

    def queue(self, item: Item) -> None:
        """Queue an item for the next batch."""
        if len(self._waiting) >= self.max_waiting:
            log.warning("%s: %d items waiting, dropping the oldest", self.name, self.max_waiting)
            del self._waiting[0]
        self._waiting.append(item)
        self._wake.set()

    def start_writing(self, state: Any) -> None:
        """Start the writer task."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(state), name=f"{self.name}-writer")

    async def stop_writing(self, state: Any) -> None:
        """Let the writer task finish the batch it is writing, then write what still waits."""
        if self._task is not None:
            # Not cancelled: a batch cut off while its transaction commits in a thread
            # would be queued again and written twice.
            self._stopping = True
            self._wake.set()
            await self._task
            self._task, self._stopping = None, False
        with contextlib.suppress(Exception):
            await self.write_waiting(state)

    async def write_waiting(self, state: Any) -> int:
        """Write everything waiting as one batch now; return what `write` counted."""
        batch, self._waiting = self._waiting, []
        if not batch:
            return 0
        try:
            written = await self.write(state, batch)
        except BaseException:
            self._waiting[:0] = batch  # kept, in order, for the next try
            raise
        self.batches += 1
        return written

    async def _run(self, state: Any) -> None:
        failures = 0
        while not self._stopping:
            await self._wake.wait()
            if self._stopping:
                return  # what waits is written by `stop_writing`
            await asyncio.sleep(self.every_s)  # let a tick's worth gather
            self._wake.clear()
            try:
                await self.write_waiting(state)
                failures = 0
            except Exception:
                log.warning("%s: writing a batch failed; retrying", self.name, exc_info=True)
                await asyncio.sleep(RETRY_PAUSES_S[min(failures, len(RETRY_PAUSES_S) - 1)])
                failures += 1
                self._wake.set()
