"""Online counts and rate limits agree across workers."""

from __future__ import annotations

import asyncio
import uuid

import redis.asyncio as aioredis

from laotie.realtime.presence import (
    MemoryPresence,
    MemoryRateLimiter,
    Presence,
    RedisPresence,
    RedisRateLimiter,
)


async def check_presence(first: Presence, second: Presence) -> None:
    room = f"room-{uuid.uuid4().hex}"
    await first.touch(room, "ann", 100.0)
    await second.touch(room, "bob", 110.0)
    await second.touch(room, "ann", 115.0)  # the same viewer on another worker counts once
    assert await first.count(room, 120.0) == 2
    assert await second.count(room, 120.0) == 2
    await first.leave(room, "ann")
    assert await second.count(room, 120.0) == 1
    await second.touch(room, "ann", 150.0)
    assert await first.count(room, 171.0) == 1  # bob was last seen more than 60 s ago
    assert await first.count(f"{room}-empty", 120.0) == 0


async def test_memory_presence_counts_recent_viewers() -> None:
    presence = MemoryPresence(window_s=60)
    await check_presence(presence, presence)


async def test_redis_presence_counts_viewers_of_every_worker(redis_url: str) -> None:
    clients = [aioredis.Redis.from_url(redis_url) for _ in range(2)]
    try:
        await check_presence(*(RedisPresence(client, window_s=60) for client in clients))
    finally:
        for client in clients:
            await client.aclose()


async def test_redis_rate_limit_is_shared_and_resets_after_its_window(redis_url: str) -> None:
    clients = [aioredis.Redis.from_url(redis_url) for _ in range(2)]
    prefix = f"rate-{uuid.uuid4().hex}"
    try:
        a, b = (RedisRateLimiter(client, 3, 0.3, prefix=prefix) for client in clients)
        assert [await a.hit("chat:ann"), await b.hit("chat:ann"), await a.hit("chat:ann")] == [
            True,
            True,
            True,
        ]
        assert not await b.hit("chat:ann")
        assert not await a.hit("chat:ann")
        assert await a.hit("chat:bob")  # another key has its own window
        await asyncio.sleep(0.35)
        assert await b.hit("chat:ann")
    finally:
        for client in clients:
            await client.aclose()


async def test_memory_rate_limit_speaks_the_same_interface() -> None:
    now = [0.0]
    limiter = MemoryRateLimiter(2, 1.0, now=lambda: now[0])
    assert [await limiter.hit("k") for _ in range(3)] == [True, True, False]
    now[0] = 1.5
    assert await limiter.hit("k")


async def test_memory_presence_forgets_the_quiet_whatever_order_they_were_seen_in() -> None:
    presence = MemoryPresence(window_s=60)
    await presence.touch("room", "ann", 200.0)
    await presence.touch("room", "bob", 100.0)  # an older sighting after a newer one
    assert await presence.count("room", 150.0) == 2
    assert await presence.count("room", 165.0) == 1  # bob, seen at 100, has gone quiet
    await presence.touch("room", "cid", 170.0)
    assert await presence.count("room", 229.0) == 2
    assert await presence.count("room", 255.0) == 1  # cid, seen at 170, gone; ann stays
    assert await presence.count("room", 261.0) == 0
