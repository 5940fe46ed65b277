"""A visit's whole watch time recorded in one event at its end (`visits.do_leave`)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from laotie.core.clock import FrozenClock
from laotie.core.errors import AppError
from laotie.live.models import Visit
from laotie.live.room import visits
from laotie.live.schemas import EntrySource


async def _enter(uow: Any, session_id: str) -> str:
    async with uow() as ctx:
        return await visits.do_enter(ctx, session_id, "vis_l", None, EntrySource.SEARCH, False)


async def _visit(uow: Any, visit_id: str) -> Visit:
    async with uow() as ctx:
        found = await ctx.db.scalar(select(Visit).where(Visit.id == visit_id))
        assert found is not None
        return found


async def test_leaving_records_the_whole_watch_time_and_the_moment(
    room: dict[str, Any], uow: Any, clock: FrozenClock
) -> None:
    visit_id = await _enter(uow, room["session_id"])
    clock.advance(timedelta(minutes=7))
    async with uow() as ctx:
        assert await visits.do_leave(ctx, visit_id, 400) == 400
    visit = await _visit(uow, visit_id)
    assert visit.watch_seconds == 400
    assert visit.last_seen_at == clock.now()


async def test_a_visit_never_watches_longer_than_it_lasted_nor_less_than_counted(
    room: dict[str, Any], uow: Any, clock: FrozenClock
) -> None:
    visit_id = await _enter(uow, room["session_id"])
    clock.advance(timedelta(seconds=90))
    async with uow() as ctx:
        await visits.do_count_until_purchase(ctx, visit_id)  # an order after 90 s
        assert await visits.do_leave(ctx, visit_id, 60) == 90
    clock.advance(timedelta(seconds=30))
    async with uow() as ctx:
        assert await visits.do_leave(ctx, visit_id, 10_000) == 120


async def test_an_order_in_the_second_of_entry_still_counts_a_second_of_watch_time(
    room: dict[str, Any], uow: Any
) -> None:
    visit_id = await _enter(uow, room["session_id"])
    async with uow() as ctx:
        await visits.do_count_until_purchase(ctx, visit_id)  # no time has passed
    assert (await _visit(uow, visit_id)).watch_seconds == 1


async def test_leaving_an_unknown_visit_or_with_negative_time_is_refused(
    room: dict[str, Any], uow: Any
) -> None:
    visit_id = await _enter(uow, room["session_id"])
    with pytest.raises(AppError):
        async with uow() as ctx:
            await visits.do_leave(ctx, "vst_missing", 10)
    with pytest.raises(ValueError, match="negative"):
        async with uow() as ctx:
            await visits.do_leave(ctx, visit_id, -1)
