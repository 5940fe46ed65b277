"""HTTP API of live video: the signed-in anchor's stream key."""

from __future__ import annotations

from fastapi import APIRouter, status

from laotie.accounts.deps import ActorDep
from laotie.core.deps import CtxDep
from laotie.core.errors import CommonError
from laotie.core.openapi import errors
from laotie.video import keys
from laotie.video.errors import VideoError
from laotie.video.schemas import NewStreamKeyOut, StreamKeyOut

router = APIRouter(prefix="/api", tags=["video"])


@router.get("/me/stream-key", response_model=StreamKeyOut, responses=errors(CommonError.FORBIDDEN))
async def my_stream_key(actor: ActorDep, ctx: CtxDep) -> StreamKeyOut:
    """Where to publish and which key is in force (its first characters only)."""
    return await keys.stream_key_of(ctx, actor)


@router.post(
    "/me/stream-key",
    status_code=status.HTTP_201_CREATED,
    response_model=NewStreamKeyOut,
    responses=errors(CommonError.FORBIDDEN),
)
async def make_stream_key(actor: ActorDep, ctx: CtxDep) -> NewStreamKeyOut:
    """Make a new stream key, shown in this answer only; the one before stops working."""
    return await keys.do_make_stream_key(ctx, actor)


@router.delete(
    "/me/stream-key", response_model=StreamKeyOut, responses=errors(VideoError.NO_STREAM_KEY)
)
async def revoke_stream_key(actor: ActorDep, ctx: CtxDep) -> StreamKeyOut:
    """Stop the stream key from publishing, without making another."""
    return await keys.do_revoke_stream_key(ctx, actor)
