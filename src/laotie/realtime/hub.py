"""The per-process fan-out: rooms to local viewers, one batched message per viewer per tick.

Events reach the hub in log order: straight from `publish` with the in-memory log, from a
reader task per room with a shared (Redis) log, so every worker delivers the same way.
They wait in the room's tick buffer (coalescing like a viewer's outbox). Every tick the
buffer is emptied once: a viewer that is in step (nothing queued of its own, no send in
progress, has seen none of these events) gets the room's batch, encoded once and shared
by all such viewers; a viewer that lags gets the events through its own outbox, which
coalesces, drops ordinary events and cuts off a consumer that cannot keep up. A viewer
has at most one send in progress; a send stuck longer than `send_timeout_s` cuts it off.

Sending costs no task in the usual case. A viewer with a direct writer (see `direct`) gets
the shared frame written to its transport at once, and is busy while its transport holds
more than its high-water mark. Otherwise the hub steps the viewer's send coroutine by
hand: an ASGI send whose transport is not paused finishes without suspending, and only
a send that does suspend is handed to a task that finishes it (the viewer is busy until
then). Ten messages a second to thousands of viewers would otherwise mean tens of
thousands of tasks a second.

Joining (see docs/realtime.md): subscribe first, so that nothing published from then on
is missed; take the snapshot with the sequence number it reflects; give the viewer the
snapshot and then only the events newer than it, from the log's replay window and what
arrived meanwhile, each once (the viewer's floor is the newest sequence number it has).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from laotie.realtime.direct import DirectWriter, Outgoing
from laotie.realtime.events import RoomEvent, Seq
from laotie.realtime.log import RoomLog, SharedRoomLog
from laotie.realtime.outbox import Outbox, SlowConsumerError

logger = logging.getLogger(__name__)

Send = Callable[[str], Coroutine[Any, Any, None]]
Close = Callable[[], Awaitable[None]]
Snapshot = Callable[[], Awaitable[tuple[dict[str, Any], Seq]]]

SNAPSHOT = "snapshot"
BATCH = "batch"


def encode_batch(frames: Sequence[dict[str, Any]]) -> str:
    """Encode the one WebSocket message of a tick."""
    return json.dumps({"type": BATCH, "frames": frames}, separators=(",", ":"), ensure_ascii=False)


class Subscription:
    """One viewer's place in a room on this process."""

    __slots__ = (
        "_close",
        "_hub",
        "_send",
        "_snapshot",
        "closed",
        "floor",
        "outbox",
        "pending",
        "room",
        "sending",
        "sending_since",
        "writer",
    )

    def __init__(
        self,
        hub: Hub,
        room: str,
        send: Send,
        close: Close,
        outbox: Outbox,
        floor: Seq,
        snapshot: Snapshot | None,
        writer: DirectWriter | None = None,
    ) -> None:
        self.room = room
        self.outbox = outbox
        self.closed = False
        # The newest room event this viewer has been given (or that its snapshot reflects).
        self.floor = floor
        # Events that arrive while the viewer joins; None once it has joined.
        self.pending: list[RoomEvent] | None = None
        self.sending: asyncio.Task[None] | None = None
        self.sending_since = 0.0  # when the send in progress (or the last direct write) began
        self.writer = writer
        self._hub = hub
        self._send = send
        self._close = close
        self._snapshot = snapshot

    def cancel(self) -> None:
        """Leave the room (the connection ended); nothing more is sent."""
        self._hub._remove(self)

    def push(self, event: RoomEvent) -> None:
        """Queue a frame for this viewer alone (an error, a reply); it goes out next tick."""
        if self.closed:
            return
        try:
            self.outbox.put(event)
        except SlowConsumerError:
            self._hub._cut_off(self)

    def busy(self) -> bool:
        """Say whether the previous message is still going out."""
        if self.writer is not None:
            return self.writer.blocked()
        return self.sending is not None

    def _sent(self, task: asyncio.Task[None]) -> None:
        self.sending = None
        if task.cancelled():
            return
        if task.exception() is not None:  # the connection is gone
            self._hub._cut_off(self)


@dataclass(eq=False)
class _Room:
    name: str
    tick: Outbox
    position: Seq  # the newest event delivered in this process
    subscribers: dict[Subscription, None] = field(default_factory=dict)  # an ordered set
    joining: set[Subscription] = field(default_factory=set)
    reader: asyncio.Task[None] | None = None
    generation: int = 0  # changes when the log restarts under the room


