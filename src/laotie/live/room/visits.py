"""Visits: who entered a room from where, and how long they really watched.

Watch time is counted on the server from heartbeats: each heartbeat adds the time since
the previous one, but never more than `MAX_GAP` — a viewer whose page slept, or who left
without saying so, does not keep earning watch time. A client that reports a visit once,
at its end (the simulated world), records it with `do_leave`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Update, bindparam, func, select, update

from laotie.core.context import Ctx
from laotie.core.errors import AppError, not_found
from laotie.core.ids import new_id
from laotie.db.base import table_of
from laotie.db.bulk import IDS_PER_STATEMENT, id_chunks, insert_many
from laotie.live.errors import LiveError
from laotie.live.models import LiveSession, RoomPenalty, Visit
from laotie.live.room.chat import banned_from_room, in_force
from laotie.live.schemas import PRIVATE_SOURCES, EntrySource
from laotie.traffic.follows import anchor_follows_among_sync

HEARTBEAT_EVERY = timedelta(seconds=15)
MAX_GAP = timedelta(seconds=30)


def check_source(text: str | None) -> EntrySource:
    """Validate an entry source against DESIGN.md's list."""
    try:
        return EntrySource(text or "other")
    except ValueError:
        allowed = ", ".join(source.value for source in EntrySource)
        raise AppError.of(LiveError.BAD_SOURCE, f"source must be one of: {allowed}") from None


@dataclass(frozen=True, slots=True)
class Entry:
    """Someone entering a room: who, and from where."""

    session_id: str
    viewer_key: str
    user_id: str | None
    source: EntrySource
    follows_anchor: bool = False
    visit_id: str = ""  # chosen before the entry is recorded, or at recording when empty

    def row(self, now: datetime) -> dict[str, Any]:
        """Return the entry as a new `visits` row."""
        return {
            "id": self.visit_id or new_id("vst"),
            "session_id": self.session_id,
            "viewer_key": self.viewer_key,
            "user_id": self.user_id,
            "source": self.source.value,
            "follows_anchor": self.follows_anchor,
            "private": self.source in PRIVATE_SOURCES or self.follows_anchor,
            "entered_at": now,
            "last_seen_at": now,
            "watch_seconds": 0,
        }


async def do_enter(
    ctx: Ctx,
    session_id: str,
    viewer_key: str,
    user_id: str | None,
    source: EntrySource,
    follows_anchor: bool,
) -> str:
    """Record an entry into a room and return the visit's id; a follow at entry is recorded."""
    if user_id is not None and not follows_anchor:
        follows_anchor = await ctx.db.run_sync(
            lambda session: _follows_anchor_sync(session.connection(), session_id, user_id)
        )
    visit = Visit(**Entry(session_id, viewer_key, user_id, source, follows_anchor).row(ctx.now()))
    ctx.db.add(visit)
    await ctx.db.flush()
    return visit.id


_ANCHOR_OF_SESSION = select(LiveSession.anchor_id).where(LiveSession.id == bindparam("session_id"))


def _follows_anchor_sync(connection: Connection, session_id: str, user_id: str) -> bool:
    anchor_id = connection.scalar(_ANCHOR_OF_SESSION, {"session_id": session_id})
    return anchor_id is not None and bool(
        anchor_follows_among_sync(connection, [anchor_id], [user_id])
    )


def enter_many_sync(
    connection: Connection, now: datetime, entries: Sequence[Entry]
) -> list[str | AppError]:
    """Record many entries at once; answer each with its visit's id or why it was refused.

    An entry is refused when its session does not exist, or the anchor banned the viewer.
    Three reads (the sessions, the bans, the follows) and one insert per chunk of entries.
    """
    answers: list[str | AppError] = []
    for start in range(0, len(entries), IDS_PER_STATEMENT):
        answers += _enter_chunk(connection, now, entries[start : start + IDS_PER_STATEMENT])
    return answers


def _enter_chunk(
    connection: Connection, now: datetime, entries: Sequence[Entry]
) -> list[str | AppError]:
    anchors = dict(
        connection.execute(
            select(LiveSession.id, LiveSession.anchor_id).where(
                LiveSession.id.in_({entry.session_id for entry in entries})
            )
        ).all()
    )
    banned = _bans_among(connection, now, set(anchors.values()), entries)
    # Whether each viewer follows the anchor now, at entry: a follow makes the visit private.
    signed_in = {entry.user_id for entry in entries if entry.user_id is not None}
    fans = anchor_follows_among_sync(connection, set(anchors.values()), signed_in)
    answers: list[str | AppError] = []
    rows = []
    for entry in entries:
        anchor_id = anchors.get(entry.session_id)
        if anchor_id is None:
            answers.append(not_found("live session"))
        elif (anchor_id, entry.user_id) in banned:
            answers.append(banned_from_room())
        else:
            follows = entry.follows_anchor or (anchor_id, entry.user_id) in fans
            rows.append(replace(entry, follows_anchor=follows).row(now))
            answers.append(rows[-1]["id"])
    insert_many(connection, table_of(Visit), rows)
    return answers


