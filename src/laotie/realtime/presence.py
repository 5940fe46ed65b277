"""Online counts and rate limits that every worker sees alike: in memory or in Redis.

`now` is wall-clock seconds (time.time()): workers compare one another's times, which a
monotonic clock cannot do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from redis.asyncio import Redis

from laotie.core.ratelimit import RateLimiter


class Presence(Protocol):
    """Who has been in a room lately."""

    async def touch(self, room: str, viewer_id: str, now: float) -> None:
        """Note that a viewer is in the room (on joining and on each heartbeat)."""
        ...

    async def leave(self, room: str, viewer_id: str) -> None:
        """Note that a viewer left."""
        ...

    async def count(self, room: str, now: float) -> int:
        """Return how many viewers were seen in the last `window_s` seconds."""
        ...


class MemoryPresence:
    """Presence for one process.

    Counting does not look at every viewer each time: a room keeps a time no later than
    its viewers' oldest sighting, and only once that falls out of the window are the gone
    viewers looked for (a crowd joining asks for the count once per joiner).
    """

    def __init__(self, window_s: float = 60.0) -> None:
        self.window_s = window_s
        self._seen: dict[str, dict[str, float]] = {}
        self._oldest: dict[str, float] = {}  # at or before each room's oldest sighting

    async def touch(self, room: str, viewer_id: str, now: float) -> None:
        """Note that a viewer is in the room."""
        self._seen.setdefault(room, {})[viewer_id] = now
        oldest = self._oldest.get(room)
        if oldest is None or now < oldest:
            self._oldest[room] = now

    async def leave(self, room: str, viewer_id: str) -> None:
        """Note that a viewer left."""
        seen = self._seen.get(room)
        if seen is not None:
            seen.pop(viewer_id, None)
            if not seen:
                del self._seen[room]
                self._oldest.pop(room, None)

    async def count(self, room: str, now: float) -> int:
        """Return how many viewers were seen lately, forgetting the others."""
        seen = self._seen.get(room)
        if not seen:
            return 0
        since = now - self.window_s
        if self._oldest.get(room, since) > since:
            return len(seen)  # nobody can have gone quiet yet
        for viewer_id in [v for v, at in seen.items() if at <= since]:
            del seen[viewer_id]
        if seen:
            self._oldest[room] = min(seen.values())
        else:
            del self._seen[room]
            self._oldest.pop(room, None)
        return len(seen)


class RedisPresence:
    """Presence shared by workers: a sorted set per room, scored by the time last seen."""

    def __init__(self, redis: Redis, window_s: float = 60.0, prefix: str = "presence") -> None:
        self.redis = redis
        self.window_s = window_s
        self.prefix = prefix

    def key(self, room: str) -> str:
        """Return the room's sorted set."""
        return f"{self.prefix}:{{{room}}}"

    async def touch(self, room: str, viewer_id: str, now: float) -> None:
        """Note that a viewer is in the room, and forget those gone quiet."""
        key = self.key(room)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zadd(key, {viewer_id: now})
            pipe.zremrangebyscore(key, "-inf", now - self.window_s)
            pipe.pexpire(key, int(self.window_s * 2_000))
            await pipe.execute()

    async def leave(self, room: str, viewer_id: str) -> None:
        """Note that a viewer left."""
        await self.redis.zrem(self.key(room), viewer_id)

    async def count(self, room: str, now: float) -> int:
        """Return how many viewers were seen in the last `window_s` seconds."""
        return int(await self.redis.zcount(self.key(room), f"({now - self.window_s}", "+inf"))


class AsyncRateLimiter(Protocol):
    """Allow at most a number of hits per key in each window."""

    async def hit(self, key: str) -> bool:
        """Count one hit; tell whether it is within the limit."""
        ...


class MemoryRateLimiter:
    """The in-process fixed-window limiter behind the async interface."""

    def __init__(self, limit: int, window_s: float, now: Callable[[], float] | None = None) -> None:
        self._limiter = (
            RateLimiter(limit, window_s) if now is None else RateLimiter(limit, window_s, now)
        )

    async def hit(self, key: str) -> bool:
        """Count one hit; tell whether it is within the limit."""
        return self._limiter.hit(key)


# A window starts at its first hit and lasts window_ms; refused hits are counted too, which
# changes nothing for the caller and keeps this to one atomic step.
_HIT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return count
"""


class RedisRateLimiter:
    """Fixed-window rate limits shared by workers: INCR and PEXPIRE in one Lua call."""

    def __init__(self, redis: Redis, limit: int, window_s: float, prefix: str = "rate") -> None:
        self.limit = limit
        self.window_ms = max(1, int(window_s * 1000))
        self.prefix = prefix
        self._hit = redis.register_script(_HIT)

    async def hit(self, key: str) -> bool:
        """Count one hit; tell whether it is within the limit."""
        count = await self._hit(keys=[f"{self.prefix}:{key}"], args=[self.window_ms])
        return int(count) <= self.limit
