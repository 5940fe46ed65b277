"""Follows: a user follows anchors and shops, idempotently; counts, lists, and the follow
state a room's entry records (DESIGN.md: a visit is private domain when its viewer
followed the anchor at the moment of entry)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection, bindparam, delete, func, select
from sqlalchemy.exc import IntegrityError

from laotie.accounts.permissions import Actor, Role
from laotie.accounts.service import access_user
from laotie.catalog import service as catalog
from laotie.core.context import Ctx
from laotie.core.errors import not_found
from laotie.db.base import Base
from laotie.db.bulk import id_chunks
from laotie.traffic.models import Follow
from laotie.traffic.schemas import FollowedOut, FollowOut, Target


async def check_target(ctx: Ctx, kind: Target, target_id: str) -> None:
    """Refuse to follow what does not exist: a user who is no anchor, an unknown shop."""
    if kind is Target.SHOP:
        await catalog.get_shop(ctx, target_id)
        return
    if not (await access_user(ctx, target_id)).has(Role.ANCHOR):
        raise not_found("anchor")


async def do_follow(ctx: Ctx, actor: Actor, kind: Target, target_id: str) -> FollowOut:
    """Follow an anchor or a shop; following again changes nothing."""
    await check_target(ctx, kind, target_id)
    if await ctx.db.get(Follow, (actor.id, kind.value, target_id)) is None:
        row = Follow(
            user_id=actor.id, target_kind=kind.value, target_id=target_id, created_at=ctx.now()
        )
        await insert_once(ctx, row)
    return await follow_state(ctx, actor, kind, target_id)


async def insert_once(ctx: Ctx, row: Base) -> None:
    """Insert a row keyed by who does what; a racing twin that inserted it first is fine."""
    try:
        async with ctx.db.begin_nested():
            ctx.db.add(row)
    except IntegrityError:
        pass  # a second request of the same user won the race: the row is there either way


async def do_unfollow(ctx: Ctx, actor: Actor, kind: Target, target_id: str) -> FollowOut:
    """Stop following; unfollowing what one does not follow changes nothing."""
    await check_target(ctx, kind, target_id)
    await ctx.db.execute(
        delete(Follow).where(
            Follow.user_id == actor.id,
            Follow.target_kind == kind.value,
            Follow.target_id == target_id,
        )
    )
    return await follow_state(ctx, actor, kind, target_id)


async def follow_state(ctx: Ctx, actor: Actor | None, kind: Target, target_id: str) -> FollowOut:
    """Whether the actor (if any) follows a target, and its followers."""
    count = await ctx.db.scalar(
        select(func.count()).where(Follow.target_kind == kind.value, Follow.target_id == target_id)
    )
    following = actor is not None and (
        await ctx.db.get(Follow, (actor.id, kind.value, target_id)) is not None
    )
    return FollowOut(kind=kind, id=target_id, following=following, followers=int(count or 0))


async def following(ctx: Ctx, actor: Actor) -> list[FollowedOut]:
    """What the actor follows, latest first."""
    rows = await ctx.db.scalars(
        select(Follow).where(Follow.user_id == actor.id).order_by(Follow.created_at.desc())
    )
    return [
        FollowedOut(kind=Target(f.target_kind), id=f.target_id, since=f.created_at) for f in rows
    ]


async def followed_ids(ctx: Ctx, user_id: str, kind: Target) -> list[str]:
    """The ids of the anchors (or shops) a user follows."""
    rows = await ctx.db.scalars(
        select(Follow.target_id).where(Follow.user_id == user_id, Follow.target_kind == kind.value)
    )
    return list(rows)


# Built once: the feed reads a viewer's follows on every request, and building the
# statement would cost more than running it.
_FOLLOWED_TARGETS = select(Follow.target_kind, Follow.target_id).where(
    Follow.user_id == bindparam("user_id")
)


async def followed_targets(ctx: Ctx, user_id: str) -> tuple[set[str], set[str]]:
    """Return the anchors and the shops a user follows, in one read."""
    rows = await ctx.db.execute(_FOLLOWED_TARGETS, {"user_id": user_id})
    anchors: set[str] = set()
    shops: set[str] = set()
    for kind, target_id in rows:
        (anchors if kind == Target.ANCHOR.value else shops).add(target_id)
    return anchors, shops


async def anchor_follows_of_users(
    ctx: Ctx, user_ids: Iterable[str]
) -> dict[tuple[str, str], datetime]:
    """Return when each of these users followed each anchor it follows, by (anchor, user)."""
    found: dict[tuple[str, str], datetime] = {}
    for chunk in id_chunks(user_ids):
        rows = await ctx.db.execute(
            select(Follow.target_id, Follow.user_id, Follow.created_at).where(
                Follow.target_kind == Target.ANCHOR.value, Follow.user_id.in_(chunk)
            )
        )
        found.update({(anchor_id, user_id): at for anchor_id, user_id, at in rows})
    return found


def anchor_follows_among_sync(
    connection: Connection, anchor_ids: Iterable[str], user_ids: Iterable[str]
) -> set[tuple[str, str]]:
    """Return the (anchor, user) follows among these anchors and users, in one read."""
    anchors, users = sorted(set(anchor_ids)), sorted(set(user_ids))
    if not anchors or not users:
        return set()
    rows = connection.execute(_ANCHOR_FOLLOWS, {"anchors": anchors, "users": users})
    return {(anchor_id, user_id) for anchor_id, user_id in rows}


_ANCHOR_FOLLOWS = select(Follow.target_id, Follow.user_id).where(
    Follow.target_kind == Target.ANCHOR.value,
    Follow.target_id.in_(bindparam("anchors", expanding=True)),
    Follow.user_id.in_(bindparam("users", expanding=True)),
)
