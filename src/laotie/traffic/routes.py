"""HTTP routes of traffic: follows and the following feed."""

from __future__ import annotations

from fastapi import APIRouter

from laotie.accounts.deps import ActorDep, MaybeActorDep
from laotie.core.deps import CtxDep
from laotie.core.errors import CommonError
from laotie.core.openapi import errors
from laotie.traffic import follows
from laotie.traffic.feed import following_feed
from laotie.traffic.schemas import FeedItemOut, FollowedOut, FollowOut, Target

router = APIRouter(tags=["traffic"])


@router.put("/api/follows/{kind}/{target_id}", responses=errors(CommonError.NOT_FOUND))
async def follow(kind: Target, target_id: str, ctx: CtxDep, actor: ActorDep) -> FollowOut:
    """Follow an anchor or a shop (following again changes nothing)."""
    return await follows.do_follow(ctx, actor, kind, target_id)


@router.delete("/api/follows/{kind}/{target_id}", responses=errors(CommonError.NOT_FOUND))
async def unfollow(kind: Target, target_id: str, ctx: CtxDep, actor: ActorDep) -> FollowOut:
    """Stop following an anchor or a shop."""
    return await follows.do_unfollow(ctx, actor, kind, target_id)


@router.get("/api/follows/{kind}/{target_id}", responses=errors(CommonError.NOT_FOUND))
async def follow_state(
    kind: Target, target_id: str, ctx: CtxDep, actor: MaybeActorDep
) -> FollowOut:
    """An anchor's or a shop's followers, and whether the caller is one."""
    await follows.check_target(ctx, kind, target_id)
    return await follows.follow_state(ctx, actor, kind, target_id)


@router.get("/api/me/following")
async def my_following(ctx: CtxDep, actor: ActorDep) -> list[FollowedOut]:
    """The anchors and shops the caller follows, latest first."""
    return await follows.following(ctx, actor)


@router.get("/api/me/following/feed")
async def my_following_feed(ctx: CtxDep, actor: ActorDep) -> list[FeedItemOut]:
    """Live and coming sessions of the anchors and shops the caller follows."""
    return await following_feed(ctx, actor)
