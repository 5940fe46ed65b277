"""Chat and moderation: limits, blocked words, mutes and bans; output is data, never markup."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, insert, or_, select, update

from laotie.accounts.permissions import Actor
from laotie.core.context import Ctx
from laotie.core.errors import AppError, not_found
from laotie.core.ids import new_sortable_id
from laotie.live.errors import LiveError
from laotie.live.events import RoomEventType, emit
from laotie.live.models import ChatMessage, LiveSession, RoomPenalty
from laotie.live.room.blocked_words import has_blocked_word
from laotie.live.schemas import SessionStatus
from laotie.realtime.events import RoomEvent
from laotie.settings import Settings
from laotie.traffic import levels as fan_levels


def check_text(settings: Settings, text: str) -> str:
    """Return the chat line cleaned of control characters, or refuse it."""
    cleaned = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C").strip()
    if not cleaned:
        raise AppError.of(LiveError.CHAT_EMPTY, "say something")
    if len(cleaned) > settings.chat_max_length:
        raise AppError.of(LiveError.CHAT_TOO_LONG, "that message is too long")
    if has_blocked_word(cleaned, settings.chat_blocked_words):
        raise AppError.of(LiveError.CHAT_BLOCKED_WORD, "keep the conversation on the platform")
    return cleaned


def in_force(now: datetime) -> ColumnElement[bool]:
    """Select the penalties that still hold at `now`: a timed one lifts at its `until`."""
    return or_(RoomPenalty.until.is_(None), RoomPenalty.until > now)


def banned_from_room() -> AppError:
    """Refuse a viewer the anchor has banned."""
    return AppError.of(LiveError.BANNED, "the anchor has banned you from this room")


def _muted() -> AppError:
    return AppError.of(LiveError.MUTED, "the anchor has muted you for a while")


def _not_live() -> AppError:
    return AppError.of(LiveError.NOT_LIVE, "the room is not live")


async def check_may_speak(ctx: Ctx, session: LiveSession, user_id: str) -> None:
    """Refuse a user the anchor muted in this session or banned from its rooms."""
    now = ctx.now()
    penalty = await ctx.db.scalar(
        select(RoomPenalty.kind)
        .where(
            RoomPenalty.anchor_id == session.anchor_id,
            RoomPenalty.user_id == user_id,
            in_force(now),
            or_(RoomPenalty.kind == "ban", RoomPenalty.session_id == session.id),
        )
        .limit(1)
    )
    if penalty == "ban":
        raise banned_from_room()
    if penalty == "mute":
        raise _muted()


async def check_batch(
    ctx: Ctx, lines: Sequence[ChatLine]
) -> tuple[dict[str, AppError], list[ChatLine]]:
    """Return why lines may not be said now (room not live, speaker muted or banned), by id,
    and the lines that may, each with its speaker's fan badge.

    Three reads for the whole batch: its rooms, the penalties and the fan levels of its
    speakers.
    """
    rooms = {
        session.id: session
        for session in await ctx.db.scalars(
            select(LiveSession).where(LiveSession.id.in_({line.session_id for line in lines}))
        )
    }
    penalties = await ctx.db.execute(
        select(
            RoomPenalty.anchor_id, RoomPenalty.user_id, RoomPenalty.kind, RoomPenalty.session_id
        ).where(
            RoomPenalty.user_id.in_({line.user_id for line in lines}),
            RoomPenalty.anchor_id.in_({session.anchor_id for session in rooms.values()}),
            in_force(ctx.now()),
        )
    )
    banned, muted = set(), set()
    for anchor_id, user_id, kind, session_id in penalties:
        if kind == "ban":
            banned.add((anchor_id, user_id))
        else:
            muted.add((session_id, user_id))
    refusals: dict[str, AppError] = {}
    for line in lines:
        room = rooms.get(line.session_id)
        if room is None or room.status != SessionStatus.LIVE:
            refusals[line.id] = _not_live()
        elif (room.anchor_id, line.user_id) in banned:
            refusals[line.id] = banned_from_room()
        elif (line.session_id, line.user_id) in muted:
            refusals[line.id] = _muted()
    said = [line for line in lines if line.id not in refusals]
    speakers = [(rooms[line.session_id].anchor_id, line.user_id) for line in said]
    levels = await fan_levels.levels_among(ctx, speakers)
    return refusals, [
        replace(line, fan_level=levels.get(pair)) for line, pair in zip(said, speakers, strict=True)
    ]


async def is_banned(ctx: Ctx, anchor_id: str, user_id: str) -> bool:
    """Tell whether the user may not enter the anchor's rooms now."""
    found = await ctx.db.scalar(
        select(RoomPenalty.id)
        .where(
            RoomPenalty.anchor_id == anchor_id,
            RoomPenalty.user_id == user_id,
            RoomPenalty.kind == "ban",
            in_force(ctx.now()),
        )
        .limit(1)
    )
    return found is not None


