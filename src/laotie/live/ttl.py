"""A small time-bounded cache of one process, for answers a crowd asks again and again."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


@dataclass
class TtlCache(Generic[K, V]):
    """Values kept for `ttl_s` seconds, at most `max_entries` of them (the oldest go first)."""

    ttl_s: float
    max_entries: int = 100_000
    _entries: dict[K, tuple[float, V]] = field(default_factory=dict)

    def get(self, key: K) -> V | None:
        """Return the value if it is still fresh."""
        entry = self._entries.get(key)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, key: K, value: V) -> None:
        """Keep a value for the cache's time."""
        if len(self._entries) >= self.max_entries:
            self._entries.pop(next(iter(self._entries)))
        self._entries[key] = (time.monotonic() + self.ttl_s, value)

    def forget(self, key: K) -> None:
        """Drop a value (it changed here)."""
        self._entries.pop(key, None)
