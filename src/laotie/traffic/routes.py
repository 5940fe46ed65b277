"""HTTP routes of traffic: follows, the feeds, fan groups, fan prices, fan coupons, RSVPs,
mutes, the inbox and bought reach."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from laotie.accounts.deps import ActorDep, MaybeActorDep
from laotie.accounts.permissions import Role
from laotie.core.deps import CtxDep, Offset
from laotie.core.errors import AppError, CommonError, forbidden
from laotie.core.openapi import errors
from laotie.live.errors import LiveError
from laotie.live.room.tickets import issue_ticket
from laotie.live.schemas import TicketOut
from laotie.live.session import service as sessions
from laotie.orders import coupons
from laotie.orders.errors import OrderError
from laotie.orders.schemas import ClaimOut, CouponIn, CouponOut
from laotie.traffic import (
    attribution,
    fan_prices,
    fans,
    follows,
    inbox,
    levels,
    promotion_report,
    promotions,
)
from laotie.traffic.errors import TrafficError
from laotie.traffic.feed import following_feed
from laotie.traffic.recommend import FEED_SIZE, feed_for_request
from laotie.traffic.schemas import (
    AttributionOut,
    FanGroupOut,
    FanOut,
    FanPriceIn,
    FanPriceOut,
    FeedItemOut,
    FeedOut,
    FollowedOut,
    FollowOut,
    InboxOut,
    MuteOut,
    PromotionIn,
    PromotionOut,
    PromotionReportOut,
    RsvpOut,
    Target,
)
from laotie.traffic.ws import TICKET_SCOPE

FanLimit = Annotated[int, Query(ge=1, le=200)]

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


@router.get("/api/live/sessions/{session_id}/attribution", responses=errors(CommonError.NOT_FOUND))
async def session_attribution(session_id: str, ctx: CtxDep, actor: ActorDep) -> AttributionOut:
    """A session's viewers, orders and GMV by domain and source (its anchor, shop, operators)."""
    return await attribution.session_attribution(ctx, actor, session_id)


@router.get(
    "/api/shops/{shop_id}/attribution",
    responses=errors(CommonError.NOT_FOUND, CommonError.INVALID_INPUT),
)
async def shop_attribution(
    shop_id: str, since: datetime, until: datetime, ctx: CtxDep, actor: ActorDep
) -> AttributionOut:
    """A shop's viewers, orders and GMV in [since, until), by domain and source."""
    since, until = _utc(since, "since"), _utc(until, "until")
    # A difference, not a sum: a date near the calendar's end must not overflow.
    if not timedelta(0) < until - since <= timedelta(days=attribution.MAX_PERIOD_DAYS):
        days = attribution.MAX_PERIOD_DAYS
        raise AppError.of(
            CommonError.INVALID_INPUT, f"until must follow since, by {days} days at most"
        )
    return await attribution.shop_attribution(ctx, actor, shop_id, since, until)


def _utc(moment: datetime, name: str) -> datetime:
    """Return a moment in UTC; one without a time zone, or past the calendar there, is a 422."""
    if moment.tzinfo is None:
        raise AppError.of(CommonError.INVALID_INPUT, f"{name} needs a time zone")
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise AppError.of(CommonError.INVALID_INPUT, f"{name} is out of range") from None


@router.get("/api/me/following")
async def my_following(ctx: CtxDep, actor: ActorDep) -> list[FollowedOut]:
    """The anchors and shops the caller follows, latest first."""
    return await follows.following(ctx, actor)


@router.get("/api/feed")
async def recommendation_feed(
    request: Request,
    ctx: CtxDep,
    actor: MaybeActorDep,
    limit: Annotated[int, Query(ge=1, le=50)] = FEED_SIZE,
) -> FeedOut:
    """The live rooms for the caller: those it follows first, then the ones ranked for it.

    Signed in or not; an anonymous visitor is known by the room's visitor cookie, if any.
    """
    return await feed_for_request(request, ctx, actor, limit)


@router.get("/api/me/following/feed")
async def my_following_feed(ctx: CtxDep, actor: ActorDep) -> list[FeedItemOut]:
    """Live and coming sessions of the anchors and shops the caller follows."""
    return await following_feed(ctx, actor)


# ---------------------------------------------------------------- fan groups


@router.put(
    "/api/fan-groups/{anchor_id}",
    responses=errors(CommonError.NOT_FOUND, TrafficError.OWN_FAN_GROUP),
)
async def join_fan_group(anchor_id: str, ctx: CtxDep, actor: ActorDep) -> FanGroupOut:
    """Join an anchor's fan group (and follow the anchor); joining again changes nothing."""
    return await fans.do_join(ctx, actor, anchor_id)


@router.delete("/api/fan-groups/{anchor_id}", responses=errors(CommonError.NOT_FOUND))
async def leave_fan_group(anchor_id: str, ctx: CtxDep, actor: ActorDep) -> FanGroupOut:
    """Leave an anchor's fan group; the intimacy earned is lost."""
    return await fans.do_leave(ctx, actor, anchor_id)


