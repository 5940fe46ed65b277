"""A room's state and the reducer that moves it: snapshot plus replayed events = a fresh snapshot.

The state is plain JSON-ready data so that it travels as the snapshot frame. Every event
a room publishes carries what the reducer needs (a cart event carries the cart's cards).
A snapshot is read from the database after the log's head, so it may already reflect
events newer than its sequence number; every reducer is therefore idempotent (totals and
replacements, chat lines keyed by id), and replaying those events changes nothing.
"""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from laotie.core.context import Ctx
from laotie.live.events import RoomEventType
from laotie.live.models import ChatMessage, LiveSession
from laotie.live.session.service import cart_cards, cart_of
from laotie.realtime.events import Seq

RECENT_CHAT = 50

State = dict[str, Any]


def empty_state() -> State:
    """Return the state of a room nobody has touched."""
    return {
        "session_id": None,
        "title": "",
        "status": "scheduled",
        "cart": [],
        "pin": None,
        "sale": None,
        "online": 0,
        "likes": 0,
        "chat": [],
        "orders": 0,
        "gmv_minor": 0,
        # C2M campaigns opened in the show, by id: not in the snapshot (the room knows no
        # campaign), fetched by the page on joining and kept current by `campaign` events.
        "campaigns": {},
    }


def apply(state: State, event_type: str, data: dict[str, Any]) -> State:
    """Return the state after one event (the input is not changed)."""
    new = copy.deepcopy(state)
    handler = _HANDLERS.get(event_type)
    if handler is not None:
        handler(new, data)
    return new


def _status(state: State, data: dict[str, Any]) -> None:
    state["status"] = data["status"]


def _cart(state: State, data: dict[str, Any]) -> None:
    state["cart"] = list(data["items"])
    ids = {item["product_id"] for item in state["cart"]}
    if state["pin"] not in ids:
        state["pin"] = None


def _pin(state: State, data: dict[str, Any]) -> None:
    state["pin"] = data["product_id"]


def _stock(state: State, data: dict[str, Any]) -> None:
    per_sku = data.get("skus", {})
    for item in state["cart"]:
        if item["product_id"] == data["product_id"]:
            item["stock"] = data["stock"]
            for sku in item.get("skus", []):
                sku["stock"] = per_sku.get(sku["sku_id"], sku["stock"])


def _sale(state: State, data: dict[str, Any]) -> None:
    state["sale"] = dict(data)


def _sale_left(state: State, data: dict[str, Any]) -> None:
    sale = state["sale"]
    if sale is None or sale["sale_id"] != data["sale_id"]:
        return
    # Workers announce counts as they go; an older count reaching the log late is ignored.
    if data.get("version", 0) >= sale.get("version", 0):
        sale["left"] = data["left"]
        sale["version"] = data.get("version", 0)


def _sale_end(state: State, data: dict[str, Any]) -> None:
    if state["sale"] is not None and state["sale"]["sale_id"] == data["sale_id"]:
        state["sale"] = None


def _chat(state: State, data: dict[str, Any]) -> None:
    # Idempotent: a snapshot read from the database may already hold a line its replay repeats.
    if all(line["id"] != data["id"] for line in state["chat"]):
        state["chat"] = [*state["chat"], dict(data)][-RECENT_CHAT:]


def _chat_delete(state: State, data: dict[str, Any]) -> None:
    state["chat"] = [line for line in state["chat"] if line["id"] != data["id"]]


def _likes(state: State, data: dict[str, Any]) -> None:
    state["likes"] = data["total"]


def _online(state: State, data: dict[str, Any]) -> None:
    state["online"] = data["count"]


def _campaign(state: State, data: dict[str, Any]) -> None:
    state["campaigns"][data["id"]] = data


def _bought(state: State, data: dict[str, Any]) -> None:
    state["orders"] = data["orders"]
    state["gmv_minor"] = data["gmv_minor"]


_HANDLERS: dict[str, Callable[[State, dict[str, Any]], None]] = {
    RoomEventType.STATUS: _status,
    RoomEventType.CART: _cart,
    RoomEventType.PIN: _pin,
    RoomEventType.STOCK: _stock,
    RoomEventType.SALE: _sale,
    RoomEventType.SALE_LEFT: _sale_left,
    RoomEventType.SALE_END: _sale_end,
    RoomEventType.CHAT: _chat,
    RoomEventType.CHAT_DELETE: _chat_delete,
    RoomEventType.LIKES: _likes,
    RoomEventType.ONLINE: _online,
    RoomEventType.BOUGHT: _bought,
    RoomEventType.CAMPAIGN: _campaign,
}


async def read_state(ctx: Ctx, session: LiveSession, online: int) -> State:
    """Return a room's state as the database has it now."""
    chat = await ctx.db.scalars(
        select(ChatMessage)
        .where(ChatMessage.session_id == session.id, ChatMessage.deleted.is_(False))
        .order_by(ChatMessage.id.desc())
        .limit(RECENT_CHAT)
    )
    state = empty_state()
    state.update(
        session_id=session.id,
        title=session.title,
        status=session.status,
        cart=await cart_cards(ctx, await cart_of(ctx, session.id)),
        pin=session.pinned_product_id,
        likes=session.likes,
        online=online,
        chat=[
            {
                "id": m.id,
                "user_id": m.user_id,
                "author": m.author,
                "text": m.text,
                "fan_level": m.fan_level,
            }
            for m in reversed(list(chat))
        ],
    )
    return state


Snapshot = tuple[State, Seq]


@dataclass
class SnapshotCache:
    """A room's latest snapshot for a moment, so that a crowd joining at once reads it once.

    A snapshot carries the log position it was read after, and every joiner gets the
    events newer than that position on top of it (reducers are idempotent: see above), so
    a snapshot a second old is as good as a new one. One read is in flight per room at a
    time; the others wait for it. The cached state is shared: never change it in place.
    """

    ttl_s: float = 1.0
    _entries: dict[str, tuple[float, Snapshot]] = field(default_factory=dict)
    _reading: dict[str, asyncio.Future[Snapshot]] = field(default_factory=dict)

    async def get(
        self, room: str, read: Callable[[], Awaitable[Snapshot]], *, fresh: bool = False
    ) -> Snapshot:
        """Return the room's snapshot: the cached one unless stale or `fresh` is asked."""
        entry = self._entries.get(room)
        if entry is not None and not fresh and entry[0] > time.monotonic():
            return entry[1]
        reading = self._reading.get(room)
        if reading is None or fresh:
            reading = asyncio.ensure_future(self._read(room, read))
            self._reading[room] = reading
        return await asyncio.shield(reading)

    async def _read(self, room: str, read: Callable[[], Awaitable[Snapshot]]) -> Snapshot:
        try:
            snapshot = await read()
        finally:
            if self._reading.get(room) is asyncio.current_task():
                del self._reading[room]
        self._entries[room] = (time.monotonic() + self.ttl_s, snapshot)
        return snapshot
