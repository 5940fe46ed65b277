"""The room's WebSocket: join (subscribe, snapshot, replay), heartbeats, chat and likes.

Frames are JSON objects with a `type`; see docs/realtime.md. A bad frame gets an error
frame and the connection stays up; nothing a client sends can crash the room.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette.datastructures import State
from starlette.types import ASGIApp, Receive, Scope, Send

from laotie.accounts.deps import SESSION_COOKIE, actor_of_token_alone
from laotie.accounts.permissions import Actor
from laotie.accounts.service import access_user
from laotie.core.context import Ctx, unit_of_work_for
from laotie.core.csrf import check_origin
from laotie.core.errors import AppError, CommonError
from laotie.core.visitors import known_visitor, new_visitor_id
from laotie.live.errors import LiveError
from laotie.live.events import room_name
from laotie.live.room import chat, visits
from laotie.live.room.sources import resolve_source
from laotie.live.room.state import read_state
from laotie.live.room.tickets import check_ticket
from laotie.live.runtime import LiveRuntime
from laotie.live.sale.gate import SaleGate
from laotie.live.sale.service import running_sale, running_sale_of_session
from laotie.live.schemas import EntrySource
from laotie.live.session.service import load_session
from laotie.orders.queries import live_session_totals
from laotie.realtime.direct import direct_writer
from laotie.realtime.events import Seq

router = APIRouter()

MAX_FRAME_BYTES = 4_096
MAX_LIKES_PER_FRAME = 50

# Sends the viewer a frame of its own later (a chat line refused once its batch was checked).
Reply = Callable[[dict[str, Any]], Awaitable[None]]

# Close codes (4000-4999 are the application's): the client can tell why it was let go.
CLOSE_NOT_SIGNED_IN = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_BAD_REQUEST = 4422
CLOSE_TRY_AGAIN = 1013  # the standard code: the server is overloaded, come back later


async def read_room(ctx: Ctx, gate: SaleGate, session_id: str) -> dict[str, Any]:
    """Return what a joiner's snapshot holds: the room's state, its totals and its sale."""
    session = await load_session(ctx, session_id)
    room_state = await read_state(ctx, session, 0)
    room_state["orders"], room_state["gmv_minor"] = await live_session_totals(ctx, session.id)
    running = await running_sale_of_session(ctx, session.id)
    if running is not None:
        sale = await running_sale(ctx, session.id, running.sku_id)
        count = await gate.count(running.id)
        if sale is not None:
            shown = (
                sale.event(running.quantity)
                if count is None
                else sale.event(count.left, count.version)
            )
            room_state["sale"] = shown.data
    return room_state


async def room_socket(websocket: WebSocket) -> None:
    """Join a live room: the snapshot, then its events; send heartbeats, chat and likes.

    A plain Starlette route (see below): its parameters are read here, not solved as
    dependencies for each of a crowd's handshakes.
    """
    session_id: str = websocket.path_params["session_id"]
    params = websocket.query_params
    source, after = params.get("source", "other"), params.get("after")
    state: State = websocket.app.state
    runtime: LiveRuntime = state.live
    try:
        check_origin(websocket, state.settings.public_url)
    except AppError:
        await websocket.close()  # before the upgrade: the other site hears a bare HTTP 403
        return
    try:
        actor, viewer_key, visit_id, recording = await _enter(websocket, state, session_id, source)
    except AppError as refusal:
        # Accepted only to be closed: a page hears why, and does not come back in a loop.
        await websocket.accept()
        await websocket.close(code=_close_code(refusal), reason=refusal.message[:100])
        return
    await websocket.accept()
    room = room_name(session_id)
    runtime.watch(room)
    await runtime.presence.touch(room, viewer_key, time.time())

    # Under uvicorn the hub writes the room's batches straight to the connection.
    writer = direct_writer(getattr(websocket, "_send", None))

    async def send(text: str) -> None:
        await websocket.send_text(text)

    async def close() -> None:
        if writer is not None and writer.blocked():
            writer.abort()  # a close frame would wait behind what the viewer is not reading
            return
        await websocket.close(code=1008, reason="too slow")

    async def read_snapshot() -> tuple[dict[str, Any], Seq]:
        head = await runtime.hub.head(room)  # before reading: see room/state.py
        async with unit_of_work_for(state) as ctx:
            return await read_room(ctx, runtime.gate, session_id), head

    tries = 0

    async def snapshot() -> tuple[dict[str, Any], Seq]:
        # A crowd joining shares a snapshot a second old; a retry (the log no longer
        # reaching back to it) reads a new one.
        nonlocal tries
        tries += 1
        shared, head = await runtime.snapshots.get(room, read_snapshot, fresh=tries > 1)
        online = await runtime.presence.count(room, time.time())
        return {**shared, "online": online}, head

    await websocket.send_text(
        json.dumps({"type": "hello", "visit_id": visit_id, "viewer": _viewer(actor, viewer_key)})
    )
    closing: list[asyncio.Task[None]] = []  # held here while it runs

    async def close_refused(refusal: AppError) -> None:
        with contextlib.suppress(Exception):  # the viewer may have left meanwhile
            await websocket.close(code=_close_code(refusal), reason=refusal.message[:100])

    def refuse_late(answer: asyncio.Future[str]) -> None:
        refusal = None if answer.cancelled() else answer.exception()
        if isinstance(refusal, AppError):
            closing.append(asyncio.ensure_future(close_refused(refusal)))

    if recording is not None:  # recorded with the next batch: a refusal closes it then
        recording.add_done_callback(refuse_late)
    subscription = await runtime.hub.join(
        room, send, close, snapshot, _parse_after(after), writer=writer
    )

    async def reply_later(frame: dict[str, Any]) -> None:
        await websocket.send_text(json.dumps(frame))

    try:
        while True:
            text = await websocket.receive_text()
            reply = await _handle(
                state, runtime, session_id, actor, viewer_key, visit_id, text, reply_later
            )
            if reply is not None:
                await websocket.send_text(json.dumps(reply))
    except WebSocketDisconnect:
        pass
    finally:
        subscription.cancel()
        await runtime.presence.leave(room, viewer_key)


SOCKET_PATH = "/ws/live/{session_id}"
SOCKET_PREFIX = SOCKET_PATH.split("{", 1)[0]
router.add_websocket_route(SOCKET_PATH, room_socket)


class RoomSocketLane:
    """Hand a room's socket handshakes to `room_socket` directly, past FastAPI's stack.

    A crowd joins at once when a show starts, and FastAPI's middleware (its error
    handlers, its exit stack) and its routing through every route cost a handshake more
    than the handshake costs. `room_socket` is a plain Starlette endpoint that reads its
    own parameters and catches its own refusals, so it needs none of them; the route stays
    registered and takes whatever the lane does not recognise.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        session_id = socket_session_of(scope)
        if session_id is None:
            await self.app(scope, receive, send)
            return
        scope = {**scope, "path_params": {"session_id": session_id}}
        await room_socket(WebSocket(scope, receive, send))