@router.get("/api/fan-groups/{anchor_id}", responses=errors(CommonError.NOT_FOUND))
async def get_fan_group(anchor_id: str, ctx: CtxDep, actor: MaybeActorDep) -> FanGroupOut:
    """A fan group's size, and the caller's level and what the next one needs."""
    await fans.check_anchor(ctx, anchor_id)
    return await fans.fan_group(ctx, actor, anchor_id)


@router.get(
    "/api/fan-groups/{anchor_id}/members",
    responses=errors(CommonError.NOT_FOUND, CommonError.FORBIDDEN),
)
async def fan_group_members(
    anchor_id: str, ctx: CtxDep, actor: ActorDep, limit: FanLimit = 50, offset: Offset = 0
) -> list[FanOut]:
    """The anchor's fans, highest level first (the anchor and operators)."""
    await fans.check_anchor(ctx, anchor_id)
    if actor.id != anchor_id and not actor.has(Role.OPERATOR):
        raise forbidden("only the anchor sees its fans")
    return await fans.fans_of(ctx, anchor_id, limit, offset)


@router.get("/api/me/fan-groups")
async def my_fan_groups(ctx: CtxDep, actor: ActorDep) -> list[FanGroupOut]:
    """The fan groups the caller belongs to, with its level in each."""
    return await fans.memberships(ctx, actor)


# ---------------------------------------------------------------- fan prices


@router.put(
    "/api/live/sessions/{session_id}/fan-prices/{sku_id}",
    responses=errors(
        CommonError.NOT_FOUND,
        LiveError.PRODUCT_NOT_IN_SHOP,
        LiveError.PRODUCT_NOT_IN_CART,
        TrafficError.FAN_PRICE_NOT_BELOW_REGULAR,
    ),
)
async def set_fan_price(
    session_id: str, sku_id: str, body: FanPriceIn, ctx: CtxDep, actor: ActorDep
) -> FanPriceOut:
    """Set a cart SKU's price for the anchor's fans in this session."""
    return await fan_prices.do_set(ctx, actor, session_id, sku_id, body)


