"""What the recommendation feed reads of the rooms: who is live, what they sell, who watched,
who came from the feed.

The feed ranks every live room for every request, so these reads are made a few times a
minute for all rooms at once (`rooms_live`), never once a room.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Integer, bindparam, cast, func, select

from laotie.catalog import service as catalog
from laotie.core.context import Ctx
from laotie.live.models import LiveCartItem, LiveSession, Visit
from laotie.live.schemas import EntrySource, SessionStatus


@dataclass(frozen=True, slots=True)
class LiveRoom:
    """A room live now, with what its audience did so far."""

    session_id: str
    anchor_id: str
    shop_id: str | None  # none: an anchor without a shop, selling the pool's products
    title: str
    cover_url: str | None
    started_at: datetime | None
    category: str | None  # what most of its cart is; None for an empty cart
    visits: int
    watch_seconds: int
    feed_entries: int  # visits that came from the recommendation feed


async def rooms_live(ctx: Ctx) -> list[LiveRoom]:
    """Return every room live now with its audience's totals, in session id order."""
    # Plain columns, not ORM objects: a thousand rooms are read a few times a minute.
    sessions = (await ctx.db.execute(_LIVE_SESSIONS)).all()
    ids = [session.id for session in sessions]
    audience = await _audience(ctx, ids)
    categories = await session_categories(ctx, ids)
    return [
        LiveRoom(
            *session,
            categories.get(session.id),
            *audience.get(session.id, (0, 0, 0)),
        )
        for session in sessions
    ]


async def _audience(ctx: Ctx, session_ids: list[str]) -> dict[str, tuple[int, int, int]]:
    """Return (visits, seconds watched, feed entries) of each of these sessions."""
    if not session_ids:
        return {}
    rows = await ctx.db.execute(_AUDIENCE, {"ids": session_ids})
    return {sid: (int(n), int(watched or 0), int(fed or 0)) for sid, n, watched, fed in rows}


async def session_categories(ctx: Ctx, session_ids: Sequence[str]) -> dict[str, str]:
    """Return the category most of each session's cart belongs to (ties: the first by name)."""
    if not session_ids:
        return {}
    rows = list(await ctx.db.execute(_CART_PRODUCTS, {"ids": sorted(set(session_ids))}))
    of_product = await catalog.product_categories(ctx, [product for _, product in rows])
    counts: dict[str, Counter[str]] = {}
    for session_id, product_id in rows:
        counts.setdefault(session_id, Counter())[of_product[product_id]] += 1
    return {sid: min(c, key=lambda slug: (-c[slug], slug)) for sid, c in counts.items()}


async def sessions_visited(ctx: Ctx, viewer_key: str, since: datetime, limit: int) -> list[str]:
    """Return the sessions a viewer entered since then, newest visit first, at most `limit`."""
    wanted = {"viewer_key": viewer_key, "since": since, "limit": limit}
    return list(await ctx.db.scalars(_VISITED, wanted))


# The feed's reads, built once: they are made for every request or every few seconds, and
# building a statement costs more than running one of these.
_LIVE_SESSIONS = (
    select(
        LiveSession.id,
        LiveSession.anchor_id,
        LiveSession.shop_id,
        LiveSession.title,
        LiveSession.cover_url,
        LiveSession.started_at,
    )
    .where(LiveSession.status == SessionStatus.LIVE)
    .order_by(LiveSession.id)
)
_AUDIENCE = (
    select(
        Visit.session_id,
        func.count(),  # not of the id, which the covering index does not hold
        func.sum(Visit.watch_seconds),
        func.sum(cast(Visit.source == EntrySource.RECOMMEND_FEED.value, Integer)),
    )
    .where(Visit.session_id.in_(bindparam("ids", expanding=True)))
    .group_by(Visit.session_id)
)
_CART_PRODUCTS = select(LiveCartItem.session_id, LiveCartItem.product_id).where(
    LiveCartItem.session_id.in_(bindparam("ids", expanding=True))
)
_VISITED = (
    select(Visit.session_id)
    .where(Visit.viewer_key == bindparam("viewer_key"), Visit.entered_at >= bindparam("since"))
    .order_by(Visit.entered_at.desc())
    .limit(bindparam("limit"))
)


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """A visit that came from the recommendation feed: bought reach is judged by these."""

    visit_id: str
    viewer_key: str
    user_id: str | None
    entered_at: datetime


async def feed_entries(
    ctx: Ctx, session_id: str, since: datetime, until: datetime
) -> list[FeedEntry]:
    """Return the session's visits from the feed that began in [since, until), in order."""
    rows = await ctx.db.execute(
        select(Visit.id, Visit.viewer_key, Visit.user_id, Visit.entered_at)
        .where(
            Visit.session_id == session_id,
            Visit.source == EntrySource.RECOMMEND_FEED.value,
            Visit.entered_at >= since,
            Visit.entered_at < until,
        )
        .order_by(Visit.entered_at, Visit.id)
    )
    return [FeedEntry(*row) for row in rows]
