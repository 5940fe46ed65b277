"""Room logs shared by several workers: a Redis Stream per room.

A room has two keys with the same hash tag (so they live on one cluster slot):
`room:{name}:meta`, a hash with the room's `epoch` and its counter `n`, and
`room:{name}:log`, the stream, whose entry ids are `<n>-0` so that the stream id is the
sequence number. Appending is one Lua script: make sure the epoch exists (a new random
one when the hash is missing, and then the old stream is dropped), count, and XADD with
approximate trimming. Losing Redis (FLUSHALL, a restart without persistence, eviction)
loses the hash, so the next append or head starts a new epoch and every reader and viewer
sees the change and takes a fresh snapshot. Plain pub/sub is not used: it drops messages
while a reader reconnects and cannot replay for a viewer that rejoins.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis

from laotie.realtime.events import RoomEvent, Seq

_ENSURE_EPOCH = """
if redis.call('HSETNX', KEYS[1], 'epoch', ARGV[1]) == 1 then
  redis.call('DEL', KEYS[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
"""

_APPEND = (
    _ENSURE_EPOCH
    + """
local epoch = redis.call('HGET', KEYS[1], 'epoch')
local n = redis.call('HINCRBY', KEYS[1], 'n', 1)
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], n .. '-0', 'e', epoch, 'v', ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return {epoch, n}
"""
)

_HEAD = (
    _ENSURE_EPOCH
    + """
return redis.call('HMGET', KEYS[1], 'epoch', 'n')
"""
)


def meta_key(room: str) -> str:
    """Return the key of a room's epoch and counter."""
    return f"room:{{{room}}}:meta"


def stream_key(room: str) -> str:
    """Return the key of a room's stream."""
    return f"room:{{{room}}}:log"


class RedisRoomLog:
    """A room log in Redis Streams that several workers append to and follow."""

    def __init__(self, redis: Redis, *, keep: int = 1_000, ttl_s: float = 86_400) -> None:
        self.redis = redis
        self.keep = keep
        self.ttl_ms = int(ttl_s * 1000)
        self._append = redis.register_script(_APPEND)
        self._head = redis.register_script(_HEAD)

    async def append(self, room: str, event: RoomEvent) -> RoomEvent:
        """Number an event and add it to the room's stream."""
        payload = json.dumps(
            [event.type, event.data, event.priority, event.coalesce],
            separators=(",", ":"),
            ensure_ascii=False,
        )
        epoch, n = await self._append(
            keys=[meta_key(room), stream_key(room)],
            args=[_fresh_epoch(), self.ttl_ms, self.keep, payload],
        )
        return RoomEvent(
            event.type, event.data, event.priority, event.coalesce, Seq(_text(epoch), int(n))
        )

    async def read_head(self, room: str) -> Seq:
        """Return the room's newest sequence number (starting an epoch if there is none)."""
        epoch, n = await self._head(
            keys=[meta_key(room), stream_key(room)], args=[_fresh_epoch(), self.ttl_ms]
        )
        return Seq(_text(epoch), int(n or 0))

    async def read_since(self, room: str, after: Seq) -> Sequence[RoomEvent] | None:
        """Return the events after `after`, or None when the stream no longer has them all."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hmget(meta_key(room), "epoch", "n")
            pipe.xrange(stream_key(room), min=f"{after.n + 1}-0", max="+")
            (epoch, n), entries = await pipe.execute()
        if epoch is None or _text(epoch) != after.epoch:
            return None
        head = int(n or 0)
        if after.n > head:
            return None  # a number this epoch never gave
        events = [_event(entry_id, fields) for entry_id, fields in entries]
        if not _continues(after, events) or len(events) != head - after.n:
            return None  # trimmed, or the stream was lost while the counter stayed
        return events

    async def follow(self, room: str, after: Seq, block_ms: int) -> Sequence[RoomEvent] | None:
        """Wait up to `block_ms` for events after `after`; None when the log restarted."""
        reply = await self.redis.xread(
            {stream_key(room): f"{after.n}-0"}, count=self.keep, block=block_ms
        )
        entries = _entries(reply)
        if not entries:
            # Quiet, or a restarted log whose new numbers are still below ours: ask.
            epoch = await self.redis.hget(meta_key(room), "epoch")
            return [] if epoch is not None and _text(epoch) == after.epoch else None
        events = [_event(entry_id, fields) for entry_id, fields in entries]
        return events if _continues(after, events) else None

    async def forget(self, room: str) -> None:
        """Drop a finished room's log."""
        await self.redis.delete(meta_key(room), stream_key(room))


def _fresh_epoch() -> str:
    return secrets.token_hex(4)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _field(fields: dict[Any, Any], name: str) -> str:
    value = fields.get(name, fields.get(name.encode()))
    return _text(value)


def _event(entry_id: Any, fields: dict[Any, Any]) -> RoomEvent:
    kind, data, priority, coalesce = json.loads(_field(fields, "v"))
    n = int(_text(entry_id).partition("-")[0])
    return RoomEvent(kind, data, bool(priority), coalesce, Seq(_field(fields, "e"), n))


def _entries(reply: Any) -> list[tuple[Any, dict[Any, Any]]]:
    """Return a one-stream XREAD reply's entries, in either protocol's shape."""
    if not reply:
        return []
    if isinstance(reply, dict):
        return [entry for entries in reply.values() for entry in _flatten(entries)]
    return [entry for _stream, entries in reply for entry in entries]


def _flatten(entries: Any) -> list[tuple[Any, dict[Any, Any]]]:
    # RESP3 nests the entries one level deeper than RESP2.
    if entries and isinstance(entries[0], list) and entries[0] and isinstance(entries[0][0], list):
        return [entry for group in entries for entry in group]
    return list(entries)


def _continues(after: Seq, events: Sequence[RoomEvent]) -> bool:
    """Tell whether the events follow `after` in the same epoch with no gap."""
    expected = after.n + 1
    for event in events:
        if event.seq is None or event.seq.epoch != after.epoch or event.seq.n != expected:
            return False
        expected += 1
    return True
