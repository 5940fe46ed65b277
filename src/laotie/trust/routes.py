"""HTTP routes of trust: reviews, scores, and the rules (reports, penalties, appeals, audit)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, status

from laotie.accounts.deps import ActorDep
from laotie.core.deps import CtxDep, Offset
from laotie.core.errors import CommonError
from laotie.core.openapi import errors
from laotie.trust import appeals, flags, penalties, reports, reviews
from laotie.trust import service as trust
from laotie.trust.audit import audit_trail
from laotie.trust.errors import TrustError
from laotie.trust.schemas import (
    AppealDecisionIn,
    AppealIn,
    AppealOut,
    AuditOut,
    FlagDecisionIn,
    FlagOut,
    FollowUpIn,
    PenaltiesOut,
    ReplyIn,
    ReportDecisionIn,
    ReportIn,
    ReportOut,
    ReviewIn,
    ReviewOut,
    ScoreDayOut,
    ShopTrustOut,
    VerifiedSalesOut,
)

router = APIRouter(tags=["trust"])

Limit = Annotated[int, Query(ge=1, le=reviews.MAX_PAGE)]
ReportStatus = Annotated[Literal["open", "confirmed", "dismissed"], Query()]
AppealStatus = Annotated[Literal["open", "granted", "rejected"], Query()]
FlagStatus = Annotated[Literal["open", "confirmed", "dismissed"], Query()]
ShopFilter = Annotated[str | None, Query(max_length=32)]


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


@router.post(
    "/api/orders/{order_id}/reports",
    status_code=status.HTTP_201_CREATED,
    responses=errors(CommonError.NOT_FOUND, TrustError.ALREADY_REPORTED),
)
async def report_order(order_id: str, body: ReportIn, ctx: CtxDep, actor: ActorDep) -> ReportOut:
    """Report the shop of one of your orders for a broken rule; an operator decides."""
    return await reports.report_order(ctx, actor, order_id, body)


@router.get("/api/operator/reports", responses=errors(CommonError.FORBIDDEN))
async def report_queue(
    ctx: CtxDep,
    actor: ActorDep,
    status: ReportStatus = "open",
    limit: Limit = 50,
    offset: Offset = 0,
) -> list[ReportOut]:
    """The operators' queue of reports, oldest first."""
    return await reports.report_queue(ctx, actor, status, limit, offset)


@router.post(
    "/api/operator/reports/{report_id}/decision",
    responses=errors(CommonError.NOT_FOUND, CommonError.FORBIDDEN, TrustError.REPORT_DECIDED),
)
async def decide_report(
    report_id: str, body: ReportDecisionIn, ctx: CtxDep, actor: ActorDep
) -> ReportOut:
    """Confirm a report (a violation with its penalty points) or dismiss it."""
    return await reports.decide_report(ctx, actor, report_id, body)


@router.get("/api/shops/{shop_id}/penalties", responses=errors(CommonError.NOT_FOUND))
async def shop_penalties(shop_id: str, ctx: CtxDep, actor: ActorDep) -> PenaltiesOut:
    """Your shop's penalty points, the step they put it on, and its violations with appeals."""
    return await penalties.shop_penalties(ctx, actor, shop_id)


@router.post(
    "/api/violations/{violation_id}/appeal",
    status_code=status.HTTP_201_CREATED,
    responses=errors(
        CommonError.NOT_FOUND, TrustError.ALREADY_APPEALED, TrustError.APPEAL_WINDOW_CLOSED
    ),
)
async def appeal_violation(
    violation_id: str, body: AppealIn, ctx: CtxDep, actor: ActorDep
) -> AppealOut:
    """Appeal a violation of your shop, once, within 15 days of it."""
    return await appeals.file_appeal(ctx, actor, violation_id, body)


@router.get("/api/operator/appeals", responses=errors(CommonError.FORBIDDEN))
async def appeal_queue(
    ctx: CtxDep,
    actor: ActorDep,
    status: AppealStatus = "open",
    limit: Limit = 50,
    offset: Offset = 0,
) -> list[AppealOut]:
    """The operators' queue of appeals, oldest first."""
    return await appeals.appeal_queue(ctx, actor, status, limit, offset)


@router.post(
    "/api/operator/appeals/{appeal_id}/decision",
    responses=errors(CommonError.NOT_FOUND, CommonError.FORBIDDEN, TrustError.APPEAL_DECIDED),
)
async def decide_appeal(
    appeal_id: str, body: AppealDecisionIn, ctx: CtxDep, actor: ActorDep
) -> AppealOut:
    """Grant an appeal (the violation's points stop counting) or reject it."""
    return await appeals.decide_appeal(ctx, actor, appeal_id, body)


@router.get("/api/operator/brushing-flags", responses=errors(CommonError.FORBIDDEN))
async def flag_queue(
    ctx: CtxDep,
    actor: ActorDep,
    status: FlagStatus = "open",
    limit: Limit = 50,
    offset: Offset = 0,
) -> list[FlagOut]:
    """The operators' queue of brushing flags, oldest first, with their evidence and orders."""
    return await flags.flag_queue(ctx, actor, status, limit, offset)


@router.post(
    "/api/operator/brushing-flags/{flag_id}/decision",
    responses=errors(CommonError.NOT_FOUND, CommonError.FORBIDDEN, TrustError.FLAG_DECIDED),
)
async def decide_flag(flag_id: str, body: FlagDecisionIn, ctx: CtxDep, actor: ActorDep) -> FlagOut:
    """Confirm a flag (its orders stop counting, the shop gets points) or dismiss it."""
    return await flags.decide_flag(ctx, actor, flag_id, body)


@router.get("/api/operator/trust-audit", responses=errors(CommonError.FORBIDDEN))
async def trust_audit(
    ctx: CtxDep,
    actor: ActorDep,
    shop_id: ShopFilter = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> list[AuditOut]:
    """Every decision of the rules, newest first, of one shop or of all."""
    return await audit_trail(ctx, actor, shop_id, limit, offset)