def socket_session_of(scope: Scope) -> str | None:
    """Return the session id of a room socket's handshake, or None for anything else."""
    if scope["type"] != "websocket":
        return None
    path: str = scope["path"]
    session_id = path[len(SOCKET_PREFIX) :] if path.startswith(SOCKET_PREFIX) else ""
    return session_id if session_id and "/" not in session_id else None


async def _enter(
    websocket: WebSocket, state: State, session_id: str, source_text: str
) -> tuple[Actor | None, str, str, asyncio.Future[str] | None]:
    """Check who enters from where, and record the visit with the next batch of entries.

    Return the viewer, its key, its visit id and, when the entry could not be refused
    but by the database (an anonymous visitor into a known room) and so was only queued,
    the answer still to come.
    """
    source = resolve_source(state.settings.secret_key, session_id, source_text or "other")
    if source is None:
        visits.check_source(source_text)  # refuses with the list of the sources there are
        source = EntrySource.OTHER
    actor = await _actor(websocket, state, session_id)
    viewer_key = actor.id if actor else _visitor(websocket, state.settings.secret_key)
    user_id = actor.id if actor else None
    runtime: LiveRuntime = state.live
    entry = visits.Entry(session_id, viewer_key, user_id, source)
    queued = runtime.entries.enter_soon(entry)
    if queued is not None:
        return actor, viewer_key, *queued
    return actor, viewer_key, await runtime.entries.enter(entry), None


