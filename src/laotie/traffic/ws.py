"""The user's own WebSocket, `/ws/me`: the unread count on joining, then each notification.

Frames from the server: `{"type": "hello", "unread": n}` once, then
`{"type": "notification", "data": {...}}` (an inbox entry's fields) as shows go live.
The client says nothing; what it sends is ignored. A push is a convenience: the inbox
holds every notification, so a client that was away reads `GET /api/me/inbox`.
Signed-in by the session cookie (pages) or a ticket (`POST /api/me/tickets`, API
clients), with the Origin checked as on the room's socket.
"""

from __future__ import annotations

import json

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette.datastructures import State

from laotie.accounts.deps import SESSION_COOKIE, actor_of_token_alone
from laotie.accounts.permissions import Actor
from laotie.accounts.service import access_user
from laotie.core.context import unit_of_work_for
from laotie.core.csrf import check_origin
from laotie.core.errors import AppError
from laotie.live.room.tickets import check_ticket
from laotie.realtime.users import UserPush, UserSocket
from laotie.traffic.inbox import unread_count

router = APIRouter()

# What a user ticket is bound to in place of a room: a room's ticket does not open it.
TICKET_SCOPE = "me"
CLOSE_NOT_SIGNED_IN = 4401


@router.websocket("/ws/me")
async def user_socket(websocket: WebSocket) -> None:
    """Hear of one's notifications as they are written."""
    state: State = websocket.app.state
    try:
        check_origin(websocket, state.settings.public_url)
    except AppError:
        await websocket.close()  # before the upgrade: the other site hears a bare HTTP 403
        return
    try:
        actor = await _actor(websocket, state)
    except AppError as refusal:
        actor, reason = None, refusal.message
    else:
        reason = "sign in first"
    await websocket.accept()
    if actor is None:
        await websocket.close(code=CLOSE_NOT_SIGNED_IN, reason=reason[:100])
        return
    push: UserPush = state.user_push

    async def close() -> None:
        await websocket.close(code=1008, reason="too slow")

    socket = UserSocket(actor.id, websocket.send_text, close)
    # Held before the count is read: a notification written meanwhile is pushed, not lost.
    await push.connected(socket)
    try:
        async with unit_of_work_for(state) as ctx:
            unread = await unread_count(ctx, actor.id)
        socket.put(json.dumps({"type": "hello", "unread": unread}))
        while True:
            await websocket.receive_text()
    except WebSocketDisconnect:
        pass
    finally:
        await socket.stop()
        await push.disconnected(socket)


async def _actor(websocket: WebSocket, state: State) -> Actor | None:
    """Find the user: the session cookie, or a ticket (a token in a URL ends up in logs)."""
    cookie = websocket.cookies.get(SESSION_COOKIE)
    if cookie:
        return await actor_of_token_alone(state, cookie, True)
    ticket = websocket.query_params.get("ticket")
    if not ticket:
        return None
    user_id = check_ticket(state.settings, state.clock.now(), ticket, TICKET_SCOPE)
    async with unit_of_work_for(state) as ctx:
        return await access_user(ctx, user_id)
