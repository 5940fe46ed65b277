"""The following feed: what the anchors and shops a user follows have live now or coming."""

from __future__ import annotations

from laotie.accounts.permissions import Actor
from laotie.core.context import Ctx
from laotie.live.room.sources import source_tag
from laotie.live.schemas import EntrySource
from laotie.live.session import service as sessions
from laotie.traffic.follows import followed_ids
from laotie.traffic.schemas import FeedItemOut, Target

FEED_SIZE = 50


async def following_feed(ctx: Ctx, actor: Actor, limit: int = FEED_SIZE) -> list[FeedItemOut]:
    """Live sessions first, then the coming ones, of whom the actor follows."""
    anchors = await followed_ids(ctx, actor.id, Target.ANCHOR)
    shops = await followed_ids(ctx, actor.id, Target.SHOP)
    found = await sessions.sessions_of(ctx, anchors, shops, limit)
    secret = ctx.settings.secret_key
    return [
        FeedItemOut(
            session_id=session.id,
            anchor_id=session.anchor_id,
            shop_id=session.shop_id,
            title=session.title,
            status=session.status,
            scheduled_at=session.scheduled_at,
            started_at=session.started_at,
            url=f"/live/{session.id}?src={source_tag(secret, session.id, EntrySource.FOLLOW_FEED)}",
        )
        for session in found
    ]
