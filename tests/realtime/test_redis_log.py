"""Room logs in Redis Streams: two workers deliver alike, and a lost stream starts a new epoch."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import redis.asyncio as aioredis

from laotie.realtime.events import RoomEvent, Seq
from laotie.realtime.hub import Hub
from laotie.realtime.redis_log import RedisRoomLog
from tests.realtime.conftest import RedisProcess
from tests.realtime.viewers import Client, Viewer, World


def new_room() -> str:
    return f"room-{uuid.uuid4().hex}"


@asynccontextmanager
async def workers(url: str, count: int = 2, keep: int = 1_000) -> AsyncIterator[list[Hub]]:
    """Start hubs that each have their own Redis connection, as separate workers would."""
    clients = [aioredis.Redis.from_url(url) for _ in range(count)]
    hubs = [Hub(RedisRoomLog(client, keep=keep), tick_s=0.02, block_ms=100) for client in clients]
    for hub in hubs:
        await hub.start()
    try:
        yield hubs
    finally:
        for hub in hubs:
            await hub.stop()
        for client in clients:
            await client.aclose()


async def eventually(condition: Callable[[], bool], within_s: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + within_s
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def test_the_log_numbers_events_and_replays_what_it_keeps(redis_url: str) -> None:
    client = aioredis.Redis.from_url(redis_url)
    try:
        log = RedisRoomLog(client, keep=5)
        room = new_room()
        start = await log.read_head(room)
        assert start.n == 0
        # Trimming is approximate: Redis drops whole nodes of about a hundred entries.
        numbered = [await log.append(room, RoomEvent("chat", {"i": i})) for i in range(250)]
        assert [event.seq for event in numbered] == [Seq(start.epoch, n) for n in range(1, 251)]
        assert await log.read_head(room) == Seq(start.epoch, 250)
        replay = await log.read_since(room, Seq(start.epoch, 247))
        assert replay is not None
        assert [event.data["i"] for event in replay] == [247, 248, 249]
        assert replay[0] == RoomEvent("chat", {"i": 247}, seq=Seq(start.epoch, 248))
        assert await log.read_since(room, Seq(start.epoch, 250)) == []
        assert await log.read_since(room, Seq(start.epoch, 1)) is None  # trimmed
        assert await log.read_since(room, Seq(start.epoch, 251)) is None  # never given
        assert await log.read_since(room, Seq("other", 47)) is None
        await log.forget(room)
        assert (await log.read_head(room)).epoch != start.epoch
    finally:
        await client.aclose()


async def test_two_workers_deliver_the_same_events_in_the_same_order(redis_url: str) -> None:
    room = new_room()
    async with workers(redis_url) as (a, b):
        on_a, on_b = Viewer(), Viewer()
        await a.subscribe(room, on_a.send, on_a.close)
        await b.subscribe(room, on_b.send, on_b.close)

        async def publish_from(hub: Hub, name: str) -> None:
            for i in range(30):
                await hub.publish(room, RoomEvent("chat", {"from": name, "i": i}))
                if i % 7 == 0:
                    await hub.publish(room, RoomEvent("pin", {"product": i}, priority=True))

        await asyncio.gather(publish_from(a, "a"), publish_from(b, "b"))
        await eventually(lambda: len(on_a.frames()) == len(on_b.frames()) == 70)
        assert on_a.frames() == on_b.frames()
        numbers = [Seq.parse(frame["seq"]) for frame in on_a.frames()]
        assert [seq.n for seq in numbers if seq] == list(range(1, 71))
        sent_by_a = [f["data"]["i"] for f in on_b.frames() if f["data"].get("from") == "a"]
        assert sent_by_a == list(range(30))  # one worker's events arrive in its own order


async def test_a_viewer_on_one_worker_joins_a_room_fed_by_another(redis_url: str) -> None:
    room = new_room()
    world = World(room)
    async with workers(redis_url) as (a, b):
        for text in "abc":
            await world.act(a, "chat", text)
        viewer = Client()
        await b.join(room, viewer.send, viewer.close, lambda: world.snapshot(b))
        for text in "de":
            await world.act(a, "chat", text)
        await world.act(a, "like", "x")
        final = await a.head(room)
        await eventually(lambda: viewer.seq == final)
        assert viewer.state == world.state
        assert viewer.errors == []


async def act_despite_reconnects(world: World, hub: Hub, text: str) -> None:
    """Publish, retrying while the connection pool notices that the server went away."""
    for _ in range(20):
        try:
            await world.act(hub, "chat", text)
            return
        except aioredis.ConnectionError:
            await asyncio.sleep(0.05)
    raise AssertionError("Redis did not come back")


async def lose_the_log_and_check_viewers_resync(
    url: str, lose: Callable[[], object], reconnect_after_loss: bool
) -> None:
    room = new_room()
    world = World(room)
    async with workers(url) as (a, b):
        watcher = Client()
        await b.join(room, watcher.send, watcher.close, lambda: world.snapshot(b))
        for text in "abc":
            await world.act(a, "chat", text)
        before = await a.head(room)
        await eventually(lambda: watcher.seq == before)
        old = watcher.seq
        assert old is not None
        lose()
        if reconnect_after_loss:
            await asyncio.sleep(0.3)  # the readers see the connection drop and retry
        await act_despite_reconnects(world, a, "d")
        after = await a.head(room)
        assert after.epoch != before.epoch
        assert after.n == 1
        await eventually(lambda: watcher.seq == after)
        assert watcher.state == world.state
        snapshots = [f for f in watcher.frames() if f["type"] == "snapshot"]
        last_snapshot = Seq.parse(snapshots[-1]["seq"])
        assert last_snapshot is not None and last_snapshot.epoch == after.epoch
        assert watcher.errors == [] and not watcher.closed
        # A viewer that comes back with a number from the lost epoch takes a fresh snapshot.
        back = Client(watcher.state, old)
        await a.join(room, back.send, back.close, lambda: world.snapshot(a), after=old)
        await eventually(lambda: back.seq == after)
        first = json.loads(back.messages[0])["frames"][0]
        assert first["type"] == "snapshot" and Seq.parse(first["seq"]) == after
        assert back.state == world.state


async def test_flushing_redis_starts_a_new_epoch_and_viewers_take_a_fresh_snapshot(
    own_redis: RedisProcess,
) -> None:
    admin = aioredis.Redis.from_url(own_redis.url)
    loop = asyncio.get_running_loop()
    try:
        await lose_the_log_and_check_viewers_resync(
            own_redis.url,
            lambda: loop.create_task(admin.flushall()),
            reconnect_after_loss=True,  # gives the flush time to happen
        )
    finally:
        await admin.aclose()


async def test_restarting_redis_starts_a_new_epoch_and_viewers_take_a_fresh_snapshot(
    own_redis: RedisProcess,
) -> None:
    await lose_the_log_and_check_viewers_resync(
        own_redis.url, own_redis.restart, reconnect_after_loss=True
    )
