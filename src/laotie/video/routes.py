"""HTTP API of live video: the signed-in anchor's stream key."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request, status
from fastapi.responses import Response

from laotie.accounts.deps import ActorDep
from laotie.core.deps import CtxDep
from laotie.core.errors import CommonError
from laotie.core.openapi import errors
from laotie.video import keys, publishing
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


# The media server's callbacks (nginx-rtmp's `notify` module): form posts, answered by
# status alone. Its token is in the URL `laotie media config` writes.
Token = Annotated[str, Query(max_length=128)]
StreamName = Annotated[str, Form(max_length=200)]
# Where the media server takes the shows' streams: its own `show` application.
PushTo = Annotated[str, Query(max_length=200, pattern=r"^rtmp://[A-Za-z0-9.:\[\]-]+/[a-z]+$")]


@router.post(
    "/media/publish",
    status_code=status.HTTP_302_FOUND,
    responses=errors(VideoError.NOT_THE_MEDIA_SERVER, VideoError.KEY_REFUSED, VideoError.NO_SHOW),
)
async def on_publish(
    token: Token, push: PushTo, name: StreamName, request: Request, ctx: CtxDep
) -> Response:
    """May a stream publish (its name is the anchor's key)? Yes: its show goes live, and the
    answer sends the stream on to `push` under the show's id. A refusal stops the stream."""
    publishing.check_token(ctx.settings, token)
    session_id = await publishing.do_start_stream(ctx, name, request.app.state.tasks.kick_apart)
    return Response(status_code=status.HTTP_302_FOUND, headers={"Location": f"{push}/{session_id}"})


@router.post(
    "/media/publish-done",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=errors(VideoError.NOT_THE_MEDIA_SERVER),
)
async def on_publish_done(token: Token, name: StreamName, ctx: CtxDep) -> Response:
    """A stream stopped (its name is the show's id): the show ends."""
    publishing.check_token(ctx.settings, token)
    await publishing.do_stop_stream(ctx, name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
