"""The hub steps each send by hand: no task when it does not suspend, one when it does."""

from __future__ import annotations

import asyncio
from typing import Any

from laotie.realtime.events import RoomEvent
from laotie.realtime.hub import Hub
from laotie.realtime.log import MemoryRoomLog
from tests.realtime.viewers import Viewer

ROOM = "room-1"


async def settle() -> None:
    """Let the send and close tasks started by a tick run."""
    for _ in range(10):
        await asyncio.sleep(0)


async def test_a_send_that_does_not_suspend_is_done_within_the_tick_without_a_task() -> None:
    hub = Hub(MemoryRoomLog(epoch="e"))
    viewer = Viewer()
    sub = await hub.subscribe(ROOM, viewer.send, viewer.close)
    await hub.publish(ROOM, RoomEvent("chat", {"i": 0}))
    hub.flush()
    assert len(viewer.messages) == 1  # before the loop ran anything else
    assert sub.sending is None
    assert not sub.busy()


async def test_a_send_that_suspends_is_finished_by_a_task_and_holds_the_next_batch() -> None:
    hub = Hub(MemoryRoomLog(epoch="e"))
    viewer = Viewer(blocked=True)
    sub = await hub.subscribe(ROOM, viewer.send, viewer.close)
    await hub.publish(ROOM, RoomEvent("chat", {"i": 0}))
    hub.flush()
    assert sub.sending is not None and sub.busy()
    await hub.publish(ROOM, RoomEvent("chat", {"i": 1}))
    hub.flush()
    await settle()
    assert viewer.messages == []
    assert len(sub.outbox) == 1  # waits for the send in progress
    viewer.gate.set()
    await settle()
    assert sub.sending is None
    hub.flush()
    assert [f["data"]["i"] for f in viewer.frames()] == [0, 1]
    assert len(viewer.messages) == 2


async def test_a_send_that_suspends_several_times_still_delivers_in_order() -> None:
    hub = Hub(MemoryRoomLog(epoch="e"))
    received: list[str] = []
    release = asyncio.Event()

    async def send(text: str) -> None:
        await asyncio.sleep(0)  # a bare yield first, then a future
        await release.wait()
        await asyncio.sleep(0)
        received.append(text)

    async def close() -> None:
        raise AssertionError("not to be closed")

    sub = await hub.subscribe(ROOM, send, close)
    await hub.publish(ROOM, RoomEvent("chat", {"i": 0}))
    hub.flush()
    await settle()
    assert received == [] and sub.busy()
    release.set()
    await settle()
    assert len(received) == 1 and not sub.busy()
    assert hub.local_count(ROOM) == 1


async def test_a_send_that_fails_at_once_cuts_the_viewer_off() -> None:
    hub = Hub(MemoryRoomLog(epoch="e"))
    closed: list[bool] = []

    async def broken(text: str) -> None:
        raise ConnectionResetError

    async def close() -> None:
        closed.append(True)

    sub = await hub.subscribe(ROOM, broken, close)
    await hub.publish(ROOM, RoomEvent("chat", {}))
    hub.flush()
    assert sub.closed and sub.sending is None
    assert hub.local_count(ROOM) == 0
    await settle()
    assert closed == [True]


async def test_a_send_that_fails_after_suspending_cuts_the_viewer_off() -> None:
    hub = Hub(MemoryRoomLog(epoch="e"))
    closed: list[bool] = []
    release = asyncio.Event()

    async def breaks_later(text: str) -> None:
        await release.wait()
        raise ConnectionResetError

    async def close() -> None:
        closed.append(True)

    await hub.subscribe(ROOM, breaks_later, close)
    await hub.publish(ROOM, RoomEvent("chat", {}))
    hub.flush()
    await settle()
    assert closed == [] and hub.local_count(ROOM) == 1
    release.set()
    await settle()
    assert closed == [True]
    assert hub.local_count(ROOM) == 0


async def test_leaving_cancels_a_suspended_send_inside_its_coroutine() -> None:
    hub = Hub(MemoryRoomLog(epoch="e"))
    outcome: list[str] = []
    never = asyncio.Event()

    async def send(text: str) -> None:
        try:
            await never.wait()
        except asyncio.CancelledError:
            outcome.append("cancelled")
            raise
        outcome.append("sent")

    async def close() -> None:
        outcome.append("closed")

    sub = await hub.subscribe(ROOM, send, close)
    await hub.publish(ROOM, RoomEvent("chat", {}))
    hub.flush()
    await settle()
    task = sub.sending
    assert task is not None
    sub.cancel()
    await settle()
    assert outcome == ["cancelled"]
    assert task.cancelled()


async def test_stopping_the_hub_cancels_a_send_that_yielded_without_a_future() -> None:
    hub = Hub(MemoryRoomLog(epoch="e"))
    outcome: list[str] = []

    async def send(text: str) -> None:
        try:
            for _ in range(1_000):
                await asyncio.sleep(0)  # bare yields: cancellation arrives by a throw
        except asyncio.CancelledError:
            outcome.append("cancelled")
            raise

    async def close() -> None:
        outcome.append("closed")

    sub = await hub.subscribe(ROOM, send, close)
    await hub.publish(ROOM, RoomEvent("chat", {}))
    hub.flush()
    await asyncio.sleep(0)
    assert sub.sending is not None
    await hub.stop()
    assert outcome == ["cancelled"]


async def test_the_ticker_lets_other_work_run_between_chunks_of_viewers() -> None:
    hub = Hub(MemoryRoomLog(epoch="e"), tick_s=0.01, chunk=2)
    order: list[str] = []
    loop = asyncio.get_running_loop()
    done = asyncio.Event()

    def viewer(name: str) -> tuple[Any, Any]:
        async def send(text: str) -> None:
            if name == "v0":  # what the rest of the server asks for while the tick runs
                loop.call_soon(order.append, "other")
            order.append(name)
            if name == "v5":
                done.set()

        async def close() -> None:
            raise AssertionError("not to be closed")

        return send, close

    for i in range(6):
        await hub.subscribe(ROOM, *viewer(f"v{i}"))
    await hub.publish(ROOM, RoomEvent("chat", {}))
    await hub.start()
    try:
        await asyncio.wait_for(done.wait(), 5)
    finally:
        await hub.stop()
    assert order == ["v0", "v1", "other", "v2", "v3", "v4", "v5"]
