"""The hub batches per tick, shares one encoding, and never lets a slow viewer hold the rest."""

from __future__ import annotations

import asyncio
import json

from laotie.realtime.events import RoomEvent, Seq
from laotie.realtime.hub import Hub
from laotie.realtime.log import MemoryRoomLog
from tests.realtime.viewers import Client, Viewer, World

ROOM = "room-1"


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def settle() -> None:
    """Let the send and close tasks started by a tick run."""
    for _ in range(10):
        await asyncio.sleep(0)


async def subscribe(hub: Hub, viewer: Viewer) -> None:
    await hub.subscribe(ROOM, viewer.send, viewer.close)


async def test_each_viewer_gets_one_message_per_tick_shared_when_in_step() -> None:
    hub = Hub(MemoryRoomLog(epoch="e"))
    a, b = Viewer(), Viewer()
    await subscribe(hub, a)
    await subscribe(hub, b)
    for i in range(5):
        await hub.publish(ROOM, RoomEvent("chat", {"i": i}))
    hub.flush()
    await settle()
    assert len(a.messages) == len(b.messages) == 1
    assert a.messages[0] is b.messages[0]  # encoded once for the room
    assert [f["data"]["i"] for f in a.frames()] == [0, 1, 2, 3, 4]
    assert [f["seq"] for f in a.frames()] == ["e:1", "e:2", "e:3", "e:4", "e:5"]
    hub.flush()  # nothing new: nothing sent
    await settle()
    assert len(a.messages) == 1
    await hub.publish(ROOM, RoomEvent("chat", {"i": 5}))
    hub.flush()
    await settle()
    assert len(a.messages) == 2 and a.messages[1] is b.messages[1]


async def test_likes_coalesce_within_a_tick() -> None:
    hub = Hub(MemoryRoomLog(epoch="e"))
    a = Viewer()
    await subscribe(hub, a)
    for count in range(1, 101):
        await hub.publish(ROOM, RoomEvent("like", {"count": count}, coalesce="likes"))
    hub.flush()
    await settle()
    assert a.frames() == [{"type": "like", "seq": "e:100", "data": {"count": 100}}]


async def test_a_lagging_viewer_catches_up_alone_while_the_others_share() -> None:
    hub = Hub(MemoryRoomLog(epoch="e"))
    a, b, slow = Viewer(), Viewer(), Viewer(blocked=True)
    for viewer in (a, b, slow):
        await subscribe(hub, viewer)
    await hub.publish(ROOM, RoomEvent("chat", {"i": 0}))
    hub.flush()  # slow's send starts and hangs
    await settle()
    for i in (1, 2):
        await hub.publish(ROOM, RoomEvent("chat", {"i": i}))
        hub.flush()
        await settle()
    assert len(a.messages) == 3 and a.messages[2] is b.messages[2]
    assert slow.messages == []  # one send at a time: the rest waits in its outbox
    slow.gate.set()
    await settle()
    assert len(slow.messages) == 1
    await hub.publish(ROOM, RoomEvent("chat", {"i": 3}))
    hub.flush()
    await settle()
    # Its queued events and the new one arrive together, then it is in step again.
    assert [f["data"]["i"] for f in slow.frames()] == [0, 1, 2, 3]
    assert len(slow.messages) == 2
    assert slow.messages[1] is not a.messages[3]
    await hub.publish(ROOM, RoomEvent("chat", {"i": 4}))
    hub.flush()
    await settle()
    assert slow.messages[2] is a.messages[4]


async def test_a_stuck_viewer_is_cut_off_and_the_others_keep_receiving() -> None:
    clock = FakeClock()
    hub = Hub(MemoryRoomLog(epoch="e"), send_timeout_s=5, clock=clock)
    a, stuck = Viewer(), Viewer(blocked=True)
    await subscribe(hub, a)
    await subscribe(hub, stuck)
    for second in range(7):
        clock.now = float(second)
        await hub.publish(ROOM, RoomEvent("chat", {"i": second}))
        hub.flush()
        await settle()
        assert len(a.messages) == second + 1  # never waits for the stuck one
    assert stuck.closed
    assert hub.local_count(ROOM) == 1


async def test_the_ticker_sends_about_ten_messages_a_second_at_most() -> None:
    hub = Hub(MemoryRoomLog(epoch="e"), tick_s=0.05)
    a, stuck = Viewer(), Viewer(blocked=True)
    await subscribe(hub, a)
    await subscribe(hub, stuck)
    await hub.start()
    try:
        for i in range(40):
            await hub.publish(ROOM, RoomEvent("chat", {"i": i}))
            await asyncio.sleep(0.005)
        await asyncio.sleep(0.12)
    finally:
        await hub.stop()
    assert [f["data"]["i"] for f in a.frames()] == list(range(40))
    assert 2 <= len(a.messages) <= 8  # 40 events over about 0.3 s of 50 ms ticks


