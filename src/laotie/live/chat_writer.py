"""Chat lines checked and saved in batches, and shown to the room once saved.

A line whose text passed the rules waits here; a writer task takes everything waiting,
checks in one transaction that each room is live and each speaker neither muted nor
banned (two reads for the whole batch), saves the lines said rightly in one statement,
then publishes them to their rooms and tells each refused speaker why. Publishing after
the commit keeps the room's rule that an event is only ever about saved state, so a
snapshot never misses a line whose event it claims to reflect. While one batch is saved
the next gathers; under a busy room a batch holds every line of the last few ticks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from laotie.core.context import unit_of_work
from laotie.core.errors import AppError
from laotie.live.chat import ChatLine, refusals_of, save_lines
from laotie.live.room import room_name
from laotie.realtime.events import RoomEvent

log = logging.getLogger(__name__)

Publish = Callable[[str, RoomEvent], Awaitable[object]]
Refused = Callable[[AppError], Awaitable[None]]

# Lines waiting beyond this while the database is away are dropped, oldest first, rather
# than growing the server's memory without bound.
MAX_WAITING = 10_000
RETRY_PAUSES_S = (0.1, 0.5, 1.0, 2.0)


class ChatWriter:
    """Gather chat lines, save them a batch at a time, then publish them."""

    def __init__(self, every_s: float) -> None:
        self.every_s = every_s
        self.batches = 0  # batches saved, for the session's review and the tests
        self._waiting: list[tuple[ChatLine, Refused | None]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def add(self, line: ChatLine, refused: Refused | None = None) -> None:
        """Queue a line; it is checked, saved and shown with the next batch (or refused)."""
        if len(self._waiting) >= MAX_WAITING:
            log.warning("chat: %d lines waiting, dropping the oldest", len(self._waiting))
            del self._waiting[0]
        self._waiting.append((line, refused))
        self._wake.set()

    def start(self, state: Any, publish: Publish) -> None:
        """Start the writer task."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(state, publish), name="chat-writer")

    async def stop(self, state: Any, publish: Publish) -> None:
        """Stop the writer task, then save and publish what still waits."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        with contextlib.suppress(Exception):
            await self.flush(state, publish)

    async def flush(self, state: Any, publish: Publish) -> int:
        """Check and save every waiting line in one transaction, then publish; return how many."""
        batch, self._waiting = self._waiting, []
        if not batch:
            return 0
        lines = [line for line, _ in batch]
        try:
            async with unit_of_work(state.database, state.settings, state.clock) as ctx:
                refusals = await refusals_of(ctx, lines)
                await save_lines(ctx, [line for line in lines if line.id not in refusals])
        except BaseException:
            self._waiting[:0] = batch  # kept, in order, for the next try
            raise
        self.batches += 1
        for line, refused in batch:
            refusal = refusals.get(line.id)
            if refusal is None:
                await publish(room_name(line.session_id), line.event())
            elif refused is not None:
                with contextlib.suppress(Exception):  # the speaker may have left
                    await refused(refusal)
        return len(lines) - len(refusals)

    async def _run(self, state: Any, publish: Publish) -> None:
        failures = 0
        while True:
            await self._wake.wait()
            # Let a tick's worth of lines gather: one transaction for all of them.
            await asyncio.sleep(self.every_s)
            self._wake.clear()
            try:
                await self.flush(state, publish)
                failures = 0
            except Exception:
                log.warning("chat: saving a batch failed; retrying", exc_info=True)
                await asyncio.sleep(RETRY_PAUSES_S[min(failures, len(RETRY_PAUSES_S) - 1)])
                failures += 1
                self._wake.set()
