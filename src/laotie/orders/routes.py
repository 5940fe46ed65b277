"""HTTP API of orders, payments, shipping and after-sales, and the sandbox's hosted pay page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Header, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from laotie.accounts.deps import ActorDep
from laotie.accounts.permissions import Role, require_role
from laotie.core.deps import CtxDep
from laotie.core.errors import AppError
from laotie.core.money import format_minor
from laotie.orders import aftersales, cart, payments, payouts, service
from laotie.orders.errors import OrderError
from laotie.orders.schemas import (
    BalanceOut,
    CartItemIn,
    CartItemOut,
    CaseIn,
    CaseOut,
    CaseResponseIn,
    CheckoutIn,
    CheckoutOut,
    DecisionIn,
    EscalationIn,
    OrderEventOut,
    OrderOut,
    OrderStatus,
    PaymentIn,
    PaymentOut,
    PayoutAccountIn,
    PayoutAccountOut,
    PayoutIn,
    PayoutOut,
    RestockIn,
    ShipmentIn,
)

router = APIRouter(tags=["orders"])

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Chosen by the client; a retry with the same key returns the same orders.",
    ),
]
Limit = Annotated[int, Query(ge=1, le=200)]
Offset = Annotated[int, Query(ge=0, le=100_000)]


def _providers(request: Request) -> payments.Providers:
    providers: payments.Providers = request.app.state.payment_providers
    return providers


# ---------------------------------------------------------------- checkout and cart


@router.post("/api/orders", status_code=status.HTTP_201_CREATED)
async def place_order(
    body: CheckoutIn, ctx: CtxDep, actor: ActorDep, idempotency_key: IdempotencyKey = None
) -> CheckoutOut:
    """Buy now or check out several lines: stock is reserved and one order per shop is made."""
    key = service.check_idempotency_key(idempotency_key)
    result = await service.do_checkout(
        ctx, actor, [(line.sku_id, line.quantity) for line in body.lines], key
    )
    return CheckoutOut(orders=result.orders, replayed=result.replayed)


@router.get("/api/cart")
async def get_cart(ctx: CtxDep, actor: ActorDep) -> list[CartItemOut]:
    """What the caller's cart holds."""
    return await cart.items_of(ctx, actor)


@router.put("/api/cart/items/{sku_id}")
async def put_cart_item(
    sku_id: str, body: CartItemIn, ctx: CtxDep, actor: ActorDep
) -> list[CartItemOut]:
    """Set how many of a SKU the cart holds."""
    await cart.do_set_item(ctx, actor, sku_id, body.quantity)
    return await cart.items_of(ctx, actor)


@router.delete("/api/cart/items/{sku_id}")
async def delete_cart_item(sku_id: str, ctx: CtxDep, actor: ActorDep) -> list[CartItemOut]:
    """Take a SKU out of the cart."""
    await cart.do_remove_item(ctx, actor, sku_id)
    return await cart.items_of(ctx, actor)


@router.post("/api/cart/checkout", status_code=status.HTTP_201_CREATED)
async def checkout_cart(
    ctx: CtxDep, actor: ActorDep, idempotency_key: IdempotencyKey = None
) -> CheckoutOut:
    """Turn the cart into one order per shop and empty it."""
    key = service.check_idempotency_key(idempotency_key)
    result = await cart.do_checkout_cart(ctx, actor, key)
    return CheckoutOut(orders=result.orders, replayed=result.replayed)


# ---------------------------------------------------------------- reading orders


@router.get("/api/orders")
async def list_my_orders(
    ctx: CtxDep, actor: ActorDep, limit: Limit = 50, offset: Offset = 0
) -> list[OrderOut]:
    """The caller's orders, newest first."""
    return await service.buyer_orders(ctx, actor, limit, offset)


@router.get("/api/orders/{order_id}")
async def get_order(order_id: str, ctx: CtxDep, actor: ActorDep) -> OrderOut:
    """One order, for its buyer, its seller or an operator."""
    order = await service.access_order(ctx, actor, order_id)
    return (await service.outs(ctx, [order]))[0]


@router.get("/api/orders/{order_id}/events")
async def get_order_events(order_id: str, ctx: CtxDep, actor: ActorDep) -> list[OrderEventOut]:
    """The order's history."""
    return await service.order_events(ctx, actor, order_id)


