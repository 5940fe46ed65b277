"""Heartbeats counted a batch at a time: each visit once, gaps capped, unknown visits named."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from laotie.core.clock import FrozenClock
from laotie.live.models import Visit
from laotie.live.room import visits
from laotie.live.room.heartbeat_writer import HeartbeatWriter
from laotie.live.schemas import EntrySource


async def _enter(uow: Any, session_id: str, viewer: str) -> str:
    async with uow() as ctx:
        return await visits.do_enter(ctx, session_id, viewer, None, EntrySource.SEARCH, False)


async def test_one_batch_counts_every_viewers_heartbeat(
    room: dict[str, Any], uow: Any, app: Any, clock: FrozenClock
) -> None:
    first = await _enter(uow, room["session_id"], "vis_a")
    second = await _enter(uow, room["session_id"], "vis_b")
    clock.advance(timedelta(seconds=15))
    writer = HeartbeatWriter(every_s=0.01)
    heard: list[tuple[str, int | None]] = []

    def listener(name: str) -> Any:
        async def watched(seconds: int | None) -> None:
            heard.append((name, seconds))

        return watched

    writer.add(first, listener("first"))
    writer.add(first, listener("first again"))  # the same tick twice: counted once
    writer.add(second, listener("second"))
    writer.add("vst_missing", listener("missing"))
    assert await writer.write_waiting(app.state) == 2
    assert writer.batches == 1
    assert sorted(heard) == [("first", 15), ("first again", 15), ("missing", None), ("second", 15)]
    clock.advance(timedelta(minutes=10))  # the page slept: at most 30 s more
    heard.clear()
    writer.add(first, listener("first"))
    await writer.write_waiting(app.state)
    assert heard == [("first", 45)]


async def test_heartbeats_still_waiting_are_counted_when_the_writer_stops(
    room: dict[str, Any], uow: Any, app: Any, clock: FrozenClock
) -> None:
    visit_id = await _enter(uow, room["session_id"], "vis_c")
    clock.advance(timedelta(seconds=20))
    writer = HeartbeatWriter(every_s=60)
    heard: list[int | None] = []

    async def watched(seconds: int | None) -> None:
        heard.append(seconds)

    writer.start_writing(app.state)
    writer.add(visit_id, watched)
    await writer.stop_writing(app.state)
    assert heard == [20]
    async with uow() as ctx:
        seconds = await ctx.db.scalar(select(Visit.watch_seconds).where(Visit.id == visit_id))
    assert seconds == 20
