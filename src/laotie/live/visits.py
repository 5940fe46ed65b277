"""Visits: who entered a room from where, and how long they really watched.

Watch time is counted on the server from heartbeats: each heartbeat adds the time since
the previous one, but never more than `MAX_GAP` — a viewer whose page slept, or who left
without saying so, does not keep earning watch time.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import Connection, Update, bindparam, select, update

from laotie.core.context import Ctx
from laotie.core.errors import AppError, not_found
from laotie.core.ids import new_id
from laotie.live.errors import LiveError
from laotie.live.models import Visit
from laotie.live.schemas import PRIVATE_SOURCES, EntrySource

HEARTBEAT_EVERY = timedelta(seconds=15)
MAX_GAP = timedelta(seconds=30)
# Visits read in one statement at most (SQLite caps a statement's parameters).
MAX_IDS_PER_READ = 1_000


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
    seconds = _seconds_since(visit.last_seen_at, now)
    added = {"added": seconds, "now": now}
    await ctx.db.execute(_add_watch_time().where(Visit.id == visit_id), added)
    return visit.watch_seconds + seconds


def heartbeats_sync(
    connection: Connection, now: datetime, visit_ids: Sequence[str]
) -> dict[str, int]:
    """`do_heartbeat` for many visits at once: one read, one update; return the watch times.

    A visit named twice counts once; a visit not found is left out of the answer.
    """
    totals: dict[str, int] = {}
    wanted = sorted(set(visit_ids))
    for start in range(0, len(wanted), MAX_IDS_PER_READ):
        chunk = wanted[start : start + MAX_IDS_PER_READ]
        rows = connection.execute(
            select(Visit.id, Visit.last_seen_at, Visit.watch_seconds).where(Visit.id.in_(chunk))
        )
        changes = []
        for visit_id, last_seen_at, watched in rows:
            seconds = _seconds_since(last_seen_at, now)
            totals[visit_id] = watched + seconds
            changes.append({"visit": visit_id, "added": seconds, "now": now})
        if changes:
            connection.execute(_add_watch_time().where(Visit.id == bindparam("visit")), changes)
    return totals


def _seconds_since(last_seen_at: datetime, now: datetime) -> int:
    """Return the whole seconds since the last heartbeat, never more than MAX_GAP."""
    return int(min(max(now - last_seen_at, timedelta(0)), MAX_GAP).total_seconds())


def _add_watch_time() -> Update:
    # Added, not set: the sale writer may raise the same visit's watch time meanwhile.
    return (
        update(Visit)
        .values(
            watch_seconds=Visit.watch_seconds + bindparam("added"),
            last_seen_at=bindparam("now"),
        )
        .execution_options(synchronize_session=False)
    )


async def do_count_until_purchase(ctx: Ctx, visit_id: str) -> None:
    """Make a visit that ends in an order count at least its time to purchase (DESIGN's rule)."""
    visit = await ctx.db.scalar(select(Visit).where(Visit.id == visit_id))
    if visit is None:
        return
    elapsed = int((ctx.now() - visit.entered_at).total_seconds())
    if visit.watch_seconds < elapsed:
        visit.watch_seconds = max(visit.watch_seconds, max(elapsed, 1))
        await ctx.db.flush()
