"""Fan groups: joining an anchor's group, its members, and keeping each fan's level.

The level's formula is in `levels`; the daily job (`jobs.score_fans_daily`) recomputes
every fan's intimacy from the last 90 days of visits and orders in the anchor's sessions.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, timedelta

from sqlalchemy import delete, func, or_, select

from laotie.accounts.permissions import Actor, Role
from laotie.accounts.service import access_user, names_of
from laotie.core.context import Ctx
from laotie.core.errors import AppError, not_found
from laotie.live.room.visits import watch_of_users
from laotie.live.session.reputation import anchor_session_ids
from laotie.orders import queries as order_queries
from laotie.traffic import follows
from laotie.traffic.errors import TrafficError
from laotie.traffic.levels import (
    FORMULA,
    MAX_LEVEL,
    WINDOW_DAYS,
    Day,
    intimacy,
    level_of,
    points_for_level,
)
from laotie.traffic.models import FanMember
from laotie.traffic.schemas import FanGroupOut, FanOut, Target


async def check_anchor(ctx: Ctx, anchor_id: str) -> None:
    """Refuse a fan group of a user who is no anchor."""
    if not (await access_user(ctx, anchor_id)).has(Role.ANCHOR):
        raise not_found("anchor")


async def do_join(ctx: Ctx, fan: Actor, anchor_id: str) -> FanGroupOut:
    """Join an anchor's fan group (and follow the anchor); joining again changes nothing."""
    if fan.id == anchor_id:
        raise AppError.of(TrafficError.OWN_FAN_GROUP, "an anchor is not its own fan")
    await follows.do_follow(ctx, fan, Target.ANCHOR, anchor_id)  # checks the anchor
    if await ctx.db.get(FanMember, (anchor_id, fan.id)) is None:
        # A race of the same fan's requests: the follow's savepoint pattern, once more.
        await follows.insert_once(
            ctx, FanMember(anchor_id=anchor_id, user_id=fan.id, joined_at=ctx.now())
        )
        await do_score(ctx, anchor_id, [fan.id])
    return await fan_group(ctx, fan, anchor_id)


async def do_leave(ctx: Ctx, fan: Actor, anchor_id: str) -> FanGroupOut:
    """Leave a fan group; its intimacy is lost (the follow stays)."""
    await check_anchor(ctx, anchor_id)
    await ctx.db.execute(
        delete(FanMember).where(FanMember.anchor_id == anchor_id, FanMember.user_id == fan.id)
    )
    return await fan_group(ctx, fan, anchor_id)


async def fan_group(ctx: Ctx, viewer: Actor | None, anchor_id: str) -> FanGroupOut:
    """Return a fan group's size, and the viewer's membership, level and next step."""
    members = await ctx.db.scalar(
        select(func.count()).select_from(FanMember).where(FanMember.anchor_id == anchor_id)
    )
    mine = None if viewer is None else await ctx.db.get(FanMember, (anchor_id, viewer.id))
    return FanGroupOut(
        anchor_id=anchor_id,
        members=int(members or 0),
        member=mine is not None,
        level=mine.level if mine else None,
        intimacy=round(mine.intimacy, 2) if mine else None,
        next_level_at=points_for_level(mine.level + 1) if mine and mine.level < MAX_LEVEL else None,
        formula=FORMULA,
    )


async def fans_of(ctx: Ctx, anchor_id: str, limit: int, offset: int) -> list[FanOut]:
    """Return an anchor's fans, highest level first."""
    rows = await ctx.db.scalars(
        select(FanMember)
        .where(FanMember.anchor_id == anchor_id)
        .order_by(FanMember.intimacy.desc(), FanMember.joined_at, FanMember.user_id)
        .limit(limit)
        .offset(offset)
    )
    members = list(rows)
    names = await names_of(ctx, [m.user_id for m in members])
    return [
        FanOut(
            user_id=m.user_id,
            name=names.get(m.user_id, ""),
            level=m.level,
            intimacy=round(m.intimacy, 2),
            joined_at=m.joined_at,
        )
        for m in members
    ]


async def memberships(ctx: Ctx, fan: Actor) -> list[FanGroupOut]:
    """Return the fan groups the caller belongs to."""
    anchors = await ctx.db.scalars(
        select(FanMember.anchor_id).where(FanMember.user_id == fan.id).order_by(FanMember.joined_at)
    )
    return [await fan_group(ctx, fan, anchor_id) for anchor_id in anchors]


async def do_score(ctx: Ctx, anchor_id: str, user_ids: Sequence[str]) -> int:
    """Recompute these fans' intimacy and level from the last 90 days; return how many."""
    now = ctx.now()
    since = now - timedelta(days=WINDOW_DAYS)
    session_ids = await anchor_session_ids(ctx, anchor_id)
    days: dict[str, dict[date, Day]] = defaultdict(dict)
    for user_id, entered_at, seconds in await watch_of_users(ctx, session_ids, user_ids, since):
        _add(days[user_id], entered_at, watch_seconds=seconds)
    paid = await order_queries.paid_by_buyers_in_sessions(ctx, session_ids, user_ids, since)
    for user_id, paid_at, total in paid:
        _add(days[user_id], paid_at, paid_minor=total)
    members = await ctx.db.scalars(
        select(FanMember).where(
            FanMember.anchor_id == anchor_id, FanMember.user_id.in_(list(user_ids))
        )
    )
    scored = 0
    for member in members:
        member.intimacy = intimacy(days[member.user_id].values(), now.date())
        member.level = level_of(member.intimacy)
        member.scored_at = now
        scored += 1
    await ctx.db.flush()
    return scored


def _add(
    days: dict[date, Day], moment: datetime, *, watch_seconds: int = 0, paid_minor: int = 0
) -> None:
    day = days.get(moment.date(), Day(moment.date()))
    days[day.day] = Day(day.day, day.watch_seconds + watch_seconds, day.paid_minor + paid_minor)


async def fans_due(ctx: Ctx, limit: int) -> dict[str, list[str]]:
    """Return fans not scored since today (UTC) began, by anchor, at most `limit` of them."""
    start = datetime.combine(ctx.now().date(), datetime.min.time(), tzinfo=ctx.now().tzinfo)
    rows = await ctx.db.execute(
        select(FanMember.anchor_id, FanMember.user_id)
        .where(or_(FanMember.scored_at.is_(None), FanMember.scored_at < start))
        .order_by(FanMember.anchor_id, FanMember.user_id)
        .limit(limit)
    )
    due: dict[str, list[str]] = defaultdict(list)
    for anchor_id, user_id in rows:
        due[anchor_id].append(user_id)
    return dict(due)
