"""Entries into rooms recorded in batches: one trip to the database for a crowd that joins.

When a show starts, thousands of viewers join within seconds. Each entry used to be a
transaction of its own (the session, the ban check, the visit), taking SQLite's single
writer in turn while the event loop was crowded with the joins themselves. Entries now
wait here for a moment and are checked and recorded together (`visits.enter_many_sync`,
run by `db.engine.run_batch`); each joiner then hears its visit's id or why it may not
enter, and only then is let into the room.
"""

from __future__ import annotations

import asyncio
from typing import Any

from laotie.core.batching import BatchWriter
from laotie.core.errors import AppError, CommonError
from laotie.db.engine import run_batch
from laotie.live.room.visits import Entry, enter_many_sync

EVERY_S = 0.02
# A joiner waits this long for its batch; past it the database is away, and it is told so.
WAIT_S = 10.0

Answer = asyncio.Future[str]


class EntryWriter(BatchWriter[tuple[Entry, Answer]]):
    """Gather entries into rooms and record them a batch at a time."""

    name = "entries"

    async def enter(self, entry: Entry) -> str:
        """Record an entry with the next batch; return its visit's id, or raise the refusal."""
        answer: Answer = asyncio.get_running_loop().create_future()
        self.queue((entry, answer))
        try:
            return await asyncio.wait_for(answer, WAIT_S)
        except TimeoutError:
            raise AppError.of(CommonError.BUSY, "the room is busy; retry in a moment") from None

    async def write(self, state: Any, batch: list[tuple[Entry, Answer]]) -> int:
        """Check and record a batch of entries in one transaction, then answer each joiner."""
        waiting = [(entry, answer) for entry, answer in batch if not answer.done()]
        if not waiting:
            return 0
        now = state.clock.now()
        entries = [entry for entry, _ in waiting]
        answers = await run_batch(
            state.database, lambda connection: enter_many_sync(connection, now, entries)
        )
        for (_, answer), result in zip(waiting, answers, strict=True):
            if answer.done():  # the joiner gave up meanwhile; its visit stays recorded
                continue
            if isinstance(result, AppError):
                answer.set_exception(result)
            else:
                answer.set_result(result)
        return sum(1 for result in answers if not isinstance(result, AppError))
