"""Direct writes: the shared frame goes straight to each transport; a full one is slow."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvicorn
import websockets
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from laotie.realtime.direct import DirectWriter, Outgoing, direct_writer, text_frame
from laotie.realtime.events import RoomEvent
from laotie.realtime.hub import Hub
from laotie.realtime.log import MemoryRoomLog

ROOM = "room-1"


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@dataclass
class FakeWriter:
    """A connection whose peer reads (or not) as the test says."""

    full: bool = False
    broken: bool = False
    written: list[Outgoing] = field(default_factory=list)
    aborted: bool = False

    def blocked(self) -> bool:
        return self.full

    def write(self, message: Outgoing) -> None:
        assert not self.full, "written to while blocked"
        if self.broken:
            raise ConnectionError("gone")
        self.written.append(message)

    def abort(self) -> None:
        self.aborted = True

    def frames(self) -> list[dict[str, Any]]:
        return [frame for m in self.written for frame in json.loads(m.text)["frames"]]


async def settle() -> None:
    """Let the close tasks started by a tick run."""
    for _ in range(10):
        await asyncio.sleep(0)


async def unused_send(text: str) -> None:
    raise AssertionError("a viewer with a direct writer is not sent to through ASGI")


def test_text_frames_carry_their_length_in_the_three_sizes() -> None:
    assert text_frame(b"hi") == b"\x81\x02hi"
    medium = b"x" * 300
    assert text_frame(medium) == b"\x81\x7e" + struct.pack("!H", 300) + medium
    large = b"y" * 70_000
    assert text_frame(large) == b"\x81\x7f" + struct.pack("!Q", 70_000) + large
    message = Outgoing("好")
    assert message.frame() is message.frame()  # framed once, whoever asks
    assert message.frame() == b"\x81\x03" + "好".encode()


def test_only_a_known_server_send_gets_a_direct_writer() -> None:
    async def some_send(message: Any) -> None:
        return None

    assert direct_writer(some_send) is None
    assert direct_writer(None) is None


async def test_viewers_in_step_get_the_same_frame_written_at_once() -> None:
    hub = Hub(MemoryRoomLog(epoch="e"))
    writers = [FakeWriter(), FakeWriter()]
    subs = [
        await hub.subscribe(ROOM, unused_send, _noop_close, writer=writer) for writer in writers
    ]
    for i in range(3):
        await hub.publish(ROOM, RoomEvent("chat", {"i": i}))
    hub.flush()
    assert len(writers[0].written) == 1
    assert writers[0].written[0] is writers[1].written[0]
    assert [f["data"]["i"] for f in writers[0].frames()] == [0, 1, 2]
    assert all(sub.sending is None for sub in subs)


async def test_a_full_transport_holds_events_in_the_outbox_then_gets_them_in_one_batch() -> None:
    hub = Hub(MemoryRoomLog(epoch="e"))
    fine, full = FakeWriter(), FakeWriter(full=True)
    await hub.subscribe(ROOM, unused_send, _noop_close, writer=fine)
    await hub.subscribe(ROOM, unused_send, _noop_close, writer=full)
    await hub.publish(ROOM, RoomEvent("pin", {"product": "a"}, priority=True))
    for count in range(1, 4):
        await hub.publish(ROOM, RoomEvent("likes", {"total": count}, coalesce="likes"))
        await hub.publish(ROOM, RoomEvent("chat", {"i": count}))
        hub.flush()
    assert len(fine.written) == 3 and full.written == []
    full.full = False
    hub.flush()
    assert len(full.written) == 1
    assert [f["type"] for f in full.frames()] == ["pin", "likes", "chat", "chat", "chat"]
    assert full.frames()[1]["data"] == {"total": 3}
    await hub.publish(ROOM, RoomEvent("chat", {"i": 4}))
    hub.flush()
    assert full.written[1] is fine.written[3]  # in step again: the shared frame


async def test_a_transport_that_stays_full_is_aborted_after_the_send_timeout() -> None:
    clock = FakeClock()
    hub = Hub(MemoryRoomLog(epoch="e"), send_timeout_s=5, clock=clock)
    fine, stuck = FakeWriter(), FakeWriter()
    await hub.subscribe(ROOM, unused_send, _noop_close, writer=fine)
    closes: list[str] = []
    await hub.subscribe(ROOM, unused_send, _close_like_the_room(stuck, closes), writer=stuck)
    await hub.publish(ROOM, RoomEvent("chat", {"i": 0}))
    hub.flush()
    stuck.full = True  # its last write filled the transport
    for second in range(1, 8):
        clock.now = float(second)
        await hub.publish(ROOM, RoomEvent("chat", {"i": second}))
        hub.flush()
        await settle()
    assert len(fine.written) == 8
    assert len(stuck.written) == 1
    assert stuck.aborted and closes == ["aborted"]
    assert hub.local_count(ROOM) == 1


async def test_a_write_to_a_closed_connection_cuts_the_viewer_off() -> None:
    hub = Hub(MemoryRoomLog(epoch="e"))
    gone = FakeWriter(broken=True)
    closes: list[str] = []
    await hub.subscribe(ROOM, unused_send, _close_like_the_room(gone, closes), writer=gone)
    await hub.publish(ROOM, RoomEvent("chat", {}))
    hub.flush()
    assert hub.local_count(ROOM) == 0
    await settle()
    assert closes == ["closed"]


async def _noop_close() -> None:
    return None


def _close_like_the_room(writer: DirectWriter, closes: list[str]) -> Callable[[], Awaitable[None]]:
    async def close() -> None:
        if writer.blocked():
            writer.abort()
            closes.append("aborted")
        else:
            closes.append("closed")

    return close


# ------------------------------------------------------------- under a real uvicorn server


@dataclass
class Served:
    """A uvicorn server on a free port whose one route joins the hub's room."""

    url: str
    port: int
    hub: Hub
    writers: list[DirectWriter | None]
    largest_buffer: list[int]


