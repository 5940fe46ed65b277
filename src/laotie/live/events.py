"""The live feature's room vocabulary: the realtime room of a session, and emitting to it."""

from __future__ import annotations

from collections.abc import Sequence

from laotie.core.context import Ctx
from laotie.realtime.events import RoomEvent


def room_name(session_id: str) -> str:
    """Return the realtime room of a live session."""
    return f"live:{session_id}"


def emit(ctx: Ctx, session_id: str, events: Sequence[RoomEvent]) -> None:
    """Queue a session's room events; they go out only once the unit of work commits."""
    ctx.broadcast_on_commit(room_name(session_id), events)
