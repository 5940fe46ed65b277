"""Fixed-window rate limits kept in this process (Redis-backed ones come with several workers)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from starlette.requests import HTTPConnection

from laotie.core.errors import AppError, CommonError


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

    def retry_after_s(self, key: str) -> int:
        """Return the whole seconds until this key's window starts afresh (at least 1)."""
        start, _ = self._hits.get(key, (self._now(), 0))
        return max(1, math.ceil(self.window_s - (self._now() - start)))

    def _forget_old(self, now: float) -> None:
        """Drop finished windows so that memory stays bounded."""
        self._hits = {k: v for k, v in self._hits.items() if now - v[0] < self.window_s}


def client_address(request: HTTPConnection) -> str:
    """Return the caller's address, the key of per-client limits."""
    return request.client.host if request.client else "unknown"


def check_rate(limiter: RateLimiter, request: HTTPConnection, message: str) -> None:
    """Refuse a client address over the limiter's rate with 429 and when to come back."""
    client = client_address(request)
    if not limiter.hit(client):
        retry = {"Retry-After": str(limiter.retry_after_s(client))}
        raise AppError(CommonError.RATE_LIMITED, message, 429, headers=retry)
