"""Pushes to users rather than rooms: each user's open sockets, in this process or any.

A push is a convenience on top of a durable row (an inbox entry): a user who is offline,
or whose push was lost with a process, reads the row when it next looks. So a push is
sent once, with no log and no replay; plain Redis pub/sub carries it between processes.
Each connection has a bounded queue and a task that sends it; one that falls behind is
closed rather than allowed to grow memory.

Who is online is known here too (this process's sockets; with Redis a sorted set that
every process touches), so that work for many users can serve those who are watching first.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

log = logging.getLogger(__name__)

Send = Callable[[str], Awaitable[None]]
Close = Callable[[], Awaitable[None]]

QUEUE_LIMIT = 100
PUSH_CHANNEL = "laotie:users:push"
ONLINE_KEY = "laotie:users:online"
# Each process says again who it holds this often; a user unseen for three times as long
# (its process died) is no longer online.
TOUCH_EVERY_S = 20.0
ONLINE_FOR_S = 3 * TOUCH_EVERY_S


class UserSocket:
    """One open socket of a user, with the queue of what it still has to send."""

    __slots__ = ("_close", "_closing", "_queue", "_send", "_sender", "user_id")

    def __init__(self, user_id: str, send: Send, close: Close) -> None:
        self.user_id = user_id
        self._send = send
        self._close = close
        self._queue: asyncio.Queue[str] = asyncio.Queue(QUEUE_LIMIT)
        self._sender = asyncio.create_task(self._send_forever(), name=f"user-socket:{user_id}")
        self._closing: asyncio.Task[None] | None = None

    def put(self, text: str) -> bool:
        """Queue a message; False when the socket is too far behind (it is then closed)."""
        try:
            self._queue.put_nowait(text)
        except asyncio.QueueFull:
            self._sender.cancel()
            if self._closing is None:
                self._closing = asyncio.create_task(self._close_quietly())
            return False
        return True

    async def stop(self) -> None:
        """Stop sending (the socket is closing)."""
        self._sender.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._sender

    async def _send_forever(self) -> None:
        while True:
            text = await self._queue.get()
            try:
                await self._send(text)
            except Exception:  # the connection is gone: its handler removes it
                return

    async def _close_quietly(self) -> None:
        with contextlib.suppress(Exception):
            await self._close()


class UserSockets:
    """The user sockets of this process, by user id."""

    def __init__(self) -> None:
        self._by_user: dict[str, set[UserSocket]] = {}

    def add(self, socket: UserSocket) -> bool:
        """Hold a socket; True when it is the user's first here."""
        held = self._by_user.setdefault(socket.user_id, set())
        held.add(socket)
        return len(held) == 1

    def remove(self, socket: UserSocket) -> bool:
        """Forget a socket; True when the user has none left here."""
        held = self._by_user.get(socket.user_id)
        if held is None:
            return False
        held.discard(socket)
        if held:
            return False
        del self._by_user[socket.user_id]
        return True

    def users(self) -> list[str]:
        """Return the users with a socket here."""
        return list(self._by_user)

    def deliver(self, user_ids: Sequence[str], text: str) -> int:
        """Queue a message on every socket here of these users; return how many took it."""
        taken = 0
        by_user = self._by_user
        for user_id in user_ids:
            for socket in by_user.get(user_id, ()):
                taken += socket.put(text)
        return taken


class UserPush(Protocol):
    """Where pushes to users go: this process's sockets, or every process's."""

    sockets: UserSockets

    async def start(self) -> None:
        """Begin listening for other processes' pushes."""
        ...

    async def stop(self) -> None:
        """Stop listening; close nothing (the sockets' handlers do)."""
        ...

    async def connected(self, socket: UserSocket) -> None:
        """Hold a new socket and count its user online."""
        ...

    async def disconnected(self, socket: UserSocket) -> None:
        """Forget a socket; its user is offline when it held the last one."""
        ...

    async def online(self) -> list[str]:
        """Return the users online now (anywhere)."""
        ...

    async def push(self, user_ids: Sequence[str], text: str) -> None:
        """Send a message to every open socket of these users."""
        ...


class MemoryUserPush:
    """Pushes within one process."""

    def __init__(self) -> None:
        self.sockets = UserSockets()

    async def start(self) -> None:
        """Nothing to listen to."""

    async def stop(self) -> None:
        """Nothing to stop."""

    async def connected(self, socket: UserSocket) -> None:
        """Hold a new socket."""
        self.sockets.add(socket)

    async def disconnected(self, socket: UserSocket) -> None:
        """Forget a socket."""
        self.sockets.remove(socket)

    async def online(self) -> list[str]:
        """Return the users with a socket here."""
        return self.sockets.users()

    async def push(self, user_ids: Sequence[str], text: str) -> None:
        """Queue the message on the users' sockets here."""
        self.sockets.deliver(user_ids, text)


class RedisUserPush:
    """Pushes across processes: Redis pub/sub carries them, a sorted set says who is online."""

    def __init__(self, redis: Any) -> None:
        self.sockets = UserSockets()
        self._redis = redis
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Listen for pushes and keep this process's users marked online."""
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(PUSH_CHANNEL)
        self._tasks = [
            asyncio.create_task(self._listen(pubsub), name="user-push-listener"),
            asyncio.create_task(self._touch_forever(), name="user-push-online"),
        ]

    async def stop(self) -> None:
        """Stop listening and touching."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def connected(self, socket: UserSocket) -> None:
        """Hold a socket and mark its user online."""
        self.sockets.add(socket)
        await self._redis.zadd(ONLINE_KEY, {socket.user_id: time.time()})

    async def disconnected(self, socket: UserSocket) -> None:
        """Forget a socket; unmark its user when this process held its last one.

        Another process holding a socket of the same user marks it again on its next touch.
        """
        if self.sockets.remove(socket):
            await self._redis.zrem(ONLINE_KEY, socket.user_id)

    async def online(self) -> list[str]:
        """Return the users some process touched lately."""
        found = await self._redis.zrangebyscore(ONLINE_KEY, time.time() - ONLINE_FOR_S, "+inf")
        return [user.decode() if isinstance(user, bytes) else str(user) for user in found]

    async def push(self, user_ids: Sequence[str], text: str) -> None:
        """Publish the message for every process to hand to its sockets of these users."""
        if user_ids:
            payload = json.dumps({"users": list(user_ids), "text": text}, separators=(",", ":"))
            await self._redis.publish(PUSH_CHANNEL, payload)

    async def _listen(self, pubsub: Any) -> None:
        while True:
            try:
                async for message in pubsub.listen():
                    data = json.loads(message["data"])
                    self.sockets.deliver(data["users"], data["text"])
            except asyncio.CancelledError:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
                raise
            except Exception:  # Redis went away: pushes are lost meanwhile, rows are not
                log.warning("user pushes: listening failed", exc_info=True)
                await asyncio.sleep(1.0)
                with contextlib.suppress(Exception):
                    await pubsub.subscribe(PUSH_CHANNEL)

    async def _touch_forever(self) -> None:
        while True:
            users = self.sockets.users()
            try:
                now = time.time()
                if users:
                    await self._redis.zadd(ONLINE_KEY, dict.fromkeys(users, now))
                await self._redis.zremrangebyscore(ONLINE_KEY, "-inf", now - ONLINE_FOR_S)
            except Exception:
                log.warning("user pushes: marking users online failed", exc_info=True)
            await asyncio.sleep(TOUCH_EVERY_S)
