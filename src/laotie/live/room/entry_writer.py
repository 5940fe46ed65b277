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
from dataclasses import replace
from typing import Any

from laotie.core.batching import BatchWriter
from laotie.core.errors import AppError, CommonError
from laotie.core.ids import new_id
from laotie.db.engine import run_batch
from laotie.live.room.visits import Entry, enter_many_sync

EVERY_S = 0.02
# A joiner waits this long for its batch; past it the database is away, and it is told so.
WAIT_S = 10.0
# Rooms remembered as existing (sessions are never deleted); forgotten all at once past it.
MAX_KNOWN_ROOMS = 10_000

Answer = asyncio.Future[str]


class EntryWriter(BatchWriter[tuple[Entry, Answer]]):
    """Gather entries into rooms and record them a batch at a time."""

    name = "entries"

    def __init__(self, every_s: float, max_waiting: int = 10_000) -> None:
        super().__init__(every_s, max_waiting)
        self._known: set[str] = set()  # rooms an entry was recorded into

    async def enter(self, entry: Entry) -> str:
        """Record an entry with the next batch; return its visit's id, or raise the refusal."""
        answer: Answer = asyncio.get_running_loop().create_future()
        self.queue((entry, answer))
        try:
            return await asyncio.wait_for(answer, WAIT_S)
        except TimeoutError:
            raise busy() from None

    def enter_soon(self, entry: Entry) -> tuple[str, Answer] | None:
        """Queue an entry that cannot be refused but by the database being away.

        Only for an anonymous visitor into a room known to exist (None otherwise: then
        `enter`). Return the visit's id, and the answer that holds the refusal should the
        entry not be recorded within `WAIT_S`.
        """
        if entry.user_id is not None or entry.session_id not in self._known:
            return None
        loop = asyncio.get_running_loop()
        answer: Answer = loop.create_future()
        entry = replace(entry, visit_id=new_id("vst"))
        self.queue((entry, answer))
        timer = loop.call_later(WAIT_S, _give_up, answer)
        answer.add_done_callback(lambda _: timer.cancel())
        return entry.visit_id, answer

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
        for (entry, answer), result in zip(waiting, answers, strict=True):
            if not isinstance(result, AppError):
                self._remember(entry.session_id)
            if answer.done():  # the joiner gave up meanwhile; its visit stays recorded
                continue
            if isinstance(result, AppError):
                answer.set_exception(result)
            else:
                answer.set_result(result)
        return sum(1 for result in answers if not isinstance(result, AppError))

    def _remember(self, session_id: str) -> None:
        if session_id not in self._known:
            if len(self._known) >= MAX_KNOWN_ROOMS:
                self._known.clear()
            self._known.add(session_id)


def busy() -> AppError:
    """Refuse an entry that could not be recorded in time."""
    return AppError.of(CommonError.BUSY, "the room is busy; retry in a moment")


def _give_up(answer: Answer) -> None:
    if not answer.done():
        answer.set_exception(busy())
