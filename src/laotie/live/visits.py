"""Visits: who entered a room from where, and how long they really watched.

Watch time is counted on the server from heartbeats: each heartbeat adds the time since
the previous one, but never more than `MAX_GAP` — a viewer whose page slept, or who left
without saying so, does not keep earning watch time.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from laotie.core.context import Ctx
from laotie.core.errors import AppError, not_found
from laotie.core.ids import new_id
from laotie.live.errors import LiveError
from laotie.live.models import Visit
from laotie.live.schemas import PRIVATE_SOURCES, EntrySource

HEARTBEAT_EVERY = timedelta(seconds=15)
MAX_GAP = timedelta(seconds=30)


def check_source(text: str | None) -> EntrySource:
    """Validate an entry source against DESIGN.md's list."""
    try:
        return EntrySource(text or "other")
    except ValueError:
        allowed = ", ".join(source.value for source in EntrySource)
        raise AppError(LiveError.BAD_SOURCE, f"source must be one of: {allowed}", 422) from None


async def do_enter(
    ctx: Ctx,
    session_id: str,
    viewer_key: str,
    user_id: str | None,
    source: EntrySource,
    follows_anchor: bool,
) -> str:
    """Record an entry into a room and return the visit's id."""
    now = ctx.now()
    visit = Visit(
        id=new_id("vst"),
        session_id=session_id,
        viewer_key=viewer_key,
        user_id=user_id,
        source=source,
        private=source in PRIVATE_SOURCES or follows_anchor,
        entered_at=now,
        last_seen_at=now,
        watch_seconds=0,
    )
    ctx.db.add(visit)
    await ctx.db.flush()
    return visit.id


async def do_heartbeat(ctx: Ctx, visit_id: str) -> int:
    """Count the time since the last heartbeat (at most MAX_GAP); return the visit's watch time."""
    visit = await ctx.db.scalar(select(Visit).where(Visit.id == visit_id))
    if visit is None:
        raise not_found("visit")
    now = ctx.now()
    gap = min(max(now - visit.last_seen_at, timedelta(0)), MAX_GAP)
    seconds = int(gap.total_seconds())
    total = visit.watch_seconds + seconds
    await ctx.db.execute(
        update(Visit)
        .where(Visit.id == visit_id)
        .values(watch_seconds=Visit.watch_seconds + seconds, last_seen_at=now)
        .execution_options(synchronize_session=False)
    )
    return total


async def do_count_until_purchase(ctx: Ctx, visit_id: str) -> None:
    """Make a visit that ends in an order count at least its time to purchase (DESIGN's rule)."""
    visit = await ctx.db.scalar(select(Visit).where(Visit.id == visit_id))
    if visit is None:
        return
    elapsed = int((ctx.now() - visit.entered_at).total_seconds())
    if visit.watch_seconds < elapsed:
        visit.watch_seconds = max(visit.watch_seconds, max(elapsed, 1))
        await ctx.db.flush()