@router.get("/api/shops/{shop_id}/orders")
async def list_shop_orders(
    shop_id: str,
    ctx: CtxDep,
    actor: ActorDep,
    order_status: Annotated[OrderStatus | None, Query(alias="status")] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> list[OrderOut]:
    """A shop's orders, for its owner."""
    return await service.shop_orders(ctx, actor, shop_id, order_status, limit, offset)


@router.get("/api/shops/{shop_id}/balance")
async def get_shop_balance(shop_id: str, ctx: CtxDep, actor: ActorDep) -> BalanceOut:
    """What the shop is owed: held until its orders complete, and released."""
    currency, held, released = await service.shop_balance(ctx, actor, shop_id)
    return BalanceOut(shop_id=shop_id, currency=currency, held_minor=held, released_minor=released)


# ---------------------------------------------------------------- order changes


@router.post("/api/orders/{order_id}/cancellation")
async def cancel_order(order_id: str, ctx: CtxDep, actor: ActorDep) -> OrderOut:
    """The buyer cancels an unpaid order; its stock goes back."""
    order = await service.access_buyer_order(ctx, actor, order_id)
    await service.do_cancel_unpaid(ctx, order, actor.id, "buyer_cancelled")
    return (await service.outs(ctx, [order]))[0]


@router.post("/api/orders/{order_id}/shipment")
async def ship_order(order_id: str, body: ShipmentIn, ctx: CtxDep, actor: ActorDep) -> OrderOut:
    """The seller ships a paid order."""
    require_role(actor, Role.SELLER)
    return await service.do_ship(ctx, actor, order_id, body.carrier, body.tracking_no)


@router.post("/api/orders/{order_id}/receipt")
async def confirm_receipt(order_id: str, ctx: CtxDep, actor: ActorDep) -> OrderOut:
    """The buyer confirms the parcel arrived."""
    return await service.do_confirm_receipt(ctx, actor, order_id)


# ---------------------------------------------------------------- payments


@router.post("/api/payments", status_code=status.HTTP_201_CREATED)
async def start_payment(
    body: PaymentIn, request: Request, ctx: CtxDep, actor: ActorDep
) -> PaymentOut:
    """Open a payment for unpaid orders; the buyer pays at `pay_url`."""
    provider = _providers(request)["sandbox"]
    return await payments.do_start_payment(ctx, actor, body.order_ids, provider)


@router.get("/api/payments/{payment_id}")
async def get_payment(
    payment_id: str, request: Request, ctx: CtxDep, actor: ActorDep
) -> PaymentOut:
    """One of the caller's payments."""
    payment = await payments.access_payment(ctx, actor, payment_id)
    return payments.payment_out(payment, _providers(request)[payment.provider])


@router.post("/api/payments/webhooks/{provider}")
async def payment_webhook(provider: str, request: Request, ctx: CtxDep) -> dict[str, str]:
    """A provider's signed notice; a bad signature changes nothing, a replay takes effect once."""
    known = _providers(request).get(provider)
    if known is None:
        raise AppError(OrderError.UNKNOWN_PROVIDER, f"no provider {provider!r}", 404)
    body = await request.body()
    outcome = await payments.do_apply_webhook(
        ctx, known, body, payments.headers_of(request.headers)
    )
    return {"result": outcome}


@router.get("/sandbox/pay/{payment_id}", include_in_schema=False)
async def sandbox_pay_page(payment_id: str, ctx: CtxDep) -> HTMLResponse:
    """The sandbox provider's hosted pay page."""
    payment = await payments.load_payment(ctx, payment_id)
    decided = payment.status == "pending" and await payments.decision_of(ctx, payment_id)
    return HTMLResponse(
        _sandbox_page(
            payment.id,
            "already paid" if decided else payment.status,
            format_minor(payment.amount_minor, payment.currency),
        )
    )


@router.post("/sandbox/pay/{payment_id}", include_in_schema=False)
async def sandbox_pay(
    payment_id: str,
    request: Request,
    ctx: CtxDep,
    action: Annotated[str, Form(pattern="^(pay|decline)$")],
    return_to: Annotated[str, Form(max_length=200)] = "/orders",
    payer_account: Annotated[str, Form(pattern=payments.PAYER_ACCOUNT_PATTERN)] = "",
) -> Response:
    """Pay or decline once on the sandbox page; the provider then calls laotie's webhook."""
    provider = _providers(request)["sandbox"]
    if not isinstance(provider, payments.SandboxProvider):
        raise AppError(OrderError.UNKNOWN_PROVIDER, "the sandbox is not enabled", 404)
    # A second submit is refused with 409 `payment_decided` and writes nothing.
    payment = await payments.do_sandbox_decide(
        ctx,
        provider,
        payment_id,
        action == "pay",
        payer_account or None,
        request.app.state.tasks.kick,
    )
    target = (
        return_to if return_to.startswith("/") and not return_to.startswith("//") else "/orders"
    )
    if target.startswith("/sandbox/paid"):
        target = f"/sandbox/paid/{payment.id}"
    return RedirectResponse(target, status_code=303)


@router.get("/sandbox/paid/{payment_id}", include_in_schema=False)
async def sandbox_paid_page(payment_id: str, ctx: CtxDep) -> HTMLResponse:
    """Where the sandbox sends a buyer who paid inside another page (the room's drawer)."""
    payment = await payments.load_payment(ctx, payment_id)
    return HTMLResponse(
        _sandbox_page(payment.id, "paid", format_minor(payment.amount_minor, payment.currency))
    )


def _sandbox_page(payment_id: str, state: str, amount: str) -> str:
    """Render the hosted pay page (the provider's page, so it does not use laotie's layout)."""
    from html import escape

    buttons = (
        '<button name="action" value="pay" class="pay">Pay</button>'
        '<button name="action" value="decline" class="decline">Decline</button>'
        if state == "pending"
        else f"<p id=state>This payment is {escape(state)}.</p>"
    )
    return (
        "<!doctype html><html lang=en><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width,initial-scale=1'>"
        "<title>Sandbox pay</title><style>body{font:16px system-ui;max-width:28em;margin:4em auto}"
        ".card{border:1px solid #ccc;border-radius:12px;padding:2em}button{font-size:1.1em;"
        "padding:.6em 1.4em;margin-right:1em}.pay{background:#16a34a;color:#fff;border:0;"
        "border-radius:8px}</style>"
        f"<div class=card><h1>Sandbox payment</h1><p>Amount: <strong id=amount>{escape(amount)}"
        f"</strong></p><p>Payment <code>{escape(payment_id)}</code></p>"
        f"<form method=post action='/sandbox/pay/{escape(payment_id)}'>"
        "<input type=hidden name=return_to value='/orders'>"
        "<script>if(window.top!==window.self){document.currentScript.previousElementSibling"
        ".value='/sandbox/paid'}</script>"
        "<label>Payer account <input name=payer_account placeholder='optional' "
        "pattern='[A-Za-z0-9_.@:-]{1,64}'></label><p>"
        f"{buttons}</p></form>"
        "<p><small>Test money only. No real payment is made.</small></p></div></html>"
    )


# ---------------------------------------------------------------- payouts


@router.get("/api/shops/{shop_id}/payout-account")
async def get_payout_account(shop_id: str, ctx: CtxDep, actor: ActorDep) -> PayoutAccountOut:
    """Where the shop's payouts go."""
    account = await payouts.payout_account(ctx, actor, shop_id)
    if account is None:
        raise AppError(OrderError.PAYOUT_ACCOUNT_MISSING, "no payout account yet", 404)
    return account


@router.put("/api/shops/{shop_id}/payout-account")
async def put_payout_account(
    shop_id: str, body: PayoutAccountIn, ctx: CtxDep, actor: ActorDep
) -> PayoutAccountOut:
    """Set where the shop's payouts go."""
    require_role(actor, Role.SELLER)
    return await payouts.do_set_payout_account(
        ctx, actor, shop_id, body.holder_name, body.account_no
    )


@router.post("/api/shops/{shop_id}/payouts", status_code=status.HTTP_201_CREATED)
async def request_payout(
    shop_id: str, body: PayoutIn, request: Request, ctx: CtxDep, actor: ActorDep
) -> PayoutOut:
    """Withdraw part of the released balance; refused when it would go below zero."""
    require_role(actor, Role.SELLER)
    return await payouts.do_request_payout(
        ctx,
        actor,
        shop_id,
        body.amount_minor,
        request.app.state.payout_providers["sandbox_payouts"],
        request.app.state.tasks.kick,
    )


@router.get("/api/shops/{shop_id}/payouts")
async def list_payouts(shop_id: str, ctx: CtxDep, actor: ActorDep) -> list[PayoutOut]:
    """The shop's payouts, newest first."""
    return await payouts.payouts_of_shop(ctx, actor, shop_id)


@router.post("/api/payouts/webhooks/{provider}")
async def payout_webhook(provider: str, request: Request, ctx: CtxDep) -> dict[str, str]:
    """A payout provider's signed callback: the payout was paid, or failed."""
    known = request.app.state.payout_providers.get(provider)
    if known is None:
        raise AppError(OrderError.UNKNOWN_PROVIDER, f"no payout provider {provider!r}", 404)
    body = await request.body()
    outcome = await payouts.do_apply_callback(
        ctx, known, body, payments.headers_of(request.headers)
    )
    return {"result": outcome}


# ---------------------------------------------------------------- after-sales


@router.post("/api/orders/{order_id}/aftersales", status_code=status.HTTP_201_CREATED)
async def open_case(
    order_id: str, body: CaseIn, request: Request, ctx: CtxDep, actor: ActorDep
) -> CaseOut:
    """Ask for a refund before shipping (paid at once) or a return after delivery."""
    asked = None if body.lines is None else [(part.line_id, part.quantity) for part in body.lines]
    return await aftersales.do_open_case(
        ctx, actor, order_id, body.kind, body.reason, asked, _providers(request)
    )


@router.get("/api/aftersales")
async def list_my_cases(ctx: CtxDep, actor: ActorDep) -> list[CaseOut]:
    """The caller's own cases."""
    return await aftersales.cases_of_buyer(ctx, actor)


@router.get("/api/aftersales/{case_id}")
async def get_case(case_id: str, ctx: CtxDep, actor: ActorDep) -> CaseOut:
    """One case, for its buyer, its seller or an operator."""
    return aftersales.case_out(await aftersales.access_case(ctx, actor, case_id))


@router.get("/api/shops/{shop_id}/aftersales")
async def list_shop_cases(
    shop_id: str, ctx: CtxDep, actor: ActorDep, open_only: bool = False
) -> list[CaseOut]:
    """A shop's cases, for its owner."""
    return await aftersales.cases_of_shop(ctx, actor, shop_id, open_only)


@router.post("/api/aftersales/{case_id}/response")
async def respond_to_case(
    case_id: str, body: CaseResponseIn, request: Request, ctx: CtxDep, actor: ActorDep
) -> CaseOut:
    """The seller approves or rejects a return request."""
    require_role(actor, Role.SELLER)
    return await aftersales.do_respond(
        ctx, actor, case_id, body.approve, body.note, _providers(request)
    )


@router.post("/api/aftersales/{case_id}/escalation")
async def escalate_case(case_id: str, body: EscalationIn, ctx: CtxDep, actor: ActorDep) -> CaseOut:
    """The buyer takes a rejection to an operator."""
    return await aftersales.do_escalate(ctx, actor, case_id, body.reason)


@router.post("/api/aftersales/{case_id}/decision")
async def decide_case(
    case_id: str, body: DecisionIn, request: Request, ctx: CtxDep, actor: ActorDep
) -> CaseOut:
    """An operator settles a dispute."""
    return await aftersales.do_decide(
        ctx, actor, case_id, body.refund, body.note, _providers(request)
    )


@router.post("/api/aftersales/{case_id}/restock")
async def restock_case(case_id: str, body: RestockIn, ctx: CtxDep, actor: ActorDep) -> CaseOut:
    """The seller says whether returned units can be sold again."""
    require_role(actor, Role.SELLER)
    return await aftersales.do_restock(ctx, actor, case_id, body.resellable)


@router.get("/api/operator/disputes")
async def list_disputes(ctx: CtxDep, actor: ActorDep) -> list[CaseOut]:
    """The operator's queue of disputes."""
    return await aftersales.dispute_queue(ctx, actor)
