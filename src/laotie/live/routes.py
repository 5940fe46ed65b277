"""HTTP API of live sessions: scheduling, going live, the room's cart and the pin."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, status

from laotie.accounts.deps import SIGNED_IN, ActorDep, signed_in_without_transaction
from laotie.affiliate.errors import AffiliateError
from laotie.core.context import unit_of_work_for
from laotie.core.deps import CtxDep, IdempotencyKeyDep, Offset
from laotie.core.errors import AppError, CommonError, IdempotencyError
from laotie.core.fingerprint import client_print
from laotie.core.openapi import errors
from laotie.live.errors import LiveError
from laotie.live.room import chat
from laotie.live.room.tickets import issue_ticket
from laotie.live.runtime import LiveRuntime
from laotie.live.sale import buying
from laotie.live.sale import service as sales
from laotie.live.sale.jobs import end_sale, open_sale
from laotie.live.schemas import (
    CartIn,
    ChatLineOut,
    FlashSaleIn,
    FlashSaleNowOut,
    FlashSaleOut,
    MinuteOut,
    ModerationIn,
    PinIn,
    RoomOrderIn,
    SessionIn,
    SessionOut,
    SessionReviewOut,
    SessionStatus,
    TicketIn,
    TicketOut,
)
from laotie.live.session import minutes, reputation, review, service
from laotie.orders.errors import COUPON_ERRORS, OrderError
from laotie.orders.schemas import CheckoutOut
from laotie.traffic.errors import TrafficError
from laotie.trust import reports
from laotie.trust.errors import TrustError
from laotie.trust.schemas import AnchorTrustOut, ReportIn, ReportOut, ScoreDayOut

router = APIRouter(prefix="/api/live", tags=["live"])


@router.post(
    "/sessions",
    status_code=status.HTTP_201_CREATED,
    responses=errors(
        CommonError.NOT_FOUND,
        CommonError.FORBIDDEN,
        LiveError.NOT_YOUR_SHOP,
        LiveError.PRODUCT_NOT_IN_SHOP,
        AffiliateError.NOT_APPROVED,
        LiveError.CART_FULL,
    ),
)
async def schedule_session(body: SessionIn, ctx: CtxDep, actor: ActorDep) -> SessionOut:
    """Schedule a show for your shop, with its planned products (an anchor without a shop
    leaves `shop_id` out and plans pool products it is approved to sell)."""
    return await service.do_schedule(
        ctx, actor, body.shop_id, body.title, body.cover_url, body.scheduled_at, body.product_ids
    )


@router.get("/sessions")
async def list_sessions(
    ctx: CtxDep,
    session_status: Annotated[SessionStatus | None, Query(alias="status")] = None,
    shop_id: Annotated[str | None, Query(max_length=32)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Offset = 0,
) -> list[SessionOut]:
    """Sessions, newest first; filter by status or shop."""
    return await service.sessions(ctx, session_status, shop_id, limit, offset)


@router.get("/sessions/{session_id}", responses=errors(CommonError.NOT_FOUND))
async def get_session(session_id: str, ctx: CtxDep) -> SessionOut:
    """One session with its cart and pin."""
    return await service.session_out(ctx, await service.load_session(ctx, session_id))


@router.get(
    "/sessions/{session_id}/minutes", responses=errors(CommonError.NOT_FOUND, CommonError.FORBIDDEN)
)
async def get_minutes(session_id: str, ctx: CtxDep, actor: ActorDep) -> list[MinuteOut]:
    """The session's per-minute counters, for its anchor (or an operator) to review."""
    session = await service.access_for_review(ctx, actor, session_id)
    return [
        MinuteOut(
            minute=row.minute,
            viewers=row.viewers,
            entries=row.entries,
            chats=row.chats,
            likes=row.likes,
            orders=row.orders,
            gmv_minor=row.gmv_minor,
        )
        for row in await minutes.minutes_of(ctx, session.id)
    ]


