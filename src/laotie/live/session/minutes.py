"""Per-minute counters of a live session, rolled up from its rows for the session's review.

A job rolls up each complete minute once the minute is over: entries, distinct viewers
present, chat lines, likes, orders placed and their value. Rolling a minute up again
gives the same row, so the job is idempotent and may run on several workers.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select

from laotie.core.context import Ctx
from laotie.live.models import ChatMessage, LiveSession, RoomMinute, Visit
from laotie.live.schemas import SessionStatus
from laotie.orders import queries as order_queries

MINUTE = timedelta(minutes=1)
MAX_MINUTES_PER_RUN = 120


def minute_of(moment: datetime) -> datetime:
    """Return the start of the minute a moment falls in."""
    return moment.replace(second=0, microsecond=0)


async def do_roll_up(ctx: Ctx, session: LiveSession, start: datetime) -> RoomMinute:
    """Write (or rewrite) the counters of one minute of a session."""
    end = start + MINUTE
    entries = await ctx.db.scalar(
        select(func.count(Visit.id)).where(
            Visit.session_id == session.id, Visit.entered_at >= start, Visit.entered_at < end
        )
    )
    viewers = await ctx.db.scalar(
        select(func.count(func.distinct(Visit.viewer_key))).where(
            Visit.session_id == session.id, Visit.entered_at < end, Visit.last_seen_at >= start
        )
    )
    chats = await ctx.db.scalar(
        select(func.count(ChatMessage.id)).where(
            ChatMessage.session_id == session.id,
            ChatMessage.created_at >= start,
            ChatMessage.created_at < end,
        )
    )
    placed, gmv = await order_queries.live_session_totals_between(ctx, session.id, start, end)
    earlier_likes = await ctx.db.scalar(
        select(func.coalesce(func.sum(RoomMinute.likes), 0)).where(
            RoomMinute.session_id == session.id, RoomMinute.minute < start
        )
    )
    await ctx.db.execute(
        delete(RoomMinute).where(RoomMinute.session_id == session.id, RoomMinute.minute == start)
    )
    row = RoomMinute(
        session_id=session.id,
        minute=start,
        viewers=int(viewers or 0),
        entries=int(entries or 0),
        chats=int(chats or 0),
        # Likes are kept as a running total; the minute gets what arrived since the last one.
        likes=max(0, session.likes - int(earlier_likes or 0)),
        orders=placed,
        gmv_minor=gmv,
    )
    ctx.db.add(row)
    await ctx.db.flush()
    return row


async def minutes_due(ctx: Ctx, session: LiveSession) -> list[datetime]:
    """Return the complete minutes of a session not rolled up yet (oldest first, bounded)."""
    if session.started_at is None:
        return []
    last = await ctx.db.scalar(
        select(func.max(RoomMinute.minute)).where(RoomMinute.session_id == session.id)
    )
    first = minute_of(session.started_at) if last is None else last + MINUTE
    until = minute_of(session.ended_at + MINUTE if session.ended_at else ctx.now())
    due: list[datetime] = []
    moment = first
    while moment < until and len(due) < MAX_MINUTES_PER_RUN:
        due.append(moment)
        moment += MINUTE
    return due


async def sessions_to_roll_up(ctx: Ctx) -> list[str]:
    """Return live sessions, and those ended in the last hour, whose minutes may be due."""
    rows = await ctx.db.scalars(
        select(LiveSession.id).where(
            or_(
                LiveSession.status == SessionStatus.LIVE,
                LiveSession.ended_at >= ctx.now() - timedelta(hours=1),
            )
        )
    )
    return list(rows)


async def minutes_of(ctx: Ctx, session_id: str) -> list[RoomMinute]:
    """Return a session's rolled-up minutes in order."""
    rows = await ctx.db.scalars(
        select(RoomMinute).where(RoomMinute.session_id == session_id).order_by(RoomMinute.minute)
    )
    return list(rows)
