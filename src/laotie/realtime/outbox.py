"""A viewer's outbox: bounded, coalescing, priority-preserving; flushed as one frame per tick.

Each viewer receives at most one WebSocket message per tick (100 ms: at most ten a
second) carrying every event queued since the last tick. Ordinary events beyond the
bound are dropped (oldest first) and counted; events with a coalesce key (state such as
stock left) replace the queued one with the same key and are never dropped; priority
events are never dropped. A viewer whose undroppable events exceed the hard bound cannot
keep up and is cut off, so a slow consumer never grows the server's memory.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from laotie.realtime.events import RoomEvent


class SlowConsumerError(Exception):
    """The viewer cannot keep up and must be disconnected."""


@dataclass
class Outbox:
    """Events waiting for one viewer's next tick."""

    soft_limit: int = 100
    hard_limit: int = 1_000
    dropped: int = 0
    # In order; read directly by the hub's per-tick loop, where a call per viewer shows.
    queue: OrderedDict[object, RoomEvent] = field(default_factory=OrderedDict)
    _kept: int = 0  # queued events that may not be dropped: priority or coalescing
    _counter: int = 0

    def put(self, event: RoomEvent) -> None:
        """Queue an event, coalescing and dropping ordinary ones as the bounds say."""
        if event.coalesce is not None and event.coalesce in self.queue:
            # Keep the position of the first, so the viewer sees a stable order.
            self.queue[event.coalesce] = event
            return
        key: object = event.coalesce if event.coalesce is not None else self._next_key()
        self.queue[key] = event
        if _undroppable(event):
            self._kept += 1
            if self._kept > self.hard_limit:
                raise SlowConsumerError("too many undelivered events that cannot be dropped")
        while len(self.queue) - self._kept > self.soft_limit:
            self._drop_oldest_ordinary()

    def take(self) -> list[dict[str, Any]]:
        """Return every queued frame in order and empty the outbox."""
        return [event.frame() for event in self.take_events()]

    def take_events(self) -> list[RoomEvent]:
        """Return every queued event in order and empty the outbox."""
        events = list(self.queue.values())
        self.queue.clear()
        self._kept = 0
        return events

    def clear(self) -> None:
        """Forget everything queued (the viewer takes a fresh snapshot instead)."""
        self.queue.clear()
        self._kept = 0

    def __len__(self) -> int:
        return len(self.queue)

    def _next_key(self) -> int:
        self._counter += 1
        return self._counter

    def _drop_oldest_ordinary(self) -> None:
        for key, queued in self.queue.items():
            if not _undroppable(queued):
                del self.queue[key]
                self.dropped += 1
                return


def _undroppable(event: RoomEvent) -> bool:
    return event.priority or event.coalesce is not None
