"""The vocabulary of a live room's log: every room event type (see docs/events.md).

Whoever builds a room event (`RoomEvent(RoomEventType.SALE, ...)`) and the reducer that
applies it (`live.room.apply`) use these names, so a type is spelled in one place.
"""

from __future__ import annotations

from enum import StrEnum


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
