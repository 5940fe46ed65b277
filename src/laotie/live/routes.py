"""HTTP API of live sessions: scheduling, going live, the room's cart and the pin."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, status

from laotie.accounts.deps import ActorDep
from laotie.core.context import Ctx
from laotie.core.deps import CtxDep
from laotie.live import service
from laotie.live.schemas import CartIn, PinIn, SessionIn, SessionOut, SessionStatus
from laotie.realtime.events import RoomEvent

router = APIRouter(prefix="/api/live", tags=["live"])


def broadcast_on_commit(
    request: Request, ctx: Ctx, session_id: str, events: list[RoomEvent]
) -> None:
    """Send the room its events once the transaction has committed."""
    hub: Any = request.app.state.hub
    room = service.room_of(session_id)

    async def send() -> None:
        for event in events:
            await hub.publish(room, event)

    ctx.publish_on_commit(send)


@router.post("/sessions", status_code=status.HTTP_201_CREATED)
async def schedule_session(body: SessionIn, ctx: CtxDep, actor: ActorDep) -> SessionOut:
    """Schedule a show for your shop, with its planned products."""
    return await service.do_schedule(
        ctx, actor, body.shop_id, body.title, body.cover_url, body.scheduled_at, body.product_ids
    )


@router.get("/sessions")
async def list_sessions(
    ctx: CtxDep,
    session_status: Annotated[SessionStatus | None, Query(alias="status")] = None,
    shop_id: Annotated[str | None, Query(max_length=32)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> list[SessionOut]:
    """Sessions, newest first; filter by status or shop."""
    return await service.sessions(ctx, session_status, shop_id, limit, offset)


@router.get("/sessions/{session_id}")
async def get_session(session_id: str, ctx: CtxDep) -> SessionOut:
    """One session with its cart and pin."""
    return await service.session_out(ctx, await service.load_session(ctx, session_id))


@router.post("/sessions/{session_id}/start")
async def start_session(
    session_id: str, request: Request, ctx: CtxDep, actor: ActorDep
) -> SessionOut:
    """Go live."""
    out, events = await service.do_go_live(ctx, actor, session_id)
    broadcast_on_commit(request, ctx, session_id, events)
    return out


@router.post("/sessions/{session_id}/end")
async def end_session(
    session_id: str, request: Request, ctx: CtxDep, actor: ActorDep
) -> SessionOut:
    """End the show."""
    out, events = await service.do_end(ctx, actor, session_id)
    broadcast_on_commit(request, ctx, session_id, events)
    return out


@router.put("/sessions/{session_id}/cart")
async def set_cart(
    session_id: str, body: CartIn, request: Request, ctx: CtxDep, actor: ActorDep
) -> SessionOut:
    """Set the room's cart: its products in the order viewers see them."""
    out, events = await service.do_set_cart(ctx, actor, session_id, body.product_ids)
    broadcast_on_commit(request, ctx, session_id, events)
    return out


@router.put("/sessions/{session_id}/pin")
async def set_pin(
    session_id: str, body: PinIn, request: Request, ctx: CtxDep, actor: ActorDep
) -> SessionOut:
    """Pin the product being explained, or unpin with null."""
    out, events = await service.do_pin(ctx, actor, session_id, body.product_id)
    broadcast_on_commit(request, ctx, session_id, events)
    return out