def _room_app(hub: Hub, writers: list[DirectWriter | None], largest: list[int]) -> Starlette:
    async def endpoint(websocket: WebSocket) -> None:
        await websocket.accept()
        writer = direct_writer(getattr(websocket, "_send", None))
        writers.append(writer)
        watched = _Watched(writer, largest) if writer is not None else None

        async def send(text: str) -> None:
            await websocket.send_text(text)

        async def close() -> None:
            if watched is not None and watched.blocked():
                watched.abort()
                return
            await websocket.close(code=1008, reason="too slow")

        async def snapshot() -> tuple[dict[str, Any], Any]:
            return {}, await hub.head(ROOM)

        sub = await hub.join(ROOM, send, close, snapshot, writer=watched)
        try:
            while True:
                await websocket.receive_text()
        except WebSocketDisconnect:
            pass
        finally:
            sub.cancel()

    return Starlette(routes=[WebSocketRoute("/room", endpoint)])


class _Watched:
    """A direct writer that notes the largest unsent buffer it left behind."""

    def __init__(self, inner: DirectWriter, largest: list[int]) -> None:
        self.inner = inner
        self.largest = largest

    def blocked(self) -> bool:
        return self.inner.blocked()

    def write(self, message: Outgoing) -> None:
        assert not self.inner.blocked(), "written to while blocked"
        self.inner.write(message)
        transport = self.inner._transport  # type: ignore[attr-defined]
        self.largest[0] = max(self.largest[0], transport.get_write_buffer_size())

    def abort(self) -> None:
        self.inner.abort()


@asynccontextmanager
async def _serve(ws: str, deflate: bool) -> AsyncIterator[Served]:
    hub = Hub(MemoryRoomLog(epoch="e"), tick_s=0.02, send_timeout_s=0.5)
    writers: list[DirectWriter | None] = []
    largest = [0]
    listener = socket.socket()
    # Accepted sockets inherit a small send buffer: a reader that stops fills it quickly.
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 16 * 1024)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    config = uvicorn.Config(
        _room_app(hub, writers, largest),
        ws=ws,  # type: ignore[arg-type]
        ws_per_message_deflate=deflate,
        lifespan="off",
        log_level="warning",
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve(sockets=[listener]))
    await hub.start()
    try:
        await _wait_for(lambda: server.started)
        yield Served(f"ws://127.0.0.1:{port}/room", port, hub, writers, largest)
    finally:
        await hub.stop()
        server.should_exit = True
        await serving
        listener.close()