@router.get(
    "/sessions/{session_id}/review", responses=errors(CommonError.NOT_FOUND, CommonError.FORBIDDEN)
)
async def get_review(session_id: str, ctx: CtxDep, actor: ActorDep) -> SessionReviewOut:
    """What happened in the session: audience, chat, orders, pins and flash sales."""
    session = await service.access_for_review(ctx, actor, session_id)
    return await review.review_of(ctx, session)


@router.get(
    "/sessions/{session_id}/chat", responses=errors(CommonError.NOT_FOUND, CommonError.FORBIDDEN)
)
async def get_chat_log(
    session_id: str,
    ctx: CtxDep,
    actor: ActorDep,
    after: Annotated[str | None, Query(max_length=32, description="a chat line's id")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[ChatLineOut]:
    """The session's saved chat in the order it was said, deleted lines included."""
    session = await service.access_for_review(ctx, actor, session_id)
    return await review.chat_log(ctx, session.id, after, limit)


@router.post(
    "/sessions/{session_id}/start",
    responses=errors(
        CommonError.NOT_FOUND,
        CommonError.FORBIDDEN,
        LiveError.ALREADY_LIVE,
        LiveError.INVALID_STATE,
    ),
)
async def start_session(
    session_id: str, request: Request, ctx: CtxDep, actor: ActorDep
) -> SessionOut:
    """Go live; the followers' and RSVPs' notifications go out apart from this request."""
    out = await service.do_go_live(ctx, actor, session_id, request.app.state.tasks.kick_apart)
    return out


@router.post(
    "/sessions/{session_id}/end",
    responses=errors(CommonError.NOT_FOUND, CommonError.FORBIDDEN, LiveError.INVALID_STATE),
)
async def end_session(
    session_id: str, request: Request, ctx: CtxDep, actor: ActorDep
) -> SessionOut:
    """End the show; a flash sale still running ends with it, its units back on hand."""
    out = await service.do_end(ctx, actor, session_id)
    running = await sales.running_sale_of_session(ctx, session_id)
    if running is not None:
        sale_id, state = running.id, request.app.state

        async def end_with_the_show() -> None:
            await end_sale(state, sale_id)

        ctx.publish_on_commit(end_with_the_show)
    return out


@router.put(
    "/sessions/{session_id}/cart",
    responses=errors(
        CommonError.NOT_FOUND,
        CommonError.FORBIDDEN,
        LiveError.INVALID_STATE,
        LiveError.PRODUCT_NOT_IN_SHOP,
        AffiliateError.NOT_APPROVED,
        LiveError.CART_FULL,
    ),
)
async def set_cart(
    session_id: str, body: CartIn, request: Request, ctx: CtxDep, actor: ActorDep
) -> SessionOut:
    """Set the room's cart: its products in the order viewers see them."""
    out = await service.do_set_cart(ctx, actor, session_id, body.product_ids)
    return out


@router.put(
    "/sessions/{session_id}/pin",
    responses=errors(
        CommonError.NOT_FOUND,
        CommonError.FORBIDDEN,
        LiveError.INVALID_STATE,
        LiveError.PRODUCT_NOT_IN_CART,
    ),
)
async def set_pin(
    session_id: str, body: PinIn, request: Request, ctx: CtxDep, actor: ActorDep
) -> SessionOut:
    """Pin the product being explained, or unpin with null."""
    out = await service.do_pin(ctx, actor, session_id, body.product_id)
    return out


@router.post(
    "/sessions/{session_id}/flash-sales",
    status_code=status.HTTP_201_CREATED,
    responses=errors(
        CommonError.NOT_FOUND,
        CommonError.FORBIDDEN,
        LiveError.NOT_LIVE,
        LiveError.PRODUCT_NOT_IN_CART,
        LiveError.SALE_RUNNING,
        LiveError.PRICE_NOT_BELOW_WAS,
        LiveError.INSUFFICIENT_STOCK,
        LiveError.FLASH_SALES_NOT_ALLOWED,
        AffiliateError.NOT_APPROVED,
        OrderError.SKU_NOT_FOUND,
    ),
)
async def start_flash_sale(
    session_id: str, body: FlashSaleIn, request: Request, ctx: CtxDep, actor: ActorDep
) -> FlashSaleOut:
    """Start a flash sale of a cart product's SKU: price below its 30-day low, limited units."""
    sale = await sales.do_start_sale(
        ctx,
        actor,
        session_id,
        body.sku_id,
        body.price_minor,
        body.quantity,
        body.per_buyer_limit,
        body.duration_s,
    )
    runtime: LiveRuntime = request.app.state.live

    async def open_gate() -> None:
        await open_sale(runtime, sale)

    ctx.publish_on_commit(open_gate)
    return FlashSaleOut(**{k: getattr(sale, k) for k in FlashSaleOut.model_fields})


@router.get("/flash-sales/{sale_id}", responses=errors(CommonError.NOT_FOUND))
async def get_flash_sale(sale_id: str, request: Request) -> FlashSaleNowOut:
    """A flash sale's terms and its units left, from the gate; cheap to poll while it runs."""
    state = request.app.state
    runtime: LiveRuntime = state.live
    # A running sale this process has seen lately answers without the database.
    sale = runtime.sales.find(sale_id)
    running = sale is not None
    if sale is None:
        async with unit_of_work_for(state) as ctx:
            sale, running = await sales.sale_info(ctx, sale_id)
        if running:
            runtime.sales.put(sale.session_id, sale.sku_id, sale)
    count = await runtime.gate.count(sale_id) if running else None
    terms = {name: getattr(sale, name) for name in FlashSaleOut.model_fields}
    return FlashSaleNowOut(
        **terms,
        status="running" if count is not None else "ended",
        left=count.left if count is not None else 0,
        version=count.version if count is not None else 0,
    )


@router.post(
    "/flash-sales/{sale_id}/end",
    responses=errors(
        *SIGNED_IN, CommonError.NOT_FOUND, CommonError.FORBIDDEN, LiveError.SALE_NOT_RUNNING
    ),
)
async def end_flash_sale(sale_id: str, request: Request) -> dict[str, int]:
    """End a flash sale now; what it still holds goes back on hand."""
    # No request transaction here: ending opens its own, then closes the gate after commit.
    actor = await signed_in_without_transaction(request)
    returned = await end_sale(request.app.state, sale_id, actor)
    return {"returned_units": returned}


@router.post(
    "/sessions/{session_id}/orders",
    status_code=status.HTTP_201_CREATED,
    responses=errors(
        *SIGNED_IN,
        CommonError.NOT_FOUND,
        LiveError.NOT_LIVE,
        LiveError.PRODUCT_NOT_IN_SHOP,
        LiveError.PRODUCT_NOT_IN_CART,
        AffiliateError.NOT_APPROVED,
        LiveError.VISIT_NOT_YOURS,
        OrderError.ADDRESS_REQUIRED,
        OrderError.ADDRESS_NOT_FOUND,
        OrderError.NOT_DELIVERED_THERE,
        LiveError.SOLD_OUT,
        LiveError.PER_BUYER_LIMIT,
        LiveError.SALE_CLOSED,
        IdempotencyError.RELEASED,
        IdempotencyError.REUSED,
        IdempotencyError.IN_FLIGHT,
        OrderError.SKU_NOT_FOUND,
        OrderError.NOT_ON_SALE,
        OrderError.SHOP_SUSPENDED,
        OrderError.OUT_OF_STOCK,
        OrderError.QUANTITY_INVALID,
        LiveError.SALE_PRICE_ONLY,
        TrafficError.NO_FAN_PRICE,
        TrafficError.NOT_A_FAN,
        TrafficError.FAN_LEVEL_TOO_LOW,
        *COUPON_ERRORS,
    ),
)
async def buy_in_room(
    session_id: str,
    body: RoomOrderIn,
    request: Request,
    key: IdempotencyKeyDep,
) -> CheckoutOut:
    """Buy in the room: one order carrying the session and the visit; a flash sale's gate first."""
    actor = await signed_in_without_transaction(request)
    checkout = await buying.buy_in_room(
        request.app.state,
        actor,
        session_id,
        body.sku_id,
        body.quantity,
        body.visit_id,
        key,
        body.address_id,
        client_print(request),
        fan_price=body.fan_price,
        coupon_claim_id=body.coupon_claim_id,
    )
    return CheckoutOut(orders=checkout.orders, replayed=checkout.replayed)


@router.get("/anchors/{anchor_id}/reputation", responses=errors(CommonError.NOT_FOUND))
async def anchor_reputation(anchor_id: str, ctx: CtxDep) -> AnchorTrustOut:
    """An anchor's reputation now: the shop formula over the orders placed in its sessions."""
    return await reputation.anchor_reputation(ctx, anchor_id)


@router.get("/anchors/{anchor_id}/reputation/history", responses=errors(CommonError.NOT_FOUND))
async def anchor_reputation_history(
    anchor_id: str, ctx: CtxDep, days: Annotated[int, Query(ge=1, le=365)] = 90
) -> list[ScoreDayOut]:
    """An anchor's reputation day by day, as the daily job kept it, oldest first."""
    return await reputation.reputation_history(ctx, anchor_id, days)


@router.post(
    "/sessions/{session_id}/reports",
    status_code=status.HTTP_201_CREATED,
    responses=errors(
        CommonError.NOT_FOUND, TrustError.ALREADY_REPORTED, LiveError.SHOW_WITHOUT_SHOP
    ),
)
async def report_room(session_id: str, body: ReportIn, ctx: CtxDep, actor: ActorDep) -> ReportOut:
    """Report the shop of a live room for a broken rule; an operator decides."""
    session = await service.load_session(ctx, session_id)
    return await reports.file_report(
        ctx, actor, service.shop_of_show(session), body, session_id=session.id
    )


@router.post(
    "/sessions/{session_id}/moderation",
    responses=errors(CommonError.NOT_FOUND, CommonError.FORBIDDEN, LiveError.BAD_FRAME),
)
async def moderate(
    session_id: str, body: ModerationIn, request: Request, ctx: CtxDep, actor: ActorDep
) -> dict[str, str]:
    """Delete a chat line, mute a viewer for some minutes, ban a viewer from your rooms or unban."""
    session = await service.access_moderated_session(ctx, actor, session_id)
    if body.action == "delete":
        if body.message_id is None:
            raise AppError.of(LiveError.BAD_FRAME, "delete needs a message_id")
        await chat.do_delete_message(ctx, session, body.message_id)
    else:
        if body.user_id is None:
            raise AppError.of(LiveError.BAD_FRAME, f"{body.action} needs a user_id")
        if body.action == "unban":
            await chat.do_lift_ban(ctx, session, body.user_id)
            return {"result": body.action}
        minutes = body.minutes or (10 if body.action == "mute" else None)
        await chat.do_penalise(ctx, session, body.user_id, body.action, minutes)
    return {"result": body.action}


@router.post(
    "/tickets",
    status_code=status.HTTP_201_CREATED,
    responses=errors(
        CommonError.NOT_FOUND, CommonError.FORBIDDEN, LiveError.NOT_LIVE, LiveError.BANNED
    ),
)
async def create_ticket(body: TicketIn, ctx: CtxDep, actor: ActorDep) -> TicketOut:
    """A ticket into a room's WebSocket for the caller: `?ticket=`, good for a minute."""
    session = await service.load_session(ctx, body.session_id)
    ticket, expires_at = issue_ticket(ctx.settings, ctx.now(), actor.id, session.id)
    return TicketOut(ticket=ticket, expires_at=expires_at)
