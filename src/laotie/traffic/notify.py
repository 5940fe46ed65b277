"""Go-live notifications: the anchor's followers and the session's RSVPs each get one inbox
entry, and a push when online, written in batches apart from the anchor's request.

The work is a row (`notification_fanouts`): its cursor is the last recipient done, in
user id order, and each batch moves it in the transaction that writes the batch's inbox
rows, so a process killed mid fan-out resumes at the next batch. An inbox row's key is
(user, session) and every batch inserts with ON CONFLICT DO NOTHING, so a batch run
twice (two runners, a retry) writes nobody twice; only the rows a batch did insert are
pushed, so nobody is pushed twice either. A runner holds the fan-out for `CLAIM_S`,
renewed with each batch; the sweep hands a lapsed one to a new runner, and kicks the
sessions that went live with no fan-out row (a crash before the task ran).

Recipients are read by keyset: a batch covers the followers and RSVPs in the user id
range (cursor, upper], upper being the `size`-th follower or RSVP after the cursor, and
is one INSERT ... SELECT (muted users left out) returning the users it inserted. Users
online when the fan-out starts are written first, so their pushes do not wait behind
every other follower's row.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache, partial
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Insert,
    and_,
    bindparam,
    case,
    exists,
    func,
    literal,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.orm import InstrumentedAttribute
from starlette.datastructures import State

from laotie.accounts.service import access_user
from laotie.core.context import Ctx, unit_of_work_for
from laotie.core.errors import AppError
from laotie.db.bulk import dialect_insert
from laotie.db.engine import run_batch
from laotie.live.room.sources import source_tag
from laotie.live.schemas import EntrySource, SessionStatus
from laotie.live.session import service as sessions
from laotie.traffic.models import (
    FanMember,
    Follow,
    InboxEntry,
    NotificationFanout,
    NotificationMute,
    Rsvp,
)
from laotie.traffic.schemas import Target

log = logging.getLogger(__name__)

NOTIFY_GO_LIVE = sessions.GO_LIVE_TASK
RUNNING, DONE = "running", "done"
# A runner holds a fan-out this long after its last batch; then the sweep may hand it on.
CLAIM_S = 10.0
# The sweep kicks sessions that went live this long ago or more with no fan-out row...
KICK_AFTER = timedelta(seconds=10)
# ...up to this long ago: a session that went live before notifications existed is left.
LOOK_BACK = timedelta(hours=1)
ONLINE_CHUNK = 1_000


@dataclass(frozen=True, slots=True)
class Notice:
    """What a push says of a session gone live (its link is added per reason)."""

    session_id: str
    anchor_id: str
    anchor_name: str
    title: str


@dataclass(slots=True)
class Batch:
    """What one batch wrote: the users it inserted, by reason, and where it stopped."""

    users: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    cursor: str = ""
    done: bool = False


class LostClaimError(Exception):
    """Another runner moved the fan-out on: this one stops (its batch rolled back)."""


def link_of(secret_key: str, session_id: str, reason: str) -> str:
    """Return an inbox entry's link: the room, its source signed for that room."""
    return f"/live/{session_id}?src={source_tag(secret_key, session_id, EntrySource(reason))}"


async def notify_go_live(state: State, session_id: str) -> int:
    """Notify a live session's followers and RSVPs; return how many inbox rows this run wrote."""
    notice = await _claim(state, session_id)
    if notice is None:
        return 0
    size = state.settings.notify_batch_size
    written = 0
    # Those watching first: their pushes must not wait behind everyone else's rows.
    online = await state.user_push.online()
    for start in range(0, len(online), ONLINE_CHUNK):
        chunk = online[start : start + ONLINE_CHUNK]
        work = partial(_write_users, notice, chunk, state.clock.now())
        batch = await run_batch(state.database, work)
        written += await _push(state, notice, batch)
    cursor = await _cursor(state, session_id)
    while cursor is not None:
        work = partial(_write_next, notice, cursor, size, state.clock.now())
        try:
            batch = await run_batch(state.database, work)
        except LostClaimError:
            log.info("fan-out taken over", extra={"session_id": session_id})
            return written
        written += await _push(state, notice, batch)
        cursor = None if batch.done else batch.cursor
    return written


async def resume_notifications(state: State) -> int:
    """Kick the fan-outs that no runner holds, and those of sessions that went live without one."""
    async with unit_of_work_for(state) as ctx:
        now = ctx.now()
        started = await sessions.live_sessions_started_between(
            ctx, now - LOOK_BACK, now - KICK_AFTER
        )
        known = set(
            await ctx.db.scalars(
                select(NotificationFanout.session_id).where(
                    NotificationFanout.session_id.in_(started)
                )
            )
        )
        stalled = await ctx.db.scalars(
            select(NotificationFanout.session_id).where(
                NotificationFanout.state == RUNNING, NotificationFanout.claimed_until <= now
            )
        )
        due = [*(s for s in started if s not in known), *stalled]
    for session_id in due:
        await state.tasks.kick_apart(NOTIFY_GO_LIVE, session_id)
    return len(due)


