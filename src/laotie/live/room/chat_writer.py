"""Chat lines checked and saved in batches, and shown to the room once saved.

A line whose text passed the rules waits here; a writer task takes everything waiting,
checks in one transaction that each room is live and each speaker neither muted nor
banned and reads the speakers' fan badges (three reads for the whole batch), saves the
lines said rightly in one statement, then publishes them to their rooms and tells each
refused speaker why. Publishing after the commit keeps the room's rule that an event is
only ever about saved state, so a snapshot never misses a line whose event it claims to
reflect. While one batch is saved the next gathers; under a busy room a batch holds every
line of the last few ticks.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from laotie.core.batching import BatchWriter
from laotie.core.context import unit_of_work_for
from laotie.core.errors import AppError
from laotie.live.events import room_name
from laotie.live.room.chat import ChatLine, check_batch, save_lines
from laotie.realtime.events import RoomEvent

Publish = Callable[[str, RoomEvent], Awaitable[object]]
Refused = Callable[[AppError], Awaitable[None]]


async def _nowhere(_room: str, _event: RoomEvent) -> None:
    return None


class ChatWriter(BatchWriter[tuple[ChatLine, Refused | None]]):
    """Gather chat lines, save them a batch at a time, then publish them."""

    name = "chat"

    def __init__(self, every_s: float) -> None:
        super().__init__(every_s)
        self._publish: Publish = _nowhere

    def add(self, line: ChatLine, refused: Refused | None = None) -> None:
        """Queue a line; it is checked, saved and shown with the next batch (or refused)."""
        self.queue((line, refused))

    def start(self, state: Any, publish: Publish) -> None:
        """Start the writer task, publishing saved lines with `publish`."""
        self._publish = publish
        self.start_writing(state)

    async def stop(self, state: Any, publish: Publish) -> None:
        """Stop the writer task, then save and publish what still waits."""
        self._publish = publish
        await self.stop_writing(state)

    async def flush(self, state: Any, publish: Publish) -> int:
        """Check and save every waiting line in one transaction, then publish; return how many."""
        self._publish = publish
        return await self.write_waiting(state)

    async def write(self, state: Any, batch: list[tuple[ChatLine, Refused | None]]) -> int:
        """Check and save a batch in one transaction, then publish it and tell the refused."""
        lines = [line for line, _ in batch]
        async with unit_of_work_for(state) as ctx:
            refusals, said = await check_batch(ctx, lines)
            await save_lines(ctx, said)
        badged = {line.id: line for line in said}
        for line, refused in batch:
            refusal = refusals.get(line.id)
            if refusal is None:
                await self._publish(room_name(line.session_id), badged[line.id].event())
            elif refused is not None:
                with contextlib.suppress(Exception):  # the speaker may have left
                    await refused(refusal)
        return len(lines) - len(refusals)
