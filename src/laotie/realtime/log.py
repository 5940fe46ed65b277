"""Room logs: each room's events in order, numbered, kept in a bounded ring for replay.

In one process the log is an in-memory ring; with several workers it is a Redis Stream
per room. A reader that asks for events older than the ring holds gets None and must
take a fresh snapshot instead.
"""

from __future__ import annotations

import secrets
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol, runtime_checkable

from laotie.realtime.events import RoomEvent, Seq


class RoomLog(Protocol):
    """Where a room's events are numbered and kept for replay."""

    async def append(self, room: str, event: RoomEvent) -> RoomEvent:
        """Number an event, keep it, and return it with its sequence number."""
        ...

    async def read_head(self, room: str) -> Seq:
        """Return the sequence number of the newest event (n=0 when none)."""
        ...

    async def read_since(self, room: str, after: Seq) -> Sequence[RoomEvent] | None:
        """Return the events newer than `after`, or None if they are no longer all kept."""
        ...


@runtime_checkable
class SharedRoomLog(RoomLog, Protocol):
    """A log that several processes append to; each follows it to deliver to its viewers."""

    async def follow(self, room: str, after: Seq, block_ms: int) -> Sequence[RoomEvent] | None:
        """Wait up to `block_ms` for events after `after`; None when the log restarted."""
        ...


@dataclass
class _Ring:
    events: deque[RoomEvent]
    last: int = 0


@dataclass
class MemoryRoomLog:
    """A room log for one process: a ring of the last `keep` events per room."""

    keep: int = 1_000
    epoch: str = field(default_factory=lambda: secrets.token_hex(4))
    _rooms: dict[str, _Ring] = field(default_factory=dict)

    async def append(self, room: str, event: RoomEvent) -> RoomEvent:
        """Number an event and keep it."""
        ring = self._ring(room)
        ring.last += 1
        numbered = replace(event, seq=Seq(self.epoch, ring.last))
        ring.events.append(numbered)
        return numbered

    async def read_head(self, room: str) -> Seq:
        """Return the newest sequence number of a room."""
        return self.head(room)

    async def read_since(self, room: str, after: Seq) -> Sequence[RoomEvent] | None:
        """Return the events after `after`, or None when the ring no longer has them all."""
        return self.since(room, after)

    def head(self, room: str) -> Seq:
        """Return the newest sequence number of a room."""
        ring = self._rooms.get(room)
        return Seq(self.epoch, ring.last if ring else 0)

    def since(self, room: str, after: Seq) -> Sequence[RoomEvent] | None:
        """Return the events after `after`, or None when the ring no longer has them all."""
        if after.epoch != self.epoch:
            return None
        ring = self._rooms.get(room)
        if ring is None:
            return [] if after.n == 0 else None
        if after.n > ring.last:
            return None
        oldest = ring.last - len(ring.events)  # the last n the ring has forgotten
        if after.n < oldest:
            return None
        return list(ring.events)[after.n - oldest :]

    def forget(self, room: str) -> None:
        """Drop a finished room's events."""
        self._rooms.pop(room, None)

    def _ring(self, room: str) -> _Ring:
        ring = self._rooms.get(room)
        if ring is None:
            ring = self._rooms[room] = _Ring(deque(maxlen=self.keep))
        return ring
