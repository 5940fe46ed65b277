"""Chat and moderation: limits, blocked words, mutes and bans; output is data, never markup."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, or_, select

from laotie.accounts.permissions import Actor
from laotie.core.context import Ctx
from laotie.core.errors import AppError, not_found
from laotie.core.ids import new_sortable_id
from laotie.live.errors import LiveError
from laotie.live.models import ChatMessage, LiveSession, RoomPenalty
from laotie.live.schemas import SessionStatus
from laotie.realtime.events import RoomEvent


def check_text(ctx: Ctx, text: str) -> str:
    """Return the chat line cleaned of control characters, or refuse it."""
    cleaned = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C").strip()
    if not cleaned:
        raise AppError(LiveError.CHAT_EMPTY, "say something", 422)
    if len(cleaned) > ctx.settings.chat_max_length:
        raise AppError(LiveError.CHAT_TOO_LONG, "that message is too long", 422)
    folded = cleaned.casefold()
    if any(word.casefold() in folded for word in ctx.settings.chat_blocked_words):
        raise AppError(LiveError.CHAT_BLOCKED_WORD, "keep the conversation on the platform", 422)
    return cleaned


async def check_may_speak(ctx: Ctx, session: LiveSession, user_id: str) -> None:
    """Refuse a user the anchor muted in this session or banned from its rooms."""
    now = ctx.now()
    penalty = await ctx.db.scalar(
        select(RoomPenalty.kind)
        .where(
            RoomPenalty.anchor_id == session.anchor_id,
            RoomPenalty.user_id == user_id,
            or_(RoomPenalty.until.is_(None), RoomPenalty.until > now),
            or_(RoomPenalty.kind == "ban", RoomPenalty.session_id == session.id),
        )
        .limit(1)
    )
    if penalty == "ban":
        raise AppError(LiveError.BANNED, "the anchor has banned you from this room", 403)
    if penalty == "mute":
        raise AppError(LiveError.MUTED, "the anchor has muted you for a while", 403)


async def is_banned(ctx: Ctx, anchor_id: str, user_id: str) -> bool:
    """Tell whether the user may not enter the anchor's rooms."""
    found = await ctx.db.scalar(
        select(RoomPenalty.id)
        .where(
            RoomPenalty.anchor_id == anchor_id,
            RoomPenalty.user_id == user_id,
            RoomPenalty.kind == "ban",
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

    def row(self) -> dict[str, Any]:
        """Return the line as a `chat_messages` row."""
        return {
            "id": self.id,
            "session_id": self.session_id,
            "user_id": self.user_id,
            "author": self.author,
            "text": self.text,
            "deleted": False,
            "created_at": self.created_at,
        }

    def event(self) -> RoomEvent:
        """Return the room event that shows the line."""
        return RoomEvent(
            "chat",
            {"id": self.id, "user_id": self.user_id, "author": self.author, "text": self.text},
        )


async def check_line(ctx: Ctx, session: LiveSession, speaker: Actor, text: str) -> ChatLine:
    """Return the speaker's line as the room will show it, or refuse it."""
    if session.status != SessionStatus.LIVE:
        raise AppError(LiveError.NOT_LIVE, "the room is not live", 409)
    cleaned = check_text(ctx, text)
    await check_may_speak(ctx, session, speaker.id)
    return ChatLine(
        new_sortable_id("msg"), session.id, speaker.id, speaker.name, cleaned, ctx.now()
    )


async def save_lines(ctx: Ctx, lines: Sequence[ChatLine]) -> None:
    """Save chat lines in one statement."""
    if lines:
        await ctx.db.execute(insert(ChatMessage), [line.row() for line in lines])


async def do_say(ctx: Ctx, session: LiveSession, speaker: Actor, text: str) -> RoomEvent:
    """Save one chat line now and return the room event that shows it."""
    line = await check_line(ctx, session, speaker, text)
    await save_lines(ctx, [line])
    return line.event()


async def do_delete_message(ctx: Ctx, session: LiveSession, message_id: str) -> RoomEvent:
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
    return RoomEvent("chat_delete", {"id": message_id}, priority=True)


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
