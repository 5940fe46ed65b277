"""Fixed-window rate limits kept in this process (Redis-backed ones come with several workers)."""

from __future__ import annotations

import time
from collections.abc import Callable


class RateLimiter:
    """Allow at most `limit` hits per key in each window of `window_s` seconds."""

    def __init__(
        self, limit: int, window_s: float, now: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window_s = window_s
        self._now = now
        self._hits: dict[str, tuple[float, int]] = {}

    def hit(self, key: str) -> bool:
        """Count one hit; tell whether it is within the limit."""
        now = self._now()
        start, count = self._hits.get(key, (now, 0))
        if now - start >= self.window_s:
            start, count = now, 0
        if count >= self.limit:
            return False
        self._hits[key] = (start, count + 1)
        if len(self._hits) > 100_000:
            self._forget_old(now)
        return True

    def _forget_old(self, now: float) -> None:
        """Drop finished windows so that memory stays bounded."""
        self._hits = {k: v for k, v in self._hits.items() if now - v[0] < self.window_s}
