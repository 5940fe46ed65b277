"""Joining = subscribe, snapshot, replay: the snapshot plus the delivered events is the state.

Publishes, joins (whose snapshots yield to other work at random points), rejoins with a
last-seen number, and ticks run interleaved; at the end every viewer's state, built from
its snapshot and the events it received, equals the room's truth, and no viewer saw an
event twice or out of order.
"""

from __future__ import annotations

import asyncio
import copy
import uuid
from typing import Any

import redis.asyncio as aioredis
from hypothesis import example, given, settings
from hypothesis import strategies as st

from laotie.realtime.hub import Hub, Subscription
from laotie.realtime.log import MemoryRoomLog
from laotie.realtime.redis_log import RedisRoomLog
from tests.realtime.viewers import Client, World

Op = tuple[str, Any]

OPS = st.lists(
    st.one_of(
        st.tuples(st.just("chat"), st.text(max_size=3)),
        st.tuples(st.just("like"), st.sampled_from("ab")),
        st.tuples(st.just("pin"), st.integers(0, 3)),
        st.tuples(st.just("join"), st.integers(0, 4)),
        st.tuples(st.just("rejoin"), st.integers(0, 4)),
        st.tuples(st.just("tick"), st.integers(0, 4)),
        st.tuples(st.just("pause"), st.integers(0, 4)),
    ),
    min_size=3,
    max_size=40,
)
# Events published and a tick while a viewer's snapshot is being taken.
DURING_JOIN: list[Op] = [("chat", "a"), ("join", 4), ("chat", "x"), ("tick", 2), ("like", "a")]


async def run(ops: list[Op], hubs: list[Hub], room: str) -> None:
    world = World(room)
    clients: list[tuple[Client, Subscription | None]] = []
    work: list[asyncio.Task[None]] = []
    gone: list[Client] = []  # viewers that left to rejoin

    async def join(hub: Hub, yields: int, client: Client, after: Any = None) -> None:
        slot = len(clients)
        clients.append((client, None))
        sub = await hub.join(
            room, client.send, client.close, lambda: world.snapshot(hub, yields), after=after
        )
        clients[slot] = (client, sub)

    async def tick(yields: int) -> None:
        for _ in range(yields):
            await asyncio.sleep(0)
        for each in hubs:
            each.flush()

    for i, (kind, arg) in enumerate(ops):
        hub = hubs[i % len(hubs)]
        if kind in ("chat", "like", "pin"):
            work.append(asyncio.create_task(world.act(hub, kind, arg)))
        elif kind == "join":
            work.append(asyncio.create_task(join(hub, arg, Client())))
        elif kind == "rejoin":
            ready = [
                (c, s) for c, s in clients if s is not None and c.seq is not None and c not in gone
            ]
            if ready:
                old, sub = ready[arg % len(ready)]
                assert sub is not None
                sub.cancel()
                gone.append(old)
                back = Client(copy.deepcopy(old.state), old.seq)
                work.append(asyncio.create_task(join(hub, arg, back, after=old.seq)))
        elif kind == "tick":
            work.append(asyncio.create_task(tick(arg)))
        else:
            for _ in range(arg):
                await asyncio.sleep(0)
    await asyncio.gather(*work)
    final = await hubs[0].head(room)
    left = {id(client) for client in gone}
    live = [client for client, _sub in clients if id(client) not in left]
    assert all(sub is not None for _client, sub in clients)
    for _ in range(500):
        for each in hubs:
            each.flush()
        await asyncio.sleep(0.01 if len(hubs) > 1 else 0)
        if all(client.seq == final for client in live):
            break
    for client in live:
        assert client.errors == []
        assert not client.closed
        assert client.state == world.state
        assert client.seq == final


@given(OPS)
@example(DURING_JOIN)
def test_snapshot_plus_replay_equals_the_state_in_one_process(ops: list[Op]) -> None:
    async def scenario() -> None:
        await run(ops, [Hub(MemoryRoomLog(keep=8), soft_limit=10_000)], "room")

    asyncio.run(scenario())


@settings(max_examples=20)
@given(OPS)
@example(DURING_JOIN)
def test_snapshot_plus_replay_equals_the_state_across_two_workers_on_redis(
    redis_url: str, ops: list[Op]
) -> None:
    async def scenario() -> None:
        clients = [aioredis.Redis.from_url(redis_url) for _ in range(2)]
        hubs = [
            Hub(RedisRoomLog(client, keep=8), soft_limit=10_000, block_ms=200) for client in clients
        ]
        try:
            await run(ops, hubs, f"room-{uuid.uuid4().hex}")
        finally:
            for hub in hubs:
                await hub.stop()
            for client in clients:
                await client.aclose()

    asyncio.run(scenario())