async def _claim(state: State, session_id: str) -> Notice | None:
    """Start the session's fan-out or take over a lapsed one; None when nothing is to do."""
    async with unit_of_work_for(state) as ctx:
        now = ctx.now()
        try:
            session = await sessions.load_session(ctx, session_id)
        except AppError:
            return None
        live = session.status == SessionStatus.LIVE
        row = {"sid": session.id, "anchor": session.anchor_id, "kind": RUNNING if live else DONE}
        await ctx.db.execute(_new_fanout(ctx.db.get_bind().dialect.name), {**row, "now": now})
        if not live:  # the show ended: "is live" would be false
            await ctx.db.execute(_END_FANOUT, {"sid": session.id})
            return None
        claim = {"sid": session.id, "now": now, "until": now + timedelta(seconds=CLAIM_S)}
        if not await _anyone_to_notify(ctx, session.anchor_id, session.id):
            # Done here as its one empty batch would leave it, without the trip to a batch.
            await ctx.db.execute(_CLAIM_DONE, claim)
            return None
        claimed = await ctx.db.execute(_CLAIM, claim)
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            return None  # done already, or another runner holds it
        anchor = await access_user(ctx, session.anchor_id)
        return Notice(session.id, session.anchor_id, anchor.name, session.title)


@cache
def _new_fanout(dialect: str) -> Any:
    """The insert of a session's fan-out row unless it has one, built once a dialect."""
    fanouts = dialect_insert(dialect, NotificationFanout)
    return fanouts.values(
        session_id=bindparam("sid"),
        anchor_id=bindparam("anchor"),
        state=bindparam("kind"),
        cursor="",
        written=0,
        claimed_until=bindparam("now"),
        created_at=bindparam("now"),
    ).on_conflict_do_nothing()


# A claim's statements, built once: every show's start makes them.
_HELD = (
    NotificationFanout.session_id == bindparam("sid"),
    NotificationFanout.state == RUNNING,
)
_END_FANOUT = update(NotificationFanout).where(*_HELD).values(state=DONE)
_LAPSED = NotificationFanout.claimed_until <= bindparam("now")
_CLAIM_DONE = (
    update(NotificationFanout)
    .where(*_HELD, _LAPSED)
    .values(state=DONE, finished_at=bindparam("now"), claimed_until=bindparam("until"))
)
_CLAIM = update(NotificationFanout).where(*_HELD, _LAPSED).values(claimed_until=bindparam("until"))


async def _anyone_to_notify(ctx: Ctx, anchor_id: str, session_id: str) -> bool:
    """Tell whether the anchor has a follower or the session an RSVP, in one read."""
    return bool(await ctx.db.scalar(_ANYONE, {"anchor_id": anchor_id, "session_id": session_id}))


# Built once, as a read of every show's start.
_ANYONE = select(
    or_(
        exists().where(
            Follow.target_kind == Target.ANCHOR.value,
            Follow.target_id == bindparam("anchor_id"),
        ),
        exists().where(Rsvp.session_id == bindparam("session_id")),
    )
)


async def _cursor(state: State, session_id: str) -> str | None:
    async with unit_of_work_for(state) as ctx:
        row = await ctx.db.get(NotificationFanout, session_id)
        return row.cursor if row is not None and row.state == RUNNING else None


async def _push(state: State, notice: Notice, batch: Batch) -> int:
    """Push each user the batch inserted its entry; return how many rows the batch wrote."""
    secret = state.settings.secret_key
    created_at = state.clock.now().isoformat()
    for reason, user_ids in batch.users.items():
        data = {
            "session_id": notice.session_id,
            "anchor_id": notice.anchor_id,
            "anchor_name": notice.anchor_name,
            "title": notice.title,
            "reason": reason,
            "url": link_of(secret, notice.session_id, reason),
            "created_at": created_at,
        }
        text = json.dumps({"type": "notification", "data": data}, ensure_ascii=False)
        try:
            await state.user_push.push(user_ids, text)
        except Exception:  # a lost push is read from the inbox instead
            log.warning("pushes not sent", exc_info=True)
    return sum(len(users) for users in batch.users.values())


# ---------------------------------------------------------------- the batches (synchronous)


