"""HTTP routes of trust: reviews."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from laotie.accounts.deps import ActorDep
from laotie.core.deps import CtxDep, Offset
from laotie.core.errors import CommonError
from laotie.core.openapi import errors
from laotie.trust import reviews
from laotie.trust import service as trust
from laotie.trust.errors import TrustError
from laotie.trust.schemas import (
    FollowUpIn,
    ReplyIn,
    ReviewIn,
    ReviewOut,
    ScoreDayOut,
    ShopTrustOut,
    VerifiedSalesOut,
)

router = APIRouter(tags=["trust"])

Limit = Annotated[int, Query(ge=1, le=reviews.MAX_PAGE)]


@router.post(
    "/api/orders/{order_id}/reviews",
    status_code=status.HTTP_201_CREATED,
    responses=errors(
        CommonError.NOT_FOUND,
        TrustError.NOT_DELIVERED,
        TrustError.LINE_REFUNDED,
        TrustError.ALREADY_REVIEWED,
        TrustError.REVIEW_WINDOW_CLOSED,
    ),
)
async def review_order_line(
    order_id: str, body: ReviewIn, ctx: CtxDep, actor: ActorDep
) -> ReviewOut:
    """Review one line of the caller's delivered order: stars for product, logistics, service."""
    return await reviews.do_review(ctx, actor, order_id, body)


@router.get("/api/orders/{order_id}/reviews", responses=errors(CommonError.NOT_FOUND))
async def list_order_reviews(order_id: str, ctx: CtxDep, actor: ActorDep) -> list[ReviewOut]:
    """The reviews of an order (its buyer, its shop's owner, an operator)."""
    return await reviews.order_reviews(ctx, actor, order_id)


@router.post(
    "/api/reviews/{review_id}/follow-up",
    responses=errors(
        CommonError.NOT_FOUND, TrustError.FOLLOW_UP_GIVEN, TrustError.REVIEW_WINDOW_CLOSED
    ),
)
async def follow_up_review(
    review_id: str, body: FollowUpIn, ctx: CtxDep, actor: ActorDep
) -> ReviewOut:
    """Add the one follow-up to the caller's review, within 180 days of delivery."""
    return await reviews.do_follow_up(ctx, actor, review_id, body)


@router.post(
    "/api/reviews/{review_id}/reply",
    responses=errors(CommonError.NOT_FOUND, CommonError.FORBIDDEN, TrustError.REPLY_GIVEN),
)
async def reply_to_review(review_id: str, body: ReplyIn, ctx: CtxDep, actor: ActorDep) -> ReviewOut:
    """Answer a review of the caller's shop, once and in public."""
    return await reviews.do_reply(ctx, actor, review_id, body)


@router.get("/api/shops/{shop_id}/reviews", responses=errors(CommonError.NOT_FOUND))
async def list_shop_reviews(
    shop_id: str, ctx: CtxDep, limit: Limit = 20, offset: Offset = 0
) -> list[ReviewOut]:
    """A shop's reviews, newest first."""
    return await reviews.shop_reviews(ctx, shop_id, limit, offset)


@router.get("/api/products/{product_id}/reviews")
async def list_product_reviews(
    product_id: str, ctx: CtxDep, limit: Limit = 20, offset: Offset = 0
) -> list[ReviewOut]:
    """A product's reviews, newest first."""
    return await reviews.product_reviews(ctx, product_id, limit, offset)


@router.get("/api/shops/{shop_id}/trust", responses=errors(CommonError.NOT_FOUND))
async def shop_trust(shop_id: str, ctx: CtxDep) -> ShopTrustOut:
    """A shop's experience score now, its tier, and every input needed to recompute it."""
    return await trust.shop_trust(ctx, shop_id)


@router.get("/api/shops/{shop_id}/trust/history", responses=errors(CommonError.NOT_FOUND))
async def shop_trust_history(
    shop_id: str, ctx: CtxDep, days: Annotated[int, Query(ge=1, le=365)] = 90
) -> list[ScoreDayOut]:
    """A shop's score day by day, as the daily job kept it, oldest first."""
    return await trust.score_history(ctx, shop_id, days)


@router.get("/api/products/{product_id}/verified-sales", responses=errors(CommonError.NOT_FOUND))
async def product_verified_sales(product_id: str, ctx: CtxDep) -> VerifiedSalesOut:
    """Units of a product delivered, past the return window and not refunded, by SKU."""
    return await trust.product_verified_sales(ctx, product_id)
