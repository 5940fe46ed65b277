"""Room events and their sequence numbers (a counter that carries the log's epoch)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True, order=True)
class Seq:
    """A position in a room's log; the epoch changes when the log restarts."""

    epoch: str
    n: int

    def __str__(self) -> str:
        return f"{self.epoch}:{self.n}"

    @classmethod
    def parse(cls, text: str) -> Seq | None:
        """Read `epoch:n`; None when malformed."""
        epoch, _, number = text.rpartition(":")
        if not epoch or not number.isdigit() or len(text) > 80:
            return None
        return cls(epoch, int(number))


@dataclass(frozen=True, slots=True)
class RoomEvent:
    """Something that happened in a room; priority events are never dropped for a viewer."""

    type: str
    data: dict[str, Any]
    priority: bool = False
    # Events with the same coalesce key replace each other in a viewer's outbox (stock left,
    # like counts): only the newest matters.
    coalesce: str | None = None
    seq: Seq | None = field(default=None, compare=False)

    def frame(self) -> dict[str, Any]:
        """Return the JSON-ready wire form."""
        return {"type": self.type, "seq": str(self.seq) if self.seq else None, "data": self.data}