@router.delete(
    "/api/live/sessions/{session_id}/fan-prices/{sku_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=errors(CommonError.NOT_FOUND),
)
async def clear_fan_price(session_id: str, sku_id: str, ctx: CtxDep, actor: ActorDep) -> Response:
    """Take a SKU's fan price away."""
    await fan_prices.do_clear(ctx, actor, session_id, sku_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/api/live/sessions/{session_id}/fan-prices", responses=errors(CommonError.NOT_FOUND))
async def list_fan_prices(session_id: str, ctx: CtxDep) -> list[FanPriceOut]:
    """A session's fan prices."""
    return await fan_prices.prices_of(ctx, session_id)


# ---------------------------------------------------------------- fan coupons


@router.post(
    "/api/coupons",
    status_code=status.HTTP_201_CREATED,
    responses=errors(CommonError.NOT_FOUND, CommonError.FORBIDDEN, OrderError.COUPON_EXPIRED),
)
async def issue_coupons(body: CouponIn, ctx: CtxDep, actor: ActorDep) -> CouponOut:
    """Issue coupons to an anchor's fans: the anchor for its shop, or an operator."""
    return await coupons.do_issue(ctx, actor, body)


@router.get("/api/anchors/{anchor_id}/coupons", responses=errors(CommonError.NOT_FOUND))
async def anchor_coupons(
    anchor_id: str, ctx: CtxDep, actor: MaybeActorDep, include_past: bool = False
) -> list[CouponOut]:
    """An anchor's coupons for its fans (past ones too for the anchor, if asked)."""
    await fans.check_anchor(ctx, anchor_id)
    everything = include_past and actor is not None and actor.id == anchor_id
    return await coupons.coupons_of_anchor(ctx, anchor_id, current_only=not everything)


@router.post(
    "/api/coupons/{coupon_id}/claim",
    responses=errors(
        CommonError.NOT_FOUND,
        TrafficError.NOT_A_FAN,
        TrafficError.FAN_LEVEL_TOO_LOW,
        OrderError.COUPON_EXPIRED,
        OrderError.COUPONS_GONE,
    ),
)
async def claim_coupon(coupon_id: str, ctx: CtxDep, actor: ActorDep) -> ClaimOut:
    """Claim a coupon as a fan of its level; claiming again returns the same claim."""
    coupon = await coupons.get_coupon(ctx, coupon_id)
    await levels.check_fan(ctx, coupon.anchor_id, actor.id, coupon.min_fan_level)
    return await coupons.do_claim(ctx, actor, coupon_id)


@router.get("/api/me/coupons")
async def my_coupons(ctx: CtxDep, actor: ActorDep) -> list[ClaimOut]:
    """The caller's coupons, redeemed ones too."""
    return await coupons.claims_of(ctx, actor)


@router.post(
    "/api/live/sessions/{session_id}/rsvp",
    responses=errors(CommonError.NOT_FOUND, LiveError.INVALID_STATE),
)
async def rsvp(session_id: str, ctx: CtxDep, actor: ActorDep) -> RsvpOut:
    """Be told when a coming show goes live (asking again changes nothing)."""
    return await inbox.do_rsvp(ctx, actor, session_id)


@router.delete("/api/live/sessions/{session_id}/rsvp", responses=errors(CommonError.NOT_FOUND))
async def cancel_rsvp(session_id: str, ctx: CtxDep, actor: ActorDep) -> RsvpOut:
    """Take an RSVP back."""
    return await inbox.do_cancel_rsvp(ctx, actor, session_id)


@router.get("/api/live/sessions/{session_id}/rsvp", responses=errors(CommonError.NOT_FOUND))
async def rsvp_state(session_id: str, ctx: CtxDep, actor: MaybeActorDep) -> RsvpOut:
    """A session's RSVPs, and whether the caller gave one."""
    session = await sessions.load_session(ctx, session_id)
    return await inbox.rsvp_state(ctx, actor, session.id)


@router.put("/api/anchors/{anchor_id}/mute", responses=errors(CommonError.NOT_FOUND))
async def mute(anchor_id: str, ctx: CtxDep, actor: ActorDep) -> MuteOut:
    """Hear nothing of an anchor's shows going live (muting again changes nothing)."""
    return await inbox.do_mute(ctx, actor, anchor_id)


@router.delete("/api/anchors/{anchor_id}/mute", responses=errors(CommonError.NOT_FOUND))
async def unmute(anchor_id: str, ctx: CtxDep, actor: ActorDep) -> MuteOut:
    """Hear an anchor's shows going live again."""
    return await inbox.do_unmute(ctx, actor, anchor_id)


@router.get("/api/anchors/{anchor_id}/mute", responses=errors(CommonError.NOT_FOUND))
async def mute_state(anchor_id: str, ctx: CtxDep, actor: ActorDep) -> MuteOut:
    """Whether the caller muted an anchor."""
    await follows.check_target(ctx, Target.ANCHOR, anchor_id)
    return await inbox.mute_state(ctx, actor, anchor_id)


@router.get("/api/me/inbox")
async def my_inbox(ctx: CtxDep, actor: ActorDep) -> InboxOut:
    """The caller's newest notifications, each with its link, and how many are unread."""
    return await inbox.inbox_of(ctx, actor)


@router.post("/api/me/inbox/read")
async def read_all(ctx: CtxDep, actor: ActorDep) -> InboxOut:
    """Mark every notification of the caller read."""
    return await inbox.do_mark_read(ctx, actor, None)


@router.post("/api/me/inbox/{session_id}/read")
async def read_one(session_id: str, ctx: CtxDep, actor: ActorDep) -> InboxOut:
    """Mark one notification read: the one about this session."""
    return await inbox.do_mark_read(ctx, actor, session_id)


@router.post("/api/me/tickets", status_code=201)
async def my_ticket(ctx: CtxDep, actor: ActorDep) -> TicketOut:
    """A ticket into the caller's own WebSocket (`/ws/me?ticket=`), good for a minute."""
    ticket, expires_at = issue_ticket(ctx.settings, ctx.now(), actor.id, TICKET_SCOPE)
    return TicketOut(ticket=ticket, expires_at=expires_at)


# ---------------------------------------------------------------- bought reach


@router.post(
    "/api/live/sessions/{session_id}/promotions",
    status_code=status.HTTP_201_CREATED,
    responses=errors(
        CommonError.NOT_FOUND,
        LiveError.INVALID_STATE,
        TrafficError.PUBLIC_TRAFFIC_BARRED,
        TrafficError.ALREADY_PROMOTED,
        OrderError.BALANCE_TOO_LOW,
    ),
)
async def buy_promotion(
    session_id: str, body: PromotionIn, ctx: CtxDep, actor: ActorDep
) -> PromotionOut:
    """Buy reach for a coming or live show of the caller's shop; its budget is held at once."""
    return await promotions.do_buy(ctx, actor, session_id, body)


@router.post("/api/promotions/{promotion_id}/stop", responses=errors(CommonError.NOT_FOUND))
async def stop_promotion(promotion_id: str, ctx: CtxDep, actor: ActorDep) -> PromotionOut:
    """Stop a running promotion: what it bought is charged, the rest of its budget comes back."""
    return await promotions.do_stop(ctx, actor, promotion_id)


@router.get("/api/shops/{shop_id}/promotions", responses=errors(CommonError.NOT_FOUND))
async def shop_promotions(
    shop_id: str,
    ctx: CtxDep,
    actor: ActorDep,
    limit: Annotated[int, Query(ge=1, le=promotion_report.REPORT_SIZE)] = (
        promotion_report.REPORT_SIZE
    ),
) -> list[PromotionReportOut]:
    """A shop's promotions, newest first, each with what it bought and cost, against what
    the session's followers brought for nothing (the owner, operators)."""
    return await promotion_report.shop_report(ctx, actor, shop_id, limit)
