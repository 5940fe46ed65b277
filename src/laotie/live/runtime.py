"""The live rooms of one process: the hub, presence, rate limits and coalesced likes.

Built by `create_app` from the settings: in memory for one process, on Redis (room logs
as streams, presence and rate limits as keys) when `LAOTIE_REDIS_URL` is set, so that
several workers share every room.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import update

from laotie.core.context import unit_of_work_for
from laotie.core.stopping import Stop, finish
from laotie.live.events import RoomEventType, room_name
from laotie.live.models import LiveSession
from laotie.live.room.chat_writer import ChatWriter
from laotie.live.room.entry_writer import EVERY_S as ENTRIES_EVERY_S
from laotie.live.room.entry_writer import EntryWriter
from laotie.live.room.heartbeat_writer import EVERY_S as HEARTBEATS_EVERY_S
from laotie.live.room.heartbeat_writer import HeartbeatWriter
from laotie.live.room.state import SnapshotCache
from laotie.live.sale.gate import SaleGate
from laotie.live.sale.memory_gate import MemoryGate
from laotie.live.sale.redis_gate import RedisGate
from laotie.live.sale.service import SaleBook, left_event, rebuild_gate, running_sales
from laotie.live.sale.writer import SaleWriter
from laotie.live.ttl import TtlCache
from laotie.orders.checkout import Destination
from laotie.realtime.events import RoomEvent
from laotie.realtime.hub import Hub
from laotie.realtime.log import MemoryRoomLog
from laotie.realtime.presence import (
    AsyncRateLimiter,
    MemoryPresence,
    MemoryRateLimiter,
    Presence,
    RedisPresence,
    RedisRateLimiter,
)
from laotie.settings import Settings

log = logging.getLogger(__name__)

# Likes and online counts are coalesced: the room hears a total at most this often.
COUNTERS_EVERY_S = 1.0
# A buyer's destination for room sales is read again after this long. Not shorter: a
# crowd's attempts come back faster than their answers under load, and a cache that
# lapses between two attempts of the same buyer reads the address on nearly every one
# (at 2 s the flash sale fell from about 4,000 to 370 orders a second). An address
# changed during a sale ships that buyer's next sale orders once this has passed.
DESTINATION_TTL_S = 30.0
# A step of the counters loop gets this long to finish when the process stops.
STOP_GRACE_S = 5.0


@dataclass
class LiveRuntime:
    """What the room endpoints share inside one process."""

    hub: Hub
    presence: Presence
    chat_per_user: AsyncRateLimiter
    chat_per_room: AsyncRateLimiter
    gate: SaleGate
    chat: ChatWriter = field(default_factory=lambda: ChatWriter(0.1))
    sales: SaleBook = field(default_factory=SaleBook)
    sale_orders: SaleWriter = field(default_factory=SaleWriter)
    snapshots: SnapshotCache = field(default_factory=SnapshotCache)
    destinations: TtlCache[tuple[str, str | None, str], Destination] = field(
        default_factory=lambda: TtlCache(DESTINATION_TTL_S)
    )
    heartbeats: HeartbeatWriter = field(default_factory=lambda: HeartbeatWriter(HEARTBEATS_EVERY_S))
    entries: EntryWriter = field(default_factory=lambda: EntryWriter(ENTRIES_EVERY_S))
    redis: Any = None
    pending_likes: Counter[str] = field(default_factory=Counter)
    online_sent: dict[str, int] = field(default_factory=dict)
    left_sent: dict[str, int] = field(default_factory=dict)
    _task: asyncio.Task[None] | None = None
    _stop: Stop = field(default_factory=Stop)

    def like(self, session_id: str, count: int) -> None:
        """Count likes; they reach the database and the room on the next counters tick."""
        self.pending_likes[session_id] += count

    async def start(self, state: Any) -> None:
        """Rebuild the sales' gates from the database, start the hub and the counters loop."""
        await self.rebuild_gates(state)
        await self.hub.start()
        self.chat.start(state, self.hub.publish)
        self.heartbeats.start_writing(state)
        self.entries.start_writing(state)
        self._stop.withdraw()
        self._task = asyncio.create_task(self._counters_forever(state), name="live-counters")

    async def rebuild_gates(self, state: Any) -> None:
        """At start-up: give every running sale a gate built from the database (if it has none)."""
        async with unit_of_work_for(state) as ctx:
            for sale in await running_sales(ctx):
                if await self.gate.snapshot(sale.id) is None:
                    await rebuild_gate(ctx, self.gate, sale.id)

    async def stop(self, state: Any) -> None:
        """Stop the loop, save what the writers still hold, stop the hub; close Redis."""
        if self._task is not None:
            await finish([self._task], self._stop, STOP_GRACE_S)
            self._task = None
        await self.chat.stop(state, self.hub.publish)
        await self.heartbeats.stop_writing(state)
        await self.entries.stop_writing(state)
        await self.hub.stop()
        if self.redis is not None:
            await self.redis.aclose()

    async def flush_counters(self, state: Any) -> None:
        """Save the coalesced likes and tell rooms their like and online totals."""
        likes, self.pending_likes = self.pending_likes, Counter()
        for session_id, count in likes.items():
            async with unit_of_work_for(state) as ctx:
                total = await ctx.db.scalar(
                    update(LiveSession)
                    .where(LiveSession.id == session_id)
                    .values(likes=LiveSession.likes + count)
                    .returning(LiveSession.likes)
                )
            if total is not None:
                await self.hub.publish(
                    room_name(session_id),
                    RoomEvent(RoomEventType.LIKES, {"total": total}, coalesce="likes"),
                )
        await self._refresh_sales_left()
        for room in list(self.online_sent):
            count = await self.presence.count(room, time.time())
            if count != self.online_sent[room]:
                self.online_sent[room] = count
                await self.hub.publish(
                    room, RoomEvent(RoomEventType.ONLINE, {"count": count}, coalesce="online")
                )

    async def _refresh_sales_left(self) -> None:
        """Re-announce the units left of sales sold here, so the room ends on the gate's count.

        A buy announces the count it saw; two buys finishing out of order (on two workers)
        can announce them out of order, and this puts the room right within a tick.
        """
        for sale in self.sales.known_sales():
            count = await self.gate.count(sale.sale_id)
            if count is not None and self.left_sent.get(sale.sale_id) != count.left:
                self.left_sent[sale.sale_id] = count.left
                await self.hub.publish(room_name(sale.session_id), left_event(sale.sale_id, count))

    def watch(self, room: str) -> None:
        """Keep a room's online count announced while this process has viewers in it."""
        self.online_sent.setdefault(room, -1)

    async def _counters_forever(self, state: Any) -> None:
        while await self._stop.pause(COUNTERS_EVERY_S):
            try:
                await self.flush_counters(state)
            except Exception:
                log.exception("live counters failed")