class Hub:
    """Fan a room's events out to this process's viewers, batched on a tick."""

    def __init__(
        self,
        log: RoomLog,
        *,
        tick_s: float = 0.1,
        send_timeout_s: float = 5.0,
        soft_limit: int = 100,
        hard_limit: int = 1_000,
        block_ms: int = 1_000,
        chunk: int = 256,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.log = log
        self.tick_s = tick_s
        self.send_timeout_s = send_timeout_s
        self.soft_limit = soft_limit
        self.hard_limit = hard_limit
        self.block_ms = block_ms
        self.chunk = chunk
        self._clock = clock
        self._rooms: dict[str, _Room] = {}
        self._opening = asyncio.Lock()
        self._ticker: asyncio.Task[None] | None = None
        self._chores: set[asyncio.Task[None]] = set()  # closes and resyncs under way

    # -- life cycle ------------------------------------------------------------------

    async def start(self) -> None:
        """Start the ticker."""
        if self._ticker is None:
            self._ticker = asyncio.create_task(self._tick_forever(), name="realtime-ticker")

    async def stop(self) -> None:
        """Stop the ticker, the readers and every send; forget the rooms."""
        tasks = [task for task in (self._ticker, *self._chores) if task is not None]
        for room in self._rooms.values():
            tasks.extend(task for task in (room.reader,) if task is not None)
            tasks.extend(sub.sending for sub in room.subscribers if sub.sending is not None)
            for sub in room.subscribers:
                sub.closed = True
        self._rooms.clear()
        self._ticker = None
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # -- the API ---------------------------------------------------------------------

    async def publish(self, room: str, event: RoomEvent) -> RoomEvent:
        """Number an event in the room's log and deliver it to the room's viewers."""
        numbered = await self.log.append(room, event)
        if not isinstance(self.log, SharedRoomLog):
            # The in-memory log does not suspend in append, so delivery follows log order.
            target = self._rooms.get(room)
            if target is not None:
                self._deliver(target, numbered)
        return numbered

    async def head(self, room: str) -> Seq:
        """Return the room's newest sequence number in the log."""
        return await self.log.read_head(room)

    async def subscribe(
        self,
        room: str,
        send: Send,
        close: Close,
        snapshot: Snapshot | None = None,
        writer: DirectWriter | None = None,
    ) -> Subscription:
        """Receive the room's events delivered from now on (no snapshot, no replay).

        With a `writer`, messages are written through it instead of awaiting `send`.
        """
        target = await self._open(room)
        while self._rooms.get(room) is not target:  # its last viewer left meanwhile
            target = await self._open(room)
        sub = Subscription(
            self,
            room,
            send,
            close,
            Outbox(soft_limit=self.soft_limit, hard_limit=self.hard_limit),
            target.position,
            snapshot,
            writer,
        )
        sub.sending_since = self._clock()  # a direct writer may be blocked from the start
        target.subscribers[sub] = None
        return sub

    async def join(
        self,
        room: str,
        send: Send,
        close: Close,
        snapshot: Snapshot,
        after: Seq | None = None,
        writer: DirectWriter | None = None,
    ) -> Subscription:
        """Subscribe, then queue a snapshot (or a replay after `after`) and the newer events.

        `snapshot()` returns the room's state and the sequence number of the newest event
        that state reflects. With `after` (a reconnecting viewer's last sequence number) the
        log's replay is used when it still has every newer event; otherwise a snapshot.
        The subscription is closed (and `close` called) when no snapshot can be tied to the
        log after a few tries; an exception from `snapshot` removes it and propagates.
        """
        sub = await self.subscribe(room, send, close, snapshot, writer)
        try:
            await self._catch_up(sub, after)
        except BaseException:
            self._remove(sub)
            raise
        return sub

    def local_count(self, room: str) -> int:
        """Return how many viewers of the room this process holds."""
        target = self._rooms.get(room)
        return len(target.subscribers) if target else 0

    def flush(self) -> None:
        """Run one tick: send each viewer with queued frames one message."""
        now = self._clock()
        for room in list(self._rooms.values()):
            for _ in self._flush_room(room, now):
                pass

    # -- delivery --------------------------------------------------------------------

    def _deliver(self, room: _Room, event: RoomEvent) -> None:
        seq = event.seq
        if seq is None or (seq.epoch == room.position.epoch and seq.n <= room.position.n):
            return
        room.position = seq
        for sub in room.joining:
            if sub.pending is not None:
                sub.pending.append(event)
        try:
            room.tick.put(event)
        except SlowConsumerError:  # the ticker is not keeping up: start everyone afresh
            logger.warning("room %s: tick buffer overflow, resyncing its viewers", room.name)
            self._reset(room, seq)

    def _flush_room(self, room: _Room, now: float) -> Iterator[None]:
        """Send the room's tick, pausing after every `chunk` viewers (see `_tick_forever`)."""
        events = room.tick.take_events()
        epoch, low, top = _span(events)
        shared: Outgoing | None = None
        reached = Seq(epoch, top)  # shared by every viewer in step: a Seq is immutable
        generation = room.generation
        for index, sub in enumerate(list(room.subscribers)):
            if index and index % self.chunk == 0:
                yield
                if room.generation != generation or self._rooms.get(room.name) is not room:
                    return  # reset or emptied meanwhile: its viewers start afresh
            if sub.pending is not None or sub.closed:
                continue  # joining: its catch-up queues what it needs
            writer = sub.writer  # inlined `sub.busy()`: this loop runs for every viewer
            busy = writer.blocked() if writer is not None else sub.sending is not None
            if busy and now - sub.sending_since > self.send_timeout_s:
                self._cut_off(sub)
                continue
            if events:
                floor = sub.floor
                if not busy and floor.n < low and floor.epoch == epoch and not sub.outbox.queue:
                    if shared is None:
                        shared = Outgoing(encode_batch([event.frame() for event in events]))
                    sub.floor = reached
                    self._start_send(sub, shared, now)
                    continue
                try:
                    _queue_newer(sub, events)
                except SlowConsumerError:
                    self._cut_off(sub)
                    continue
            if not busy and sub.outbox.queue:
                self._start_send(sub, Outgoing(encode_batch(sub.outbox.take())), now)

    def _start_send(self, sub: Subscription, message: Outgoing, now: float) -> None:
        sub.sending_since = now
        if sub.writer is not None:
            try:
                sub.writer.write(message)
            except Exception:  # the connection is gone
                self._cut_off(sub)
            return
        send = sub._send(message.text)
        try:
            waiting = send.send(None)
        except StopIteration:
            return  # sent without suspending: no task needed
        except (Exception, asyncio.CancelledError):
            self._cut_off(sub)
            return
        task = asyncio.get_running_loop().create_task(_finish(_Resumed(send, waiting)))
        sub.sending = task
        task.add_done_callback(sub._sent)

    # -- joining ---------------------------------------------------------------------

    async def _catch_up(self, sub: Subscription, after: Seq | None) -> None:
        room = self._rooms[sub.room]
        sub.outbox.clear()
        room.joining.add(sub)
        try:
            for _attempt in range(3):
                # Read the position and start collecting in the same step: nothing between.
                joined_at, generation = room.position, room.generation
                sub.pending = []
                if after is not None:
                    replay = await self._events_after(room, sub, after, joined_at, check=True)
                    if sub.closed:
                        return
                    if replay is not None and room.generation == generation:
                        self._joined(sub, None, after, replay)
                        return
                    after = None  # the log no longer has them: take a snapshot
                    continue
                if sub._snapshot is None:  # a plain subscription has no state to resync
                    break
                data, seq = await sub._snapshot()
                if sub.closed:
                    return
                newer = await self._events_after(room, sub, seq, joined_at, check=False)
                if newer is not None and room.generation == generation and not sub.closed:
                    self._joined(sub, RoomEvent(SNAPSHOT, data, priority=True, seq=seq), seq, newer)
                    return
            logger.warning("room %s: no snapshot could be tied to the log", room.name)
            self._cut_off(sub)
        finally:
            room.joining.discard(sub)
            sub.pending = None

    async def _events_after(
        self, room: _Room, sub: Subscription, start: Seq, joined_at: Seq, *, check: bool
    ) -> list[RoomEvent] | None:
        """Return the events after `start`: the log's replay joined to what arrived since."""
        if start.epoch != joined_at.epoch:
            return None
        if start.n >= joined_at.n and not check:
            # Everything newer than the snapshot arrived after subscribing: it is pending.
            return [event for event in sub.pending or () if _n(event) > start.n]
        kept = await self.log.read_since(room.name, start)
        if kept is None:
            return None
        last = max((_n(event) for event in kept), default=start.n)
        return [*kept, *(event for event in sub.pending or () if _n(event) > last)]

    def _joined(
        self, sub: Subscription, snapshot: RoomEvent | None, start: Seq, events: list[RoomEvent]
    ) -> None:
        sub.pending = None
        sub.floor = start
        try:
            if snapshot is not None:
                sub.outbox.put(snapshot)
            _queue_newer(sub, events)
        except SlowConsumerError:
            self._cut_off(sub)

    # -- shared logs -----------------------------------------------------------------

    async def _open(self, name: str) -> _Room:
        room = self._rooms.get(name)
        if room is not None:
            return room
        async with self._opening:
            room = self._rooms.get(name)
            if room is None:
                head = await self.log.read_head(name)
                room = self._rooms[name] = _Room(
                    name, Outbox(soft_limit=self.soft_limit, hard_limit=100_000), head
                )
                if isinstance(self.log, SharedRoomLog):
                    room.reader = asyncio.create_task(
                        self._follow(room, self.log), name=f"realtime-reader:{name}"
                    )
        return room

    async def _follow(self, room: _Room, log: SharedRoomLog) -> None:
        """Deliver the room's events from the shared log, in its order, until cancelled."""
        pause = 0.05
        while True:
            try:
                events = await log.follow(room.name, room.position, self.block_ms)
                if events is None:
                    self._reset(room, await log.read_head(room.name))
                else:
                    for event in events:
                        self._deliver(room, event)
                pause = 0.05
            except asyncio.CancelledError:
                raise
            except Exception:  # the log's server is away: retry, slower each time
                logger.warning("room %s: reading the log failed", room.name, exc_info=True)
                await asyncio.sleep(pause)
                pause = min(pause * 2, 2.0)

    def _reset(self, room: _Room, head: Seq) -> None:
        """The log restarted (or skipped): every viewer takes a fresh snapshot."""
        room.generation += 1
        room.position = head
        room.tick.clear()
        for sub in list(room.subscribers):
            if sub._snapshot is None:
                self._cut_off(sub)
            elif sub.pending is None:  # a viewer still joining retries by itself
                self._chore(self._resync(sub))

    async def _resync(self, sub: Subscription) -> None:
        # The log's server may have just come back: its other connections fail once.
        for pause in (0.05, 0.2, 0.5, 1.0, 2.0):
            if sub.closed:
                return
            try:
                await self._catch_up(sub, None)
                return
            except Exception:
                logger.warning("room %s: resync failed", sub.room, exc_info=True)
                await asyncio.sleep(pause)
        self._cut_off(sub)

    # -- leaving ---------------------------------------------------------------------

    def _remove(self, sub: Subscription) -> None:
        if sub.closed:
            return
        sub.closed = True
        if sub.sending is not None:
            sub.sending.cancel()
        room = self._rooms.get(sub.room)
        if room is None:
            return
        room.subscribers.pop(sub, None)
        room.joining.discard(sub)
        if not room.subscribers:
            del self._rooms[sub.room]
            if room.reader is not None:
                room.reader.cancel()

    def _cut_off(self, sub: Subscription) -> None:
        """Disconnect a viewer that cannot keep up or whose connection failed."""
        if sub.closed:
            return
        self._remove(sub)
        self._chore(self._close_quietly(sub._close))

    async def _close_quietly(self, close: Close) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(close(), self.send_timeout_s)

    def _chore(self, work: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(work)
        self._chores.add(task)
        task.add_done_callback(self._chores.discard)

    async def _tick_forever(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            now = self._clock()
            for room in list(self._rooms.values()):
                try:
                    # A tick to thousands of viewers takes tens of milliseconds: let the
                    # rest of the server (chat, database replies) run between chunks.
                    for _ in self._flush_room(room, now):
                        await asyncio.sleep(0)
                except Exception:  # one bad room must not stop every room
                    logger.exception("realtime tick of room %s failed", room.name)
            await asyncio.sleep(max(0.0, self.tick_s - (loop.time() - started)))


class _Resumed:
    """A send coroutine stepped by hand that suspended: await it to let it finish.

    Its first step yielded `waiting` (what it awaits, as a task would have been given);
    the task awaiting this passes it on to the event loop, then resumes the coroutine the
    way a task resumes its own, so the coroutine reads the outcome itself.
    """

    __slots__ = ("_send", "_waiting")

    def __init__(self, send: Coroutine[Any, Any, None], waiting: Any) -> None:
        self._send = send
        self._waiting = waiting

    def __await__(self) -> Generator[Any, Any, None]:
        while True:
            try:
                yield self._waiting
            except BaseException as error:  # the task is cancelled: so is the send
                try:
                    self._waiting = self._send.throw(error)
                except StopIteration:
                    return
                continue
            yield from self._send.__await__()
            return


async def _finish(send: _Resumed) -> None:
    await send


def _n(event: RoomEvent) -> int:
    return event.seq.n if event.seq is not None else 0


def _span(events: Sequence[RoomEvent]) -> tuple[str, int, int]:
    """Return the epoch and the lowest and highest numbers of a tick's events."""
    if not events or events[0].seq is None:
        return "", 0, 0
    numbers = [_n(event) for event in events]
    return events[0].seq.epoch, min(numbers), max(numbers)


def _queue_newer(sub: Subscription, events: Sequence[RoomEvent]) -> None:
    """Queue the events the viewer has not been given yet, and raise its floor."""
    floor = sub.floor
    top = floor.n
    for event in events:
        seq = event.seq
        if seq is not None and seq.epoch == floor.epoch and seq.n > floor.n:
            sub.outbox.put(event)
            top = max(top, seq.n)
    sub.floor = Seq(floor.epoch, top)