async def test_priority_events_survive_an_overflowing_outbox() -> None:
    hub = Hub(MemoryRoomLog(epoch="e"), soft_limit=5, hard_limit=100)
    slow = Viewer(blocked=True)
    await subscribe(hub, slow)
    await hub.publish(ROOM, RoomEvent("chat", {"i": -1}))
    hub.flush()  # its send hangs from here
    for i in range(60):
        await hub.publish(ROOM, RoomEvent("chat", {"i": i}))
        if i % 20 == 0:
            await hub.publish(ROOM, RoomEvent("pin", {"product": i}, priority=True))
        hub.flush()
    slow.gate.set()
    await settle()
    hub.flush()
    await settle()
    frames = slow.frames()[1:]
    assert [f["data"]["product"] for f in frames if f["type"] == "pin"] == [0, 20, 40]
    chats = [f["data"]["i"] for f in frames if f["type"] == "chat"]
    assert chats == [55, 56, 57, 58, 59]  # the newest ordinary events, the rest dropped
    assert not slow.closed


async def test_a_viewer_whose_undroppable_backlog_overflows_is_cut_off() -> None:
    hub = Hub(MemoryRoomLog(epoch="e"), soft_limit=5, hard_limit=10)
    slow, fine = Viewer(blocked=True), Viewer()
    await subscribe(hub, slow)
    await subscribe(hub, fine)
    await hub.publish(ROOM, RoomEvent("pin", {"product": 0}, priority=True))
    hub.flush()
    for i in range(1, 12):
        await hub.publish(ROOM, RoomEvent("pin", {"product": i}, priority=True))
        hub.flush()
        await settle()
    assert slow.closed
    assert hub.local_count(ROOM) == 1
    assert [f["data"]["product"] for f in fine.frames()] == list(range(12))


async def test_a_failed_send_disconnects_the_viewer() -> None:
    hub = Hub(MemoryRoomLog(epoch="e"))
    closed: list[bool] = []

    async def broken(text: str) -> None:
        raise ConnectionResetError

    async def close() -> None:
        closed.append(True)

    await hub.subscribe(ROOM, broken, close)
    await hub.publish(ROOM, RoomEvent("chat", {}))
    hub.flush()
    await settle()
    assert closed == [True]
    assert hub.local_count(ROOM) == 0


async def test_a_private_frame_reaches_only_its_viewer() -> None:
    hub = Hub(MemoryRoomLog(epoch="e"))
    a, b = Viewer(), Viewer()
    sub = await hub.subscribe(ROOM, a.send, a.close)
    await subscribe(hub, b)
    sub.push(RoomEvent("error", {"code": "bad_frame"}))
    await hub.publish(ROOM, RoomEvent("chat", {"i": 0}))
    hub.flush()
    await settle()
    assert [f["type"] for f in a.frames()] == ["error", "chat"]
    assert [f["type"] for f in b.frames()] == ["chat"]
    sub.cancel()
    await hub.publish(ROOM, RoomEvent("chat", {"i": 1}))
    hub.flush()
    await settle()
    assert len(a.messages) == 1


async def test_join_gives_the_snapshot_then_only_newer_events() -> None:
    hub = Hub(MemoryRoomLog(epoch="e"))
    world = World(ROOM)
    for text in ("a", "b", "c"):
        await world.act(hub, "chat", text)
    stale_state = {"likes": {}, "chat": ["a"], "pin": None}

    async def stale_snapshot() -> tuple[dict[str, object], Seq]:
        # The state lags the log: the hub must fill the gap from the log's replay.
        await world.act(hub, "chat", "d")
        return stale_state, Seq("e", 1)

    client = Client()
    await hub.join(ROOM, client.send, client.close, stale_snapshot)
    await world.act(hub, "chat", "e")
    hub.flush()
    await settle()
    assert client.state == world.state
    assert [f["type"] for f in client.frames()] == ["snapshot", *["chat"] * 4]


async def test_rejoin_replays_from_the_last_seen_number_or_takes_a_snapshot() -> None:
    log = MemoryRoomLog(keep=3, epoch="e")
    hub = Hub(log)
    world = World(ROOM)
    first = Client()
    sub = await hub.join(ROOM, first.send, first.close, lambda: world.snapshot(hub))
    await world.act(hub, "chat", "a")
    hub.flush()
    await settle()
    sub.cancel()
    assert first.seq == Seq("e", 1)
    await world.act(hub, "chat", "b")
    back = Client(first.state, first.seq)
    await hub.join(ROOM, back.send, back.close, lambda: world.snapshot(hub), after=first.seq)
    hub.flush()
    await settle()
    assert [f["type"] for f in back.frames()] == ["chat"]  # a replay, no snapshot
    assert back.state == world.state
    for text in "cdef":
        await world.act(hub, "chat", text)
    late = Client(first.state, first.seq)  # the ring forgot what it missed
    await hub.join(ROOM, late.send, late.close, lambda: world.snapshot(hub), after=first.seq)
    hub.flush()
    await settle()
    assert [f["type"] for f in late.frames()] == ["snapshot"]
    assert late.state == world.state
    stranger = Client()  # a number from another epoch
    await hub.join(
        ROOM, stranger.send, stranger.close, lambda: world.snapshot(hub), after=Seq("x", 2)
    )
    hub.flush()
    await settle()
    assert json.loads(stranger.messages[0])["frames"][0]["type"] == "snapshot"