def make_runtime(settings: Settings) -> LiveRuntime:
    """Build the live runtime the settings ask for: in memory, or shared through Redis."""
    if settings.redis_url:
        from redis.asyncio import BlockingConnectionPool, Redis

        from laotie.realtime.redis_log import RedisRoomLog

        redis = Redis.from_pool(
            BlockingConnectionPool.from_url(settings.redis_url, max_connections=200)
        )
        return LiveRuntime(
            hub=Hub(RedisRoomLog(redis)),
            presence=RedisPresence(redis),
            chat_per_user=RedisRateLimiter(redis, settings.chat_per_user_per_10s, 10.0, "chat:u"),
            chat_per_room=RedisRateLimiter(redis, settings.chat_per_room_per_s, 1.0, "chat:r"),
            gate=RedisGate(redis),
            chat=ChatWriter(settings.chat_save_every_ms / 1000),
            redis=redis,
        )
    return LiveRuntime(
        hub=Hub(MemoryRoomLog()),
        presence=MemoryPresence(),
        chat_per_user=MemoryRateLimiter(settings.chat_per_user_per_10s, 10.0),
        chat_per_room=MemoryRateLimiter(settings.chat_per_room_per_s, 1.0),
        gate=MemoryGate(),
        chat=ChatWriter(settings.chat_save_every_ms / 1000),
    )
