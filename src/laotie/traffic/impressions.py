"""The recommendation feed's impressions: logged, and counted per room for its ranking.

A feed request only reads; what it showed is queued to `ImpressionWriter`, which writes a
batch at a time (one INSERT of log rows, one upsert of the rooms' counts) off the
request's path. The simulated world, which must not wait on a timer, has the same
writer write what waits from an event on its agenda (`BatchWriter.write_waiting`).
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select

from laotie.core.batching import BatchWriter
from laotie.core.context import Ctx, unit_of_work_for
from laotie.db.bulk import dialect_insert
from laotie.traffic.models import FeedImpression, FeedRoomCount

# The feed's impressions are written every this many seconds: seldom, because on SQLite
# each batch makes the requests of its moment wait for the one writer.
EVERY_S = 2.0


@dataclass(frozen=True, slots=True)
class Impression:
    """A room shown to a viewer at a place of its feed."""

    viewer_key: str
    session_id: str
    position: int
    promoted: bool
    shown_at: datetime

    def row(self) -> dict[str, Any]:
        """Return the impression as a `feed_impressions` row."""
        return {
            "viewer_key": self.viewer_key,
            "session_id": self.session_id,
            "position": self.position,
            "promoted": self.promoted,
            "shown_at": self.shown_at,
        }


async def do_record_impressions(ctx: Ctx, shown: Sequence[Impression]) -> int:
    """Log these impressions and add them to their rooms' counts; return how many."""
    if not shown:
        return 0
    await ctx.db.execute(_LOG, [seen.row() for seen in shown])
    now = ctx.now()
    counts = [
        {"session_id": room, "impressions": count, "promoted": promoted, "updated_at": now}
        for room, (count, promoted) in sorted(_per_room(shown).items())
    ]
    await ctx.db.execute(_count_up(ctx), counts)  # one statement for all the rooms
    return len(shown)


def _per_room(shown: Sequence[Impression]) -> dict[str, tuple[int, int]]:
    """Return (impressions, promoted ones) of each room among these."""
    counts = Counter(seen.session_id for seen in shown)
    promoted = Counter(seen.session_id for seen in shown if seen.promoted)
    return {room: (count, promoted[room]) for room, count in counts.items()}


def _count_up(ctx: Ctx) -> Any:
    """Return the upsert that adds to a room's counts, for the database's dialect."""
    return _count_up_in(ctx.db.get_bind().dialect.name)


@functools.cache
def _count_up_in(dialect: str) -> Any:
    """Build the upsert of a dialect once: building it costs more than running it."""
    upsert = dialect_insert(dialect, FeedRoomCount)
    return upsert.on_conflict_do_update(
        index_elements=[FeedRoomCount.session_id],
        set_={
            "impressions": FeedRoomCount.impressions + upsert.excluded.impressions,
            "promoted": FeedRoomCount.promoted + upsert.excluded.promoted,
            "updated_at": upsert.excluded.updated_at,
        },
    )


async def impression_counts(ctx: Ctx, session_ids: Sequence[str]) -> dict[str, int]:
    """Return how often the feed has shown each of these sessions (absent: never)."""
    if not session_ids:
        return {}
    rows = await ctx.db.execute(_COUNTS, {"ids": list(session_ids)})
    return {session_id: int(count) for session_id, count in rows}


_LOG = insert(FeedImpression)
_COUNTS = select(FeedRoomCount.session_id, FeedRoomCount.impressions).where(
    FeedRoomCount.session_id.in_(bindparam("ids", expanding=True))
)


class ImpressionWriter(BatchWriter[Impression]):
    """Write the feed's impressions a batch at a time, off the requests' path."""

    name = "feed-impressions"

    async def write(self, state: Any, batch: list[Impression]) -> int:
        """Write a batch of impressions in one transaction."""
        async with unit_of_work_for(state) as ctx:
            return await do_record_impressions(ctx, batch)