async def _actor(websocket: WebSocket, state: State, session_id: str) -> Actor | None:
    """Find the signed-in viewer: the session cookie, or a ticket for API clients.

    A token in the URL is not taken (URLs end up in logs): API clients ask for a ticket.
    """
    cookie = websocket.cookies.get(SESSION_COOKIE)
    if cookie:
        return await actor_of_token_alone(state, cookie, True)  # the token cache first
    ticket = websocket.query_params.get("ticket")
    if not ticket:
        return None
    user_id = check_ticket(state.settings, state.clock.now(), ticket, session_id)
    async with unit_of_work_for(state) as ctx:
        return await access_user(ctx, user_id)


def _visitor(websocket: WebSocket, secret_key: str) -> str:
    """Return the anonymous visitor's signed id, or a new one for this connection."""
    return known_visitor(websocket, secret_key) or new_visitor_id()


async def _handle(
    state: State,
    runtime: LiveRuntime,
    session_id: str,
    actor: Actor | None,
    viewer_key: str,
    visit_id: str,
    text: str,
    reply_later: Reply,
) -> dict[str, Any] | None:
    """Act on one client frame; return a direct reply (an error, a pong) or None."""
    frame = _parse(text)
    if frame is None:
        return _error(LiveError.BAD_FRAME, "frames are JSON objects with a type")
    kind = frame.get("type")
    try:
        if kind == "heartbeat":
            await runtime.presence.touch(room_name(session_id), viewer_key, time.time())

            async def watched(seconds: int | None) -> None:
                if seconds is None:
                    await reply_later(_error(CommonError.NOT_FOUND, "visit not found"))
                else:
                    await reply_later({"type": "watched", "seconds": seconds})

            runtime.heartbeats.add(visit_id, watched)  # counted with the next batch
            return None
        if kind == "like":
            count = frame.get("count", 1)
            if not isinstance(count, int) or not 1 <= count <= MAX_LIKES_PER_FRAME:
                return _error(LiveError.BAD_FRAME, f"count is 1 to {MAX_LIKES_PER_FRAME}")
            runtime.like(session_id, count)
            return None
        if kind == "chat":
            return await _chat(state, runtime, session_id, actor, frame.get("text"), reply_later)
        if kind == "ping":
            return {"type": "pong"}
    except AppError as refusal:
        return _error(refusal.code, refusal.message)
    return _error(LiveError.BAD_FRAME, f"unknown frame type {str(kind)[:40]!r}")


async def _chat(
    state: State,
    runtime: LiveRuntime,
    session_id: str,
    actor: Actor | None,
    text: Any,
    reply_later: Reply,
) -> dict[str, Any] | None:
    """Say something in the room: signed-in viewers only, within the limits."""
    if actor is None:
        return _error(LiveError.MUTED, "sign in to chat")
    if not isinstance(text, str):
        return _error(LiveError.BAD_FRAME, "chat needs a text")
    if not await runtime.chat_per_user.hit(f"{session_id}:{actor.id}"):
        return _error(LiveError.CHAT_RATE_LIMITED, "you are sending messages too fast")
    if not await runtime.chat_per_room.hit(session_id):
        return _error(LiveError.CHAT_RATE_LIMITED, "the room is busy; try again in a moment")
    line = chat.new_line(state.settings, session_id, actor, text, state.clock.now())

    async def refused(refusal: AppError) -> None:
        await reply_later(_error(refusal.code, refusal.message))

    # Checked (live room, no mute or ban) and saved with the next batch, then shown.
    runtime.chat.add(line, refused)
    return None


def _parse(text: str) -> dict[str, Any] | None:
    if len(text) > MAX_FRAME_BYTES:
        return None
    try:
        frame = json.loads(text)
    except ValueError:
        return None
    return frame if isinstance(frame, dict) else None


def _parse_after(after: str | None) -> Seq | None:
    return Seq.parse(after) if after else None


def _error(code: str, message: str) -> dict[str, Any]:
    return {"type": "error", "code": str(code), "message": message}


def _viewer(actor: Actor | None, viewer_key: str) -> dict[str, Any]:
    if actor is None:
        return {"id": viewer_key, "name": None, "signed_in": False}
    return {"id": actor.id, "name": actor.name, "signed_in": True}


def _close_code(refusal: AppError) -> int:
    if refusal.status == 404:
        return CLOSE_NOT_FOUND
    if refusal.status == 401:
        return CLOSE_NOT_SIGNED_IN
    if refusal.status == 403:
        return CLOSE_FORBIDDEN
    if refusal.status == 503:
        return CLOSE_TRY_AGAIN
    return CLOSE_BAD_REQUEST