def _inbox_rows(
    dialect: str,
    notice: Notice,
    now: datetime,
    among: Callable[[InstrumentedAttribute[str]], ColumnElement[bool]],
) -> Insert:
    """Return the INSERT of the inbox rows of the recipients `among` selects, muted ones left out.

    A user who both follows and RSVPed is one row, for the RSVP; a follower in the anchor's
    fan group gets the fan group's notice (`fan_group`), any other follower the live one.
    """
    followers = select(Follow.user_id.label("user_id"), literal(0).label("rsvp")).where(
        Follow.target_kind == Target.ANCHOR.value,
        Follow.target_id == notice.anchor_id,
        among(Follow.user_id),
    )
    rsvps = select(Rsvp.user_id.label("user_id"), literal(1).label("rsvp")).where(
        Rsvp.session_id == notice.session_id, among(Rsvp.user_id)
    )
    both = union_all(followers, rsvps).subquery("both_")
    people = (
        select(both.c.user_id, func.max(both.c.rsvp).label("rsvp"))
        .group_by(both.c.user_id)
        .subquery("people")
    )
    muted = exists().where(
        NotificationMute.user_id == people.c.user_id,
        NotificationMute.anchor_id == notice.anchor_id,
    )
    fan = exists().where(
        FanMember.anchor_id == notice.anchor_id, FanMember.user_id == people.c.user_id
    )
    reason = case(
        (people.c.rsvp == 1, literal(EntrySource.PREVIEW_RSVP.value)),
        (fan, literal(EntrySource.FAN_GROUP.value)),
        else_=literal(EntrySource.LIVE_NOTIFICATION.value),
    )
    # The WHERE also settles SQLite's reading of INSERT ... SELECT ... ON CONFLICT.
    chosen = select(
        people.c.user_id,
        literal(notice.session_id),
        literal(notice.anchor_id),
        reason,
        literal(now, InboxEntry.created_at.type),
    ).where(~muted)
    columns = ["user_id", "session_id", "anchor_id", "reason", "created_at"]
    statement: Insert = (
        dialect_insert(dialect, InboxEntry)
        .from_select(columns, chosen)
        .on_conflict_do_nothing()
        .returning(InboxEntry.user_id, InboxEntry.reason)
    )
    return statement


def _collect(connection: Connection, statement: Insert, batch: Batch) -> int:
    count = 0
    for user_id, reason in connection.execute(statement):
        batch.users[reason].append(user_id)
        count += 1
    return count


def _write_users(notice: Notice, user_ids: Sequence[str], now: datetime, c: Connection) -> Batch:
    """Write the entries of these users, if they are recipients (the online ones)."""
    batch = Batch()
    chosen = list(user_ids)

    def among(column: InstrumentedAttribute[str]) -> ColumnElement[bool]:
        return column.in_(chosen)

    count = _collect(c, _inbox_rows(c.dialect.name, notice, now, among), batch)
    c.execute(
        update(NotificationFanout)
        .where(NotificationFanout.session_id == notice.session_id)
        .values(
            written=NotificationFanout.written + count,
            claimed_until=now + timedelta(seconds=CLAIM_S),
        )
    )
    return batch


def _write_next(notice: Notice, cursor: str, size: int, now: datetime, c: Connection) -> Batch:
    """Write the next batch of recipients after the cursor and move the cursor past them."""
    upper = _upper(c, notice, cursor, size)

    def among(column: InstrumentedAttribute[str]) -> ColumnElement[bool]:
        return column > cursor if upper is None else and_(column > cursor, column <= upper)

    batch = Batch(cursor=upper or cursor, done=upper is None)
    count = _collect(c, _inbox_rows(c.dialect.name, notice, now, among), batch)
    values: dict[str, Any] = {
        "cursor": batch.cursor,
        "written": NotificationFanout.written + count,
        "claimed_until": now + timedelta(seconds=CLAIM_S),
    }
    if batch.done:
        values |= {"state": DONE, "finished_at": now}
    moved = c.execute(
        update(NotificationFanout)
        .where(
            NotificationFanout.session_id == notice.session_id,
            NotificationFanout.state == RUNNING,
            NotificationFanout.cursor == cursor,
        )
        .values(**values)
    )
    if moved.rowcount != 1:
        raise LostClaimError(notice.session_id)  # rolls the batch back
    return batch


def _upper(c: Connection, notice: Notice, cursor: str, size: int) -> str | None:
    """Return the batch's last user id: the `size`-th follower or RSVP after the cursor,
    whichever comes first; None when fewer than `size` of each are left (the last batch)."""
    follower = c.scalar(
        select(Follow.user_id)
        .where(
            Follow.target_kind == Target.ANCHOR.value,
            Follow.target_id == notice.anchor_id,
            Follow.user_id > cursor,
        )
        .order_by(Follow.user_id)
        .offset(size - 1)
        .limit(1)
    )
    rsvp = c.scalar(
        select(Rsvp.user_id)
        .where(Rsvp.session_id == notice.session_id, Rsvp.user_id > cursor)
        .order_by(Rsvp.user_id)
        .offset(size - 1)
        .limit(1)
    )
    found = [user_id for user_id in (follower, rsvp) if user_id is not None]
    return min(found) if found else None
