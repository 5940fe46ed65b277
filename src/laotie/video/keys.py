"""Stream keys: an anchor makes one to publish video, sees it once, rotates or revokes it.

Only the key's hash is kept, as for sign-in tokens (`accounts.service.hash_token`): a
leaked table publishes nothing. The media server asks laotie whether a key may publish
(`anchor_of_key`); the key is never a file name or a URL a viewer sees.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from sqlalchemy import select

from laotie.accounts.permissions import Actor, Role, require_role
from laotie.accounts.service import hash_token
from laotie.core.context import Ctx
from laotie.core.errors import AppError
from laotie.settings import Settings
from laotie.video.errors import VideoError
from laotie.video.models import StreamKey
from laotie.video.schemas import EncoderSettings, NewStreamKeyOut, StreamKeyOut

RTMP_PORT = 1935
HINT_LENGTH = 6


def server_url(settings: Settings) -> str:
    """Return the RTMP URL encoders publish to."""
    if settings.rtmp_url:
        return settings.rtmp_url
    host = urlsplit(settings.public_url).hostname or "127.0.0.1"
    return f"rtmp://{host}:{RTMP_PORT}/live"


async def stream_key_of(ctx: Ctx, actor: Actor) -> StreamKeyOut:
    """The anchor's stream key as the console shows it (its hint, never the key)."""
    require_role(actor, Role.ANCHOR, Role.SELLER)
    return _out(ctx, await ctx.db.get(StreamKey, actor.id))


async def do_make_stream_key(ctx: Ctx, actor: Actor) -> NewStreamKeyOut:
    """Make the anchor a new stream key, shown this once; the one before stops working."""
    require_role(actor, Role.ANCHOR, Role.SELLER)
    key = f"lt_{secrets.token_urlsafe(24)}"
    found = await ctx.db.get(StreamKey, actor.id, with_for_update=True)
    if found is None:
        found = StreamKey(anchor_id=actor.id)
        ctx.db.add(found)
    found.key_hash, found.hint = hash_token(key), key[:HINT_LENGTH]
    found.created_at, found.revoked_at = ctx.now(), None
    await ctx.db.flush()
    return NewStreamKeyOut(**_out(ctx, found).model_dump(), stream_key=key)


async def do_revoke_stream_key(ctx: Ctx, actor: Actor) -> StreamKeyOut:
    """Stop the anchor's stream key from publishing; revoking twice changes nothing."""
    found = await ctx.db.get(StreamKey, actor.id, with_for_update=True)
    if found is None:
        raise AppError.of(VideoError.NO_STREAM_KEY, "you have no stream key to revoke")
    if found.revoked_at is None:
        found.revoked_at = ctx.now()
        await ctx.db.flush()
    return _out(ctx, found)


async def anchor_of_key(ctx: Ctx, key: str) -> str | None:
    """Return the anchor a stream key publishes for, or none for a wrong or revoked key."""
    found = await ctx.db.scalar(
        select(StreamKey.anchor_id).where(
            StreamKey.key_hash == hash_token(key), StreamKey.revoked_at.is_(None)
        )
    )
    return None if found is None else str(found)


def _out(ctx: Ctx, key: StreamKey | None) -> StreamKeyOut:
    return StreamKeyOut(
        server_url=server_url(ctx.settings),
        hint=None if key is None else key.hint,
        created_at=None if key is None else key.created_at,
        revoked_at=None if key is None else key.revoked_at,
        active=key is not None and key.revoked_at is None,
        encoder=EncoderSettings(),
    )