@dataclass(frozen=True, slots=True)
class ChatLine:
    """A chat line that passed the rules; its id is made before it is saved."""

    id: str
    session_id: str
    user_id: str
    author: str
    text: str
    created_at: datetime
    fan_level: int | None = None  # the speaker's badge in the anchor's fan group

    def row(self) -> dict[str, Any]:
        """Return the line as a `chat_messages` row."""
        return {
            "id": self.id,
            "session_id": self.session_id,
            "user_id": self.user_id,
            "author": self.author,
            "text": self.text,
            "fan_level": self.fan_level,
            "deleted": False,
            "created_at": self.created_at,
        }

    def event(self) -> RoomEvent:
        """Return the room event that shows the line."""
        return RoomEvent(
            RoomEventType.CHAT,
            {
                "id": self.id,
                "user_id": self.user_id,
                "author": self.author,
                "text": self.text,
                "fan_level": self.fan_level,
            },
        )


def new_line(
    settings: Settings, session_id: str, speaker: Actor, text: str, now: datetime
) -> ChatLine:
    """Return the speaker's line as the room will show it, or refuse its text."""
    cleaned = check_text(settings, text)
    return ChatLine(new_sortable_id("msg"), session_id, speaker.id, speaker.name, cleaned, now)


async def check_line(ctx: Ctx, session: LiveSession, speaker: Actor, text: str) -> ChatLine:
    """Return the speaker's line as the room will show it, or refuse it."""
    if session.status != SessionStatus.LIVE:
        raise _not_live()
    line = new_line(ctx.settings, session.id, speaker, text, ctx.now())
    await check_may_speak(ctx, session, speaker.id)
    levels = await fan_levels.levels_among(ctx, [(session.anchor_id, speaker.id)])
    return replace(line, fan_level=levels.get((session.anchor_id, speaker.id)))


async def save_lines(ctx: Ctx, lines: Sequence[ChatLine]) -> None:
    """Save chat lines in one statement."""
    if lines:
        await ctx.db.execute(insert(ChatMessage), [line.row() for line in lines])


async def do_say(ctx: Ctx, session: LiveSession, speaker: Actor, text: str) -> RoomEvent:
    """Save one chat line now; the room sees it once the unit of work commits."""
    line = await check_line(ctx, session, speaker, text)
    await save_lines(ctx, [line])
    event = line.event()
    emit(ctx, session.id, [event])
    return event


async def do_delete_message(ctx: Ctx, session: LiveSession, message_id: str) -> None:
    """Hide a chat line from the room (it stays for the session's review)."""
    message = await ctx.db.scalar(
        select(ChatMessage).where(
            ChatMessage.id == message_id, ChatMessage.session_id == session.id
        )
    )
    if message is None:
        raise not_found("message")
    message.deleted = True
    await ctx.db.flush()
    emit(ctx, session.id, [RoomEvent(RoomEventType.CHAT_DELETE, {"id": message_id}, priority=True)])


async def do_penalise(
    ctx: Ctx, session: LiveSession, user_id: str, kind: str, minutes: int | None
) -> None:
    """Mute a user in this session for some minutes, or ban them from the anchor's rooms."""
    until = ctx.now() + timedelta(minutes=minutes) if minutes else None
    ctx.db.add(
        RoomPenalty(
            anchor_id=session.anchor_id,
            user_id=user_id,
            kind=kind,
            session_id=session.id if kind == "mute" else None,
            until=until,
            created_at=ctx.now(),
        )
    )
    await ctx.db.flush()


async def do_lift_ban(ctx: Ctx, session: LiveSession, user_id: str) -> int:
    """Lift the anchor's bans of a user now; the row stays, ended, for the record."""
    now = ctx.now()
    lifted = await ctx.db.execute(
        update(RoomPenalty)
        .where(
            RoomPenalty.anchor_id == session.anchor_id,
            RoomPenalty.user_id == user_id,
            RoomPenalty.kind == "ban",
            in_force(now),
        )
        .values(until=now)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(lifted, "rowcount", 0) or 0)
