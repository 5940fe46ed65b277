"""The vocabulary of a live room's log: its room name and every room event type.

Whoever builds a room event (`RoomEvent(RoomEventType.SALE, ...)`) and the reducer that
applies it (`live.room.state.apply`) use these names, so a type is spelled in one place
(docs/events.md lists them). Use-cases `emit` their events: they go out after commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from laotie.core.context import Ctx
from laotie.realtime.events import RoomEvent


class RoomEventType(StrEnum):
    """What a room event tells the viewers."""

    STATUS = "status"
    CART = "cart"
    PIN = "pin"
    STOCK = "stock"
    SALE = "sale"
    SALE_LEFT = "sale_left"
    SALE_END = "sale_end"
    CHAT = "chat"
    CHAT_DELETE = "chat_delete"
    LIKES = "likes"
    ONLINE = "online"
    BOUGHT = "bought"
    CAMPAIGN = "campaign"


def room_name(session_id: str) -> str:
    """Return the realtime room of a live session."""
    return f"live:{session_id}"


def emit(ctx: Ctx, session_id: str, events: Sequence[RoomEvent]) -> None:
    """Queue a session's room events; they go out only once the unit of work commits."""
    ctx.broadcast_on_commit(room_name(session_id), events)
