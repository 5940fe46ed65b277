"""The fan-out benchmark's yardstick: the least a server can do to fan a room out.

Run as `python -m laotie.bench.broadcast_server --port N`. It is the `websockets`
library's asyncio server, compression off, and nothing else: every connection is a viewer
of one room; chat and like frames from clients are read the way laotie's room reads them;
every 100 ms the chat lines of the tick (and, once a second, the like total) are encoded
once into a batch message shaped like laotie's and pushed to every viewer with
`websockets.broadcast()`, which writes to each connection synchronously with no task, no
queue and no backpressure. No database, no presence, no outbox.
"""

from __future__ import annotations

import argparse
import asyncio
import http
import json
import secrets
from typing import Any

from websockets.asyncio.server import ServerConnection, broadcast, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

TICK_S = 0.1
COUNTERS_EVERY_TICKS = 10  # likes are announced once a second, as laotie does
HELLO = json.dumps({"type": "hello", "visit_id": None, "viewer": None})


class Room:
    """One room's viewers and the frames waiting for the next tick."""

    def __init__(self) -> None:
        self.viewers: set[ServerConnection] = set()
        self.epoch = secrets.token_hex(4)
        self.last = 0
        self.frames: list[dict[str, Any]] = []
        self.likes_pending = 0
        self.likes_total = 0
        self.ticks = 0

    def receive(self, text: str | bytes) -> None:
        """Act on one client frame: queue a chat line or count likes; ignore the rest."""
        try:
            frame = json.loads(text)
        except ValueError:
            return
        if not isinstance(frame, dict):
            return
        if frame.get("type") == "chat" and isinstance(frame.get("text"), str):
            self.last += 1
            self.frames.append(
                {
                    "type": "chat",
                    "seq": f"{self.epoch}:{self.last}",
                    "data": {
                        "id": f"msg_{self.last:012d}",
                        "user_id": "usr_bench",
                        "author": "bench chatter",
                        "text": frame["text"],
                    },
                }
            )
        elif frame.get("type") == "like" and isinstance(frame.get("count"), int):
            self.likes_pending += frame["count"]

    def tick(self) -> None:
        """Push the tick's frames to every viewer, encoded once."""
        self.ticks += 1
        if self.ticks % COUNTERS_EVERY_TICKS == 0 and self.likes_pending:
            self.likes_total += self.likes_pending
            self.likes_pending = 0
            self.last += 1
            self.frames.append(
                {
                    "type": "likes",
                    "seq": f"{self.epoch}:{self.last}",
                    "data": {"total": self.likes_total},
                }
            )
        if not self.frames:
            return
        frames, self.frames = self.frames, []
        message = json.dumps(
            {"type": "batch", "frames": frames}, separators=(",", ":"), ensure_ascii=False
        )
        broadcast(self.viewers, message)


async def _tick_forever(room: Room) -> None:
    loop = asyncio.get_running_loop()
    while True:
        started = loop.time()
        room.tick()
        await asyncio.sleep(max(0.0, TICK_S - (loop.time() - started)))


def _health(connection: ServerConnection, request: Request) -> Response | None:
    """Answer /healthz over plain HTTP so the benchmark can wait for the server."""
    if request.path == "/healthz":
        return Response(http.HTTPStatus.OK, "OK", Headers([("Content-Length", "2")]), b"ok")
    return None


async def serve_room(host: str, port: int) -> None:
    """Serve one room until the process is stopped."""
    room = Room()

    async def viewer(connection: ServerConnection) -> None:
        room.viewers.add(connection)
        try:
            await connection.send(HELLO)
            async for text in connection:
                room.receive(text)
        except ConnectionClosed:
            pass  # viewers leave without a closing handshake when the run ends
        finally:
            room.viewers.discard(connection)

    ticker = asyncio.create_task(_tick_forever(room))
    try:
        async with serve(
            viewer, host, port, compression=None, process_request=_health, backlog=4_096
        ) as server:
            await server.serve_forever()
    finally:
        ticker.cancel()


def main() -> None:
    """Parse the address and serve on uvloop when it is installed, as uvicorn does."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    try:
        import uvloop
    except ImportError:
        asyncio.run(serve_room(args.host, args.port))
    else:
        uvloop.run(serve_room(args.host, args.port))


if __name__ == "__main__":
    main()
