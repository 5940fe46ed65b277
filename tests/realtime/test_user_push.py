"""Pushes to users across processes: a push published by one reaches the user's socket held
by another, and who is online is seen by every process."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

from laotie.realtime.users import MemoryUserPush, RedisUserPush, UserSocket
from tests.realtime.conftest import RedisProcess


class Inbox:
    """What a socket was sent, and whether it was closed."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.closed = False

    async def send(self, text: str) -> None:
        self.sent.append(text)

    async def close(self) -> None:
        self.closed = True


async def _until(check: object, seconds: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not check():  # type: ignore[operator]
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_a_push_from_one_process_reaches_a_socket_held_by_another(
    own_redis: RedisProcess,
) -> None:
    clients = [aioredis.Redis.from_url(own_redis.url) for _ in range(2)]
    first, second = (RedisUserPush(client) for client in clients)
    for pusher in (first, second):
        await pusher.start()
    try:
        heard, other = Inbox(), Inbox()
        socket = UserSocket("usr_fan", heard.send, heard.close)
        bystander = UserSocket("usr_other", other.send, other.close)
        await second.connected(socket)
        await first.connected(bystander)
        assert sorted(await first.online()) == ["usr_fan", "usr_other"]
        await asyncio.sleep(0.1)  # both listeners subscribed
        await first.push(["usr_fan"], '{"type":"notification"}')
        await _until(lambda: heard.sent == ['{"type":"notification"}'])
        assert other.sent == []  # only the user it was for
        await second.disconnected(socket)
        assert await first.online() == ["usr_other"]
        for held in (socket, bystander):
            await held.stop()
    finally:
        for pusher in (first, second):
            await pusher.stop()
        for client in clients:
            await client.aclose()


async def test_a_socket_too_far_behind_is_closed_rather_than_kept_growing() -> None:
    pusher = MemoryUserPush()
    await pusher.start()
    stuck, released = Inbox(), asyncio.Event()

    async def never_done(text: str) -> None:
        await released.wait()

    socket = UserSocket("usr_slow", never_done, stuck.close)
    await pusher.connected(socket)
    for n in range(200):
        await pusher.push(["usr_slow"], f"message {n}")
    await _until(lambda: stuck.closed)
    released.set()
    await socket.stop()
    await pusher.stop()