SERVERS = [
    pytest.param("websockets-sansio", False, id="sansio"),
    pytest.param("websockets-sansio", True, id="sansio-deflate"),
    pytest.param("websockets", False, id="legacy"),
    pytest.param("websockets", True, id="legacy-deflate"),
]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize(("ws", "deflate"), SERVERS)
async def test_uvicorn_viewers_get_every_batch_in_order_through_direct_writes(
    ws: str, deflate: bool
) -> None:
    compression = "deflate" if deflate else None
    async with (
        _serve(ws, deflate) as served,
        websockets.connect(served.url, compression=compression) as first,
        websockets.connect(served.url, compression=compression) as second,
    ):
        await _wait_for(lambda: served.hub.local_count(ROOM) == 2)
        assert len(served.writers) == 2 and all(w is not None for w in served.writers)
        for i in range(30):
            await served.hub.publish(ROOM, RoomEvent("chat", {"i": i}))
            if i % 7 == 0:
                await asyncio.sleep(0.03)
        for viewer in (first, second):
            seen: list[int] = []
            while len(seen) < 30:
                message = json.loads(await asyncio.wait_for(viewer.recv(), 5))
                assert message["type"] == "batch"
                seen.extend(f["data"]["i"] for f in message["frames"] if f["type"] == "chat")
            assert seen == list(range(30))


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("ws", ["websockets-sansio", "websockets"])
async def test_a_uvicorn_viewer_that_stops_reading_is_cut_off_not_buffered(ws: str) -> None:
    text = "x" * 20_000
    async with _serve(ws, deflate=False) as served, websockets.connect(served.url) as reader:
        stalled = await _stalled_viewer(served.port)
        try:
            await _wait_for(lambda: served.hub.local_count(ROOM) == 2)
            read = asyncio.create_task(_count_chat(reader))
            sent = 0
            while served.hub.local_count(ROOM) == 2:
                assert sent < 500, "the viewer that stopped reading was never cut off"
                await served.hub.publish(ROOM, RoomEvent("chat", {"i": sent, "text": text}))
                sent += 1
                await asyncio.sleep(0.02)
            await served.hub.publish(ROOM, RoomEvent("chat", {"i": sent, "text": "last"}))
            assert await asyncio.wait_for(read, 10) == sent + 1  # the reader got everything
            frame_size = len(text_frame(json.dumps({"i": sent, "text": text}).encode())) + 200
            assert all(writer is not None for writer in served.writers)
            assert 0 < served.largest_buffer[0] <= 64 * 1024 + frame_size  # one message past full
            await _read_until_closed(stalled)
        finally:
            stalled.close()


async def _stalled_viewer(port: int) -> socket.socket:
    """Open a WebSocket by hand with a small receive buffer, then never read from it."""
    loop = asyncio.get_running_loop()
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await loop.sock_connect(sock, ("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET /room HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    await loop.sock_sendall(sock, request.encode())
    head = b""
    while not head.endswith(b"\r\n\r\n"):  # a byte at a time: nothing past the answer
        head += await loop.sock_recv(sock, 1)
    assert head.startswith(b"HTTP/1.1 101")
    return sock


async def _count_chat(viewer: Any) -> int:
    """Read batches until the `last` chat line; return how many chat lines came."""
    count = 0
    while True:
        message = json.loads(await viewer.recv())
        for frame in message["frames"]:
            if frame["type"] == "chat":
                count += 1
                if frame["data"]["text"] == "last":
                    return count


async def _read_until_closed(sock: socket.socket) -> None:
    """Read what is left until the server ends the connection (at most 5 s of silence)."""
    loop = asyncio.get_running_loop()
    try:
        while await asyncio.wait_for(loop.sock_recv(sock, 65536), 5):
            pass
    except ConnectionResetError:  # aborted: what was still unsent is dropped
        pass


async def _wait_for(condition: Callable[[], bool]) -> None:
    """Poll a condition for up to 5 s."""
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("timed out")
