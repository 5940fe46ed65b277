"""Previews and the inbox: RSVPs to coming shows, mutes of anchors, and the notifications
a user received (written by `traffic.notify` when a show goes live)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select, update

from laotie.accounts.permissions import Actor
from laotie.accounts.service import names_of
from laotie.core.context import Ctx
from laotie.core.errors import AppError
from laotie.db.bulk import dialect_insert
from laotie.live.errors import LiveError
from laotie.live.schemas import SessionStatus
from laotie.live.session import service as sessions
from laotie.traffic.follows import check_target
from laotie.traffic.models import InboxEntry, NotificationMute, Rsvp
from laotie.traffic.notify import link_of
from laotie.traffic.schemas import InboxEntryOut, InboxOut, MuteOut, RsvpOut, Target

INBOX_SIZE = 50


async def do_rsvp(ctx: Ctx, actor: Actor, session_id: str) -> RsvpOut:
    """Ask to be told when a scheduled session goes live; asking again changes nothing."""
    session = await sessions.load_session(ctx, session_id)
    if session.status != SessionStatus.SCHEDULED:
        raise AppError.of(LiveError.INVALID_STATE, "only a coming show takes RSVPs")
    row = {"session_id": session.id, "user_id": actor.id, "created_at": ctx.now()}
    # No savepoint needed: a racing twin inserts nothing rather than failing.
    await ctx.db.execute(_insert_or_nothing(ctx, Rsvp).values(row).on_conflict_do_nothing())
    return await rsvp_state(ctx, actor, session.id)


async def do_cancel_rsvp(ctx: Ctx, actor: Actor, session_id: str) -> RsvpOut:
    """Take an RSVP back; taking back what one never gave changes nothing."""
    session = await sessions.load_session(ctx, session_id)
    await ctx.db.execute(
        delete(Rsvp).where(Rsvp.session_id == session.id, Rsvp.user_id == actor.id)
    )
    return await rsvp_state(ctx, actor, session.id)


async def rsvp_state(ctx: Ctx, actor: Actor | None, session_id: str) -> RsvpOut:
    """Whether the actor (if any) RSVPed to a session, and how many did."""
    count = await ctx.db.scalar(select(func.count()).where(Rsvp.session_id == session_id))
    rsvped = actor is not None and await ctx.db.get(Rsvp, (session_id, actor.id)) is not None
    return RsvpOut(session_id=session_id, rsvped=rsvped, rsvps=int(count or 0))


async def do_mute(ctx: Ctx, actor: Actor, anchor_id: str) -> MuteOut:
    """Hear nothing more of an anchor's shows; muting again changes nothing."""
    await check_target(ctx, Target.ANCHOR, anchor_id)
    row = {"user_id": actor.id, "anchor_id": anchor_id, "created_at": ctx.now()}
    await ctx.db.execute(
        _insert_or_nothing(ctx, NotificationMute).values(row).on_conflict_do_nothing()
    )
    return MuteOut(anchor_id=anchor_id, muted=True)


async def do_unmute(ctx: Ctx, actor: Actor, anchor_id: str) -> MuteOut:
    """Hear an anchor's shows again."""
    await check_target(ctx, Target.ANCHOR, anchor_id)
    await ctx.db.execute(
        delete(NotificationMute).where(
            NotificationMute.user_id == actor.id, NotificationMute.anchor_id == anchor_id
        )
    )
    return MuteOut(anchor_id=anchor_id, muted=False)


async def mute_state(ctx: Ctx, actor: Actor | None, anchor_id: str) -> MuteOut:
    """Whether the actor muted an anchor."""
    muted = actor is not None and (
        await ctx.db.get(NotificationMute, (actor.id, anchor_id)) is not None
    )
    return MuteOut(anchor_id=anchor_id, muted=muted)


async def unread_count(ctx: Ctx, user_id: str) -> int:
    """Return how many of a user's notifications are unread."""
    count = await ctx.db.scalar(
        select(func.count()).where(InboxEntry.user_id == user_id, InboxEntry.read_at.is_(None))
    )
    return int(count or 0)


async def inbox_of(ctx: Ctx, actor: Actor, limit: int = INBOX_SIZE) -> InboxOut:
    """The actor's newest notifications, each with its signed link, and the unread count."""
    rows = (
        await ctx.db.scalars(
            select(InboxEntry)
            .where(InboxEntry.user_id == actor.id)
            .order_by(InboxEntry.created_at.desc(), InboxEntry.session_id)
            .limit(limit)
        )
    ).all()
    found = await sessions.sessions_by_id(ctx, [row.session_id for row in rows])
    names = await names_of(ctx, [row.anchor_id for row in rows])
    secret = ctx.settings.secret_key
    entries = [
        InboxEntryOut(
            session_id=row.session_id,
            anchor_id=row.anchor_id,
            anchor_name=names.get(row.anchor_id, ""),
            title=found[row.session_id].title if row.session_id in found else "",
            reason=row.reason,
            url=link_of(secret, row.session_id, row.reason),
            created_at=row.created_at,
            read_at=row.read_at,
        )
        for row in rows
    ]
    return InboxOut(unread=await unread_count(ctx, actor.id), entries=entries)


async def do_mark_read(ctx: Ctx, actor: Actor, session_id: str | None) -> InboxOut:
    """Mark one notification read (by its session), or all of them with None; marking
    what is read already, or was never there, changes nothing."""
    unread = [InboxEntry.user_id == actor.id, InboxEntry.read_at.is_(None)]
    if session_id is not None:
        unread.append(InboxEntry.session_id == session_id)
    await ctx.db.execute(update(InboxEntry).where(*unread).values(read_at=ctx.now()))
    return await inbox_of(ctx, actor)


def _insert_or_nothing(ctx: Ctx, table: type[Rsvp] | type[NotificationMute]) -> Any:
    """Return the dialect's INSERT, which knows ON CONFLICT DO NOTHING."""
    return dialect_insert(ctx.db.get_bind().dialect.name, table)