def _bans_among(
    connection: Connection, now: datetime, anchor_ids: set[str], entries: Sequence[Entry]
) -> set[tuple[str, str]]:
    """Return the (anchor, user) bans in force that concern these entries' signed-in viewers."""
    user_ids = {entry.user_id for entry in entries if entry.user_id is not None}
    if not user_ids or not anchor_ids:
        return set()
    found = connection.execute(
        select(RoomPenalty.anchor_id, RoomPenalty.user_id).where(
            RoomPenalty.kind == "ban",
            RoomPenalty.anchor_id.in_(anchor_ids),
            RoomPenalty.user_id.in_(user_ids),
            in_force(now),
        )
    )
    return {(anchor_id, user_id) for anchor_id, user_id in found}


@dataclass(frozen=True, slots=True)
class FirstVisit:
    """A viewer's first visit of a period: where it came from and whether it was private."""

    viewer_key: str
    source: str
    private: bool


async def first_visits(
    ctx: Ctx, session_ids: Sequence[str], since: datetime, until: datetime
) -> dict[str, FirstVisit]:
    """Return each viewer's first visit into these sessions in [since, until), by viewer key.

    DESIGN.md: within a period a viewer belongs to the domain of its first visit in it.
    """
    if not session_ids:
        return {}
    rows = await ctx.db.execute(
        select(Visit.viewer_key, Visit.source, Visit.private)
        .where(
            Visit.session_id.in_(list(session_ids)),
            Visit.entered_at >= since,
            Visit.entered_at < until,
        )
        .order_by(Visit.entered_at, Visit.id)
    )
    first: dict[str, FirstVisit] = {}
    for viewer_key, source, private in rows:
        first.setdefault(viewer_key, FirstVisit(viewer_key, source, bool(private)))
    return first


async def watch_of_users(
    ctx: Ctx, session_ids: Sequence[str], user_ids: Sequence[str], since: datetime
) -> list[tuple[str, datetime, int]]:
    """Return (user, entered at, seconds watched) of these users' visits to these sessions."""
    if not session_ids or not user_ids:
        return []
    rows = await ctx.db.execute(
        select(Visit.user_id, Visit.entered_at, Visit.watch_seconds).where(
            Visit.session_id.in_(list(session_ids)),
            Visit.user_id.in_(sorted(set(user_ids))),
            Visit.entered_at >= since,
        )
    )
    return [(user, entered_at, int(seconds)) for user, entered_at, seconds in rows if user]


@dataclass(frozen=True, slots=True)
class VisitFact:
    """A visit as a whole-market measure reads it: when, how long, from where."""

    visit_id: str
    session_id: str
    user_id: str | None
    entered_at: datetime
    watch_seconds: int
    source: str
    private: bool
    viewer_key: str


_VISIT_FACTS = select(
    Visit.id,
    Visit.session_id,
    Visit.user_id,
    Visit.entered_at,
    Visit.watch_seconds,
    Visit.source,
    Visit.private,
    Visit.viewer_key,
)


async def visits_between(
    ctx: Ctx, since: datetime, until: datetime, session_ids: Sequence[str] | None = None
) -> list[VisitFact]:
    """Return the visits that began in [since, until), in order of entry: into these
    sessions, or into any (None)."""
    query = _VISIT_FACTS.where(Visit.entered_at >= since, Visit.entered_at < until)
    if session_ids is None:
        return _visit_facts(await ctx.db.execute(query.order_by(Visit.entered_at, Visit.id)))
    found = []
    for chunk in id_chunks(session_ids):
        found += _visit_facts(await ctx.db.execute(query.where(Visit.session_id.in_(chunk))))
    return sorted(found, key=lambda fact: (fact.entered_at, fact.visit_id))


async def first_visit_at(ctx: Ctx) -> datetime | None:
    """The moment the first visit of all began (None: nobody ever came)."""
    first: datetime | None = await ctx.db.scalar(select(func.min(Visit.entered_at)))
    return first


async def visits_by_id(ctx: Ctx, visit_ids: Sequence[str]) -> dict[str, VisitFact]:
    """Return these visits, by id (those that exist)."""
    found: dict[str, VisitFact] = {}
    for chunk in id_chunks(visit_ids):
        rows = await ctx.db.execute(_VISIT_FACTS.where(Visit.id.in_(chunk)))
        found.update((fact.visit_id, fact) for fact in _visit_facts(rows))
    return found


def _visit_facts(rows: Iterable[Any]) -> list[VisitFact]:
    return [
        VisitFact(vid, session, user, entered, int(watched), source, bool(private), key)
        for vid, session, user, entered, watched, source, private, key in rows
    ]


