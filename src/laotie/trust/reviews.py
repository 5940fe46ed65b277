"""Reviews: a delivered order's buyer reviews each line once and follows up once; the shop replies.

A review scores three things apart (the product, the logistics, the service), because
the shop's score weighs them apart (DESIGN.md, Trust). It may be written from delivery
for `REVIEW_DAYS`, and its one follow-up added within the same window; the shop answers
each review once, in public. A review never names its buyer to anyone else.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from laotie.accounts.permissions import Actor, Role, require_role
from laotie.catalog import service as catalog
from laotie.core.context import Ctx
from laotie.core.errors import AppError, forbidden, not_found
from laotie.core.ids import new_id
from laotie.orders.queries import access_buyer_order, access_order, lines_of
from laotie.orders.schemas import OrderStatus
from laotie.trust.errors import TrustError
from laotie.trust.models import Review
from laotie.trust.schemas import FollowUpIn, ReplyIn, ReviewIn, ReviewOut

# From delivery, how long the buyer may review a line and add its follow-up.
REVIEW_DAYS = 180
MAX_PAGE = 100
_REVIEWABLE = (OrderStatus.DELIVERED, OrderStatus.COMPLETED)


def review_out(review: Review) -> ReviewOut:
    """Return the public form of a review."""
    return ReviewOut.model_validate(review)


async def do_review(ctx: Ctx, actor: Actor, order_id: str, data: ReviewIn) -> ReviewOut:
    """Review one line of the actor's delivered order; a line is reviewed once."""
    order = await access_buyer_order(ctx, actor, order_id)
    if order.status not in _REVIEWABLE or order.delivered_at is None:
        raise AppError.of(TrustError.NOT_DELIVERED, "an order is reviewed once it is delivered")
    _check_window(ctx, order.delivered_at)
    line = next(
        (ln for ln in (await lines_of(ctx, [order.id]))[order.id] if ln.id == data.line_id), None
    )
    if line is None:
        raise not_found("order line")
    if line.refunded_quantity >= line.quantity:
        raise AppError.of(TrustError.LINE_REFUNDED, "a line refunded in full is not reviewed")
    if await ctx.db.scalar(select(Review.id).where(Review.order_line_id == line.id)):
        raise _already_reviewed()
    review = Review(
        id=new_id("rev"),
        order_line_id=line.id,
        order_id=order.id,
        buyer_id=actor.id,
        shop_id=order.shop_id,
        product_id=line.product_id,
        sku_id=line.sku_id,
        order_value_minor=order.total_minor,
        product_stars=data.product_stars,
        logistics_stars=data.logistics_stars,
        service_stars=data.service_stars,
        text=data.text,
        images=[str(url) for url in data.images],
        delivered_at=order.delivered_at,
        created_at=ctx.now(),
    )
    ctx.db.add(review)
    try:
        await ctx.db.flush()
    except IntegrityError as exc:  # the same line reviewed by a request racing this one
        raise _already_reviewed() from exc
    return review_out(review)


async def do_follow_up(ctx: Ctx, actor: Actor, review_id: str, data: FollowUpIn) -> ReviewOut:
    """Add the one follow-up to the actor's own review, within the review window."""
    review = await _load(ctx, review_id)
    if review.buyer_id != actor.id:
        raise not_found("review")
    if review.follow_up_at is not None:
        raise AppError.of(TrustError.FOLLOW_UP_GIVEN, "a review has one follow-up")
    _check_window(ctx, review.delivered_at)
    review.follow_up_text = data.text
    review.follow_up_images = [str(url) for url in data.images]
    review.follow_up_at = ctx.now()
    return review_out(review)


async def do_reply(ctx: Ctx, actor: Actor, review_id: str, data: ReplyIn) -> ReviewOut:
    """Answer a review of the actor's shop, once and in public."""
    require_role(actor, Role.SELLER)
    review = await _load(ctx, review_id)
    if await catalog.shop_owner_id(ctx, review.shop_id) != actor.id:
        raise forbidden("only the shop's owner answers its reviews")
    if review.replied_at is not None:
        raise AppError.of(TrustError.REPLY_GIVEN, "a review has one answer from the shop")
    review.reply_text = data.text
    review.replied_at = ctx.now()
    return review_out(review)


async def shop_reviews(ctx: Ctx, shop_id: str, limit: int = 20, offset: int = 0) -> list[ReviewOut]:
    """Return a shop's reviews, newest first."""
    await catalog.get_shop(ctx, shop_id)  # an unknown shop is a 404, not an empty list
    query = select(Review).where(Review.shop_id == shop_id)
    return await _page(ctx, query, limit, offset)


async def product_reviews(
    ctx: Ctx, product_id: str, limit: int = 20, offset: int = 0
) -> list[ReviewOut]:
    """Return a product's reviews, newest first."""
    query = select(Review).where(Review.product_id == product_id)
    return await _page(ctx, query, limit, offset)


async def order_reviews(ctx: Ctx, actor: Actor, order_id: str) -> list[ReviewOut]:
    """Return the reviews of an order its buyer, its shop's owner or an operator may see."""
    order = await access_order(ctx, actor, order_id)
    rows = await ctx.db.scalars(
        select(Review).where(Review.order_id == order.id).order_by(Review.created_at, Review.id)
    )
    return [review_out(review) for review in rows]


async def _page(ctx: Ctx, query: Any, limit: int, offset: int) -> list[ReviewOut]:
    ordered = query.order_by(Review.created_at.desc(), Review.id.desc())
    bounded = ordered.limit(min(max(limit, 1), MAX_PAGE)).offset(max(offset, 0))
    return [review_out(review) for review in await ctx.db.scalars(bounded)]


async def _load(ctx: Ctx, review_id: str) -> Review:
    review = await ctx.db.get(Review, review_id, with_for_update=True)
    if review is None:
        raise not_found("review")
    return review


def _check_window(ctx: Ctx, delivered_at: datetime) -> None:
    if ctx.now() > delivered_at + timedelta(days=REVIEW_DAYS):
        raise AppError.of(
            TrustError.REVIEW_WINDOW_CLOSED, f"reviews close {REVIEW_DAYS} days after delivery"
        )


def _already_reviewed() -> AppError:
    return AppError.of(TrustError.ALREADY_REVIEWED, "this line is reviewed already")
