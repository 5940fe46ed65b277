"""Heartbeats counted in batches: one trip to the database for every viewer of a tick.

A room of thousands sends hundreds of heartbeats a second; each used to be a transaction
of its own, taking SQLite's single writer in turn. They now wait here for a moment and
are counted together (`visits.heartbeats_sync`, run by `db.engine.run_batch`), then each
viewer hears its watch time.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from laotie.core.batching import BatchWriter
from laotie.db.engine import run_batch
from laotie.live.room.visits import heartbeats_sync

# Tells the viewer its watch time, or None when its visit is unknown.
Watched = Callable[[int | None], Awaitable[None]]

EVERY_S = 0.05


class HeartbeatWriter(BatchWriter[tuple[str, Watched]]):
    """Gather heartbeats and count them a batch at a time."""

    name = "heartbeats"

    def add(self, visit_id: str, watched: Watched) -> None:
        """Queue a heartbeat; `watched` hears the visit's watch time once it is counted."""
        self.queue((visit_id, watched))

    async def write(self, state: Any, batch: list[tuple[str, Watched]]) -> int:
        """Count a batch of heartbeats in one transaction, then answer each viewer."""
        now = state.clock.now()
        visit_ids = [visit_id for visit_id, _ in batch]
        totals = await run_batch(
            state.database, lambda connection: heartbeats_sync(connection, now, visit_ids)
        )
        for visit_id, watched in batch:
            with contextlib.suppress(Exception):  # the viewer may have left
                await watched(totals.get(visit_id))
        return len(totals)