async def visit_sources(ctx: Ctx, visit_ids: Sequence[str]) -> dict[str, FirstVisit]:
    """Return, by visit id, where each of these visits came from."""
    if not visit_ids:
        return {}
    rows = await ctx.db.execute(
        select(Visit.id, Visit.viewer_key, Visit.source, Visit.private).where(
            Visit.id.in_(sorted(set(visit_ids)))
        )
    )
    return {vid: FirstVisit(key, source, bool(private)) for vid, key, source, private in rows}


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


async def do_leave(ctx: Ctx, visit_id: str, watch_seconds: int) -> int:
    """Record a visit's whole watch time in one event at its end; return the time kept.

    For clients that report a visit once, when it ends, rather than by heartbeats (the
    simulated world): the time is bounded by the time since entry, and never lowers what
    was counted already (heartbeats, or the time to a purchase).
    """
    if watch_seconds < 0:
        raise ValueError("watch time cannot be negative")
    row = (await ctx.db.execute(_VISIT_TIMES, {"visit_id": visit_id})).first()
    if row is None:
        raise not_found("visit")
    entered_at, watched, last_seen_at = row
    now = ctx.now()
    elapsed = int(max(now - entered_at, timedelta(0)).total_seconds())
    kept = max(watched, min(watch_seconds, elapsed))
    seen = max(last_seen_at, now)
    await ctx.db.execute(_SET_WATCHED, {"visit_id": visit_id, "kept": kept, "seen": seen})
    return kept


# Built once, as the statements of every visit's end.
_VISIT_TIMES = (
    select(Visit.entered_at, Visit.watch_seconds, Visit.last_seen_at)
    .where(Visit.id == bindparam("visit_id"))
    .with_for_update()
)
_SET_WATCHED = (
    update(Visit)
    .where(Visit.id == bindparam("visit_id"))
    .values(watch_seconds=bindparam("kept"), last_seen_at=bindparam("seen"))
    .execution_options(synchronize_session=False)
)


def heartbeats_sync(
    connection: Connection, now: datetime, visit_ids: Sequence[str]
) -> dict[str, int]:
    """`do_heartbeat` for many visits at once: one read, one update; return the watch times.

    A visit named twice counts once; a visit not found is left out of the answer.
    """
    totals: dict[str, int] = {}
    for chunk in id_chunks(visit_ids):
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


def visit_not_yours() -> AppError:
    """Return the refusal of an order naming someone else's visit, or one of another room."""
    return AppError(LiveError.VISIT_NOT_YOURS, "that visit is not yours in this room", 403)


def owns_visit(
    visit_session_id: str, visit_user_id: str | None, session_id: str, user_id: str
) -> bool:
    """Tell whether a visit is the buyer's own, in the room the order is placed in."""
    return visit_session_id == session_id and visit_user_id == user_id


async def access_own_visit(ctx: Ctx, visit_id: str, session_id: str, user_id: str) -> Visit:
    """Return the buyer's own visit of this session; refuse anyone else's, or an unknown one."""
    visit = await ctx.db.scalar(select(Visit).where(Visit.id == visit_id))
    if visit is None or not owns_visit(visit.session_id, visit.user_id, session_id, user_id):
        raise visit_not_yours()
    return visit


async def do_count_until_purchase(ctx: Ctx, visit_id: str) -> None:
    """Make a visit that ends in an order count at least its time to purchase (DESIGN's rule)."""
    visit = await ctx.db.scalar(select(Visit).where(Visit.id == visit_id))
    if visit is not None:
        await do_count_visit_until_purchase(ctx, visit)


async def do_count_visit_until_purchase(ctx: Ctx, visit: Visit) -> None:
    """`do_count_until_purchase` of a visit already read."""
    # At least a second: an order in the second of entry still has watch time, so that
    # the GMV identity's conversion per unit of watch time is defined.
    at_least = max(int((ctx.now() - visit.entered_at).total_seconds()), 1)
    if visit.watch_seconds < at_least:
        visit.watch_seconds = at_least
        await ctx.db.flush()


@dataclass(frozen=True, slots=True)
class VisitSpan:
    """A visit as a session's report reads it: who, from where, from when to when, how long."""

    visit_id: str
    viewer_key: str
    source: str
    private: bool
    entered_at: datetime
    last_seen_at: datetime  # moved by heartbeats and by the visit's end
    watch_seconds: int


_VISIT_SPANS = (
    select(
        Visit.id,
        Visit.viewer_key,
        Visit.source,
        Visit.private,
        Visit.entered_at,
        Visit.last_seen_at,
        Visit.watch_seconds,
    )
    .where(Visit.session_id == bindparam("session_id"))
    .order_by(Visit.entered_at, Visit.id)
)


async def visit_spans(ctx: Ctx, session_id: str) -> list[VisitSpan]:
    """Return every visit of a session, in order of entry."""
    rows = await ctx.db.execute(_VISIT_SPANS, {"session_id": session_id})
    return [
        VisitSpan(vid, key, source, bool(private), entered, seen, int(watched))
        for vid, key, source, private, entered, seen, watched in rows
    ]
