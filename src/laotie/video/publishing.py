"""The media server's callbacks: may this key publish, and the show's stream has stopped.

nginx-rtmp asks laotie on every publish (`on_publish`) with the stream name the encoder
sent, which is the anchor's key. A good key turns the anchor's show live and answers a
redirect that pushes the stream on to the media server's `show` application under the
show's id, so its HLS files and recordings are named by the public session id and never
by the key. Any other answer refuses the stream. When the show's stream stops
(`on_publish_done` of `show`, named by the show) the show ends. The callbacks carry a
token of their own (`media_token`) in their URL, so that nobody else can end a show.
"""

from __future__ import annotations

import hashlib
import hmac

from laotie.accounts import service as accounts
from laotie.core.context import Ctx
from laotie.core.errors import AppError
from laotie.core.tasks import Kick
from laotie.live.schemas import SessionStatus
from laotie.live.session import service as live
from laotie.settings import Settings
from laotie.video import keys
from laotie.video.errors import VideoError


def media_token(settings: Settings) -> str:
    """Return the token the media server's callbacks carry, derived from the secret key."""
    return hmac.new(settings.secret_key.encode(), b"media-callbacks", hashlib.sha256).hexdigest()


def check_token(settings: Settings, token: str) -> None:
    """Refuse a callback whose token is not the media server's."""
    if not hmac.compare_digest(token.encode(), media_token(settings).encode()):
        raise AppError.of(VideoError.NOT_THE_MEDIA_SERVER, "this is no media server's callback")


async def do_start_stream(ctx: Ctx, key: str, kick: Kick | None = None) -> str:
    """Let a stream publish for its key's anchor: its show goes live (if scheduled); return
    the show's id, the name the stream is renamed to. A wrong or revoked key, or an anchor
    without a show, is refused."""
    anchor_id = await keys.anchor_of_key(ctx, key)
    if anchor_id is None:
        raise AppError.of(VideoError.KEY_REFUSED, "this stream key is wrong or revoked")
    show = await live.show_to_stream(ctx, anchor_id)
    if show is None:
        raise AppError.of(VideoError.NO_SHOW, "schedule a show before going live")
    if show.status == SessionStatus.SCHEDULED:
        anchor = await accounts.access_user(ctx, anchor_id)
        await live.do_go_live(ctx, anchor, show.id, kick)
    return show.id


async def do_stop_stream(ctx: Ctx, session_id: str) -> bool:
    """End the show whose stream stopped; tell whether it was live until now."""
    try:
        show = await live.load_session(ctx, session_id)
    except AppError:
        return False  # not a show's stream: nothing to end
    if show.status != SessionStatus.LIVE:
        return False
    anchor = await accounts.access_user(ctx, show.anchor_id)
    await live.do_end(ctx, anchor, show.id)
    return True
