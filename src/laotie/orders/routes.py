"""HTTP API of orders, payments, shipping and after-sales, and the sandbox's hosted pay page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from laotie.accounts.deps import ActorDep
from laotie.accounts.permissions import Role, require_role
from laotie.core.context import Ctx
from laotie.core.deps import CtxDep, IdempotencyKeyDep, Offset
from laotie.core.errors import AppError, CommonError, IdempotencyError, not_found
from laotie.core.fingerprint import ClientPrintDep
from laotie.core.money import format_minor
from laotie.core.openapi import errors
from laotie.orders import (
    addresses,
    aftersales,
    balance,
    cart,
    freight,
    payments,
    payouts,
    purposes,
    topups,
)
from laotie.orders import checkout as order_checkout
from laotie.orders import queries as order_queries
from laotie.orders import service as order_states
from laotie.orders.deps import payment_providers, sandbox_provider
from laotie.orders.errors import COUPON_ERRORS, OrderError
from laotie.orders.models import Payment
from laotie.orders.schemas import (
    AddressIn,
    AddressOut,
    AddressPatchIn,
    BalanceOut,
    CartCheckoutIn,
    CartItemIn,
    CartItemOut,
    CaseIn,
    CaseOut,
    CaseResponseIn,
    CheckoutIn,
    CheckoutOut,
    DecisionIn,
    EscalationIn,
    FreightQuoteOut,
    FreightTemplateIn,
    FreightTemplateOut,
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
    TopUpIn,
    TopUpOut,
)

router = APIRouter(tags=["orders"])

Limit = Annotated[int, Query(ge=1, le=200)]


# ---------------------------------------------------------------- checkout and cart

# What buying now and checking out the cart may answer: the lines, the stock, the address.
CHECKOUT_ERRORS = (
    OrderError.EMPTY_CHECKOUT,
    OrderError.TOO_MANY_LINES,
    OrderError.QUANTITY_INVALID,
    OrderError.SKU_NOT_FOUND,
    OrderError.NOT_ON_SALE,
    OrderError.SHOP_SUSPENDED,
    OrderError.OUT_OF_STOCK,
    OrderError.PER_BUYER_LIMIT,
    OrderError.CURRENCY_MISMATCH,
    OrderError.ADDRESS_REQUIRED,
    OrderError.ADDRESS_NOT_FOUND,
    OrderError.NOT_DELIVERED_THERE,
    IdempotencyError.IN_FLIGHT,
    IdempotencyError.REUSED,
)


@router.post(
    "/api/orders",
    status_code=status.HTTP_201_CREATED,
    responses=errors(*CHECKOUT_ERRORS, *COUPON_ERRORS),
)
async def place_order(
    body: CheckoutIn, ctx: CtxDep, actor: ActorDep, key: IdempotencyKeyDep, client: ClientPrintDep
) -> CheckoutOut:
    """Buy now or check out several lines: stock is reserved and one order per shop is made."""
    result = await order_checkout.do_checkout(
        ctx,
        actor,
        [(line.sku_id, line.quantity) for line in body.lines],
        key,
        order_checkout.Channel(client=client),
        address_id=body.address_id,
        coupon_claim_id=body.coupon_claim_id,
    )
    return CheckoutOut(orders=result.orders, replayed=result.replayed)


@router.get("/api/cart")
async def get_cart(ctx: CtxDep, actor: ActorDep) -> list[CartItemOut]:
    """What the caller's cart holds."""
    return await cart.items_of(ctx, actor)


@router.put(
    "/api/cart/items/{sku_id}",
    responses=errors(
        OrderError.SKU_NOT_FOUND,
        OrderError.NOT_ON_SALE,
        OrderError.TOO_MANY_LINES,
        OrderError.QUANTITY_INVALID,
        OrderError.PER_BUYER_LIMIT,
    ),
)
async def put_cart_item(
    sku_id: str, body: CartItemIn, ctx: CtxDep, actor: ActorDep
) -> list[CartItemOut]:
    """Set how many of a SKU the cart holds."""
    await cart.do_set_item(ctx, actor, sku_id, body.quantity)
    return await cart.items_of(ctx, actor)


@router.delete("/api/cart/items/{sku_id}", responses=errors(OrderError.SKU_NOT_FOUND))
async def delete_cart_item(sku_id: str, ctx: CtxDep, actor: ActorDep) -> list[CartItemOut]:
    """Take a SKU out of the cart."""
    await cart.do_remove_item(ctx, actor, sku_id)
    return await cart.items_of(ctx, actor)


@router.post(
    "/api/cart/checkout",
    status_code=status.HTTP_201_CREATED,
    responses=errors(*CHECKOUT_ERRORS),
)
async def checkout_cart(
    ctx: CtxDep,
    actor: ActorDep,
    key: IdempotencyKeyDep,
    client: ClientPrintDep,
    body: CartCheckoutIn | None = None,
) -> CheckoutOut:
    """Turn the cart into one order per shop and empty it; it ships to the default address."""
    address_id = None if body is None else body.address_id
    result = await cart.do_checkout_cart(ctx, actor, key, address_id, client)
    return CheckoutOut(orders=result.orders, replayed=result.replayed)


# ---------------------------------------------------------------- reading orders


@router.get("/api/orders")
async def list_my_orders(
    ctx: CtxDep, actor: ActorDep, limit: Limit = 50, offset: Offset = 0
) -> list[OrderOut]:
    """The caller's orders, newest first."""
    return await order_queries.buyer_orders(ctx, actor, limit, offset)


@router.get("/api/orders/{order_id}", responses=errors(CommonError.NOT_FOUND))
async def get_order(order_id: str, ctx: CtxDep, actor: ActorDep) -> OrderOut:
    """One order, for its buyer, its seller or an operator."""
    order = await order_queries.access_order(ctx, actor, order_id)
    return (await order_queries.outs(ctx, [order]))[0]


@router.get("/api/orders/{order_id}/events", responses=errors(CommonError.NOT_FOUND))
async def get_order_events(order_id: str, ctx: CtxDep, actor: ActorDep) -> list[OrderEventOut]:
    """The order's history."""
    return await order_queries.order_events(ctx, actor, order_id)


@router.get(
    "/api/shops/{shop_id}/orders", responses=errors(CommonError.NOT_FOUND, CommonError.FORBIDDEN)
)
async def list_shop_orders(
    shop_id: str,
    ctx: CtxDep,
    actor: ActorDep,
    order_status: Annotated[OrderStatus | None, Query(alias="status")] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> list[OrderOut]:
    """A shop's orders, for its owner."""
    return await order_queries.shop_orders(ctx, actor, shop_id, order_status, limit, offset)


@router.get(
    "/api/shops/{shop_id}/balance", responses=errors(CommonError.NOT_FOUND, CommonError.FORBIDDEN)
)
async def get_shop_balance(shop_id: str, ctx: CtxDep, actor: ActorDep) -> BalanceOut:
    """What the shop is owed: held until its orders complete, and released."""
    currency, held, released = await order_queries.shop_balance(ctx, actor, shop_id)
    return BalanceOut(shop_id=shop_id, currency=currency, held_minor=held, released_minor=released)


# ---------------------------------------------------------------- order changes


@router.post(
    "/api/orders/{order_id}/cancellation",
    responses=errors(CommonError.NOT_FOUND, OrderError.INVALID_STATE),
)
async def cancel_order(order_id: str, ctx: CtxDep, actor: ActorDep) -> OrderOut:
    """The buyer cancels an unpaid order; its stock goes back."""
    order = await order_queries.access_buyer_order(ctx, actor, order_id)
    await order_states.do_cancel_unpaid(ctx, order, actor.id, "buyer_cancelled")
    return (await order_queries.outs(ctx, [order]))[0]


@router.post(
    "/api/orders/{order_id}/shipment",
    responses=errors(CommonError.NOT_FOUND, CommonError.FORBIDDEN, OrderError.INVALID_STATE),
)
async def ship_order(order_id: str, body: ShipmentIn, ctx: CtxDep, actor: ActorDep) -> OrderOut:
    """The seller ships a paid order."""
    require_role(actor, Role.SELLER)
    return await order_states.do_ship(ctx, actor, order_id, body.carrier, body.tracking_no)


@router.post(
    "/api/orders/{order_id}/receipt",
    responses=errors(CommonError.NOT_FOUND, OrderError.INVALID_STATE),
)
async def confirm_receipt(order_id: str, ctx: CtxDep, actor: ActorDep) -> OrderOut:
    """The buyer confirms the parcel arrived."""
    return await order_states.do_confirm_receipt(ctx, actor, order_id)


# ---------------------------------------------------------------- payments


@router.post(
    "/api/payments",
    status_code=status.HTTP_201_CREATED,
    responses=errors(
        CommonError.NOT_FOUND,
        OrderError.INVALID_STATE,
        OrderError.CURRENCY_MISMATCH,
        OrderError.EMPTY_CHECKOUT,
    ),
)
async def start_payment(
    body: PaymentIn, request: Request, ctx: CtxDep, actor: ActorDep
) -> PaymentOut:
    """Open a payment for unpaid orders; the buyer pays at `pay_url`."""
    provider = sandbox_provider(request)
    return await payments.do_start_payment(ctx, actor, body.order_ids, provider)


@router.get("/api/payments/{payment_id}", responses=errors(CommonError.NOT_FOUND))
async def get_payment(
    payment_id: str, request: Request, ctx: CtxDep, actor: ActorDep
) -> PaymentOut:
    """One of the caller's payments."""
    payment = await payments.access_payment(ctx, actor, payment_id)
    return payments.payment_out(payment, payment_providers(request)[payment.provider])


@router.post(
    "/api/payments/webhooks/{provider}",
    responses=errors(
        OrderError.UNKNOWN_PROVIDER,
        OrderError.BAD_SIGNATURE,
        OrderError.WEBHOOK_MISMATCH,
        CommonError.NOT_FOUND,
    ),
)
async def payment_webhook(provider: str, request: Request, ctx: CtxDep) -> dict[str, str]:
    """A provider's signed notice; a bad signature changes nothing, a replay takes effect once."""
    known = payment_providers(request).get(provider)
    if known is None:
        raise AppError.of(OrderError.UNKNOWN_PROVIDER, f"no provider {provider!r}")
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
            await _return_page(ctx, payment),
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
    provider = sandbox_provider(request)
    if not isinstance(provider, payments.SandboxProvider):
        raise AppError.of(OrderError.UNKNOWN_PROVIDER, "the sandbox is not enabled")
    # A second submit is refused with 409 `payment_decided` and writes nothing.
    decided_id = await payments.do_sandbox_decide(
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
        target = f"/sandbox/paid/{decided_id}"
    return RedirectResponse(target, status_code=303)


@router.get("/sandbox/paid/{payment_id}", include_in_schema=False)
async def sandbox_paid_page(payment_id: str, ctx: CtxDep) -> HTMLResponse:
    """Where the sandbox sends a buyer who paid inside another page (the room's drawer)."""
    payment = await payments.load_payment(ctx, payment_id)
    return HTMLResponse(
        _sandbox_page(payment.id, "paid", format_minor(payment.amount_minor, payment.currency))
    )


async def _return_page(ctx: Ctx, payment: Payment) -> str:
    """Where the payer goes back to: its orders, the feature that opened the payment, or
    the seller's page the top-up was asked on."""
    if payment.order_ids:
        return "/orders"
    if payment.purpose is not None:
        return purposes.return_page_of(payment.purpose)
    return await topups.return_page(ctx, payment.id)


def _sandbox_page(payment_id: str, state: str, amount: str, back: str = "/orders") -> str:
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
        f"<input type=hidden name=return_to value='{escape(back)}'>"
        "<script>if(window.top!==window.self){document.currentScript.previousElementSibling"
        ".value='/sandbox/paid'}</script>"
        "<label>Payer account <input name=payer_account placeholder='optional' "
        "pattern='[A-Za-z0-9_.@:-]{1,64}'></label><p>"
        f"{buttons}</p></form>"
        "<p><small>Test money only. No real payment is made.</small></p></div></html>"
    )


# ---------------------------------------------------------------- payouts


@router.get(
    "/api/shops/{shop_id}/payout-account",
    responses=errors(CommonError.NOT_FOUND, CommonError.FORBIDDEN),
)
async def get_payout_account(shop_id: str, ctx: CtxDep, actor: ActorDep) -> PayoutAccountOut:
    """Where the shop's payouts go."""
    account = await payouts.payout_account(ctx, actor, shop_id)
    if account is None:
        raise not_found("payout account")
    return account


@router.put(
    "/api/shops/{shop_id}/payout-account",
    responses=errors(CommonError.NOT_FOUND, CommonError.FORBIDDEN),
)
async def put_payout_account(
    shop_id: str, body: PayoutAccountIn, ctx: CtxDep, actor: ActorDep
) -> PayoutAccountOut:
    """Set where the shop's payouts go."""
    require_role(actor, Role.SELLER)
    return await payouts.do_set_payout_account(
        ctx, actor, shop_id, body.holder_name, body.account_no
    )


@router.post(
    "/api/shops/{shop_id}/payouts",
    status_code=status.HTTP_201_CREATED,
    responses=errors(
        CommonError.NOT_FOUND,
        CommonError.FORBIDDEN,
        OrderError.PAYOUT_ACCOUNT_MISSING,
        OrderError.BALANCE_TOO_LOW,
    ),
)
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


@router.get(
    "/api/shops/{shop_id}/payouts",
    responses=errors(CommonError.NOT_FOUND, CommonError.FORBIDDEN),
)
async def list_payouts(shop_id: str, ctx: CtxDep, actor: ActorDep) -> list[PayoutOut]:
    """The shop's payouts, newest first."""
    return await payouts.payouts_of_shop(ctx, actor, shop_id)


@router.post(
    "/api/shops/{shop_id}/top-ups",
    status_code=status.HTTP_201_CREATED,
    responses=errors(CommonError.NOT_FOUND, CommonError.FORBIDDEN),
)
async def start_top_up(
    shop_id: str, body: TopUpIn, request: Request, ctx: CtxDep, actor: ActorDep
) -> TopUpOut:
    """Pay into the shop's released balance, to buy reach with; the seller pays at `pay_url`,
    and the balance is credited once the provider says it was paid."""
    require_role(actor, Role.SELLER)
    provider = sandbox_provider(request)
    return await topups.do_start_top_up(ctx, actor, shop_id, body.amount_minor, provider)


@router.post(
    "/api/shops/{shop_id}/deposit-payments",
    status_code=status.HTTP_201_CREATED,
    responses=errors(CommonError.NOT_FOUND, CommonError.FORBIDDEN),
)
async def start_deposit_payment(
    shop_id: str, body: TopUpIn, request: Request, ctx: CtxDep, actor: ActorDep
) -> TopUpOut:
    """Pay into the shop's security deposit, which the platform holds against what the shop
    may owe its buyers; the seller pays at `pay_url`, and the deposit is credited once the
    provider says it was paid. It is listed with the top-ups (`purpose` "deposit")."""
    require_role(actor, Role.SELLER)
    provider = sandbox_provider(request)
    return await topups.do_start_top_up(
        ctx, actor, shop_id, body.amount_minor, provider, balance.DEPOSIT
    )


@router.get(
    "/api/shops/{shop_id}/top-ups",
    responses=errors(CommonError.NOT_FOUND, CommonError.FORBIDDEN),
)
async def list_top_ups(
    shop_id: str, request: Request, ctx: CtxDep, actor: ActorDep
) -> list[TopUpOut]:
    """The shop's top-ups, newest first."""
    return await topups.top_ups_of_shop(ctx, actor, shop_id, sandbox_provider(request))


@router.post(
    "/api/payouts/webhooks/{provider}",
    responses=errors(
        CommonError.NOT_FOUND,
        OrderError.UNKNOWN_PROVIDER,
        OrderError.BAD_SIGNATURE,
        OrderError.WEBHOOK_MISMATCH,
        OrderError.INVALID_STATE,
    ),
)
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


@router.post(
    "/api/orders/{order_id}/aftersales",
    status_code=status.HTTP_201_CREATED,
    responses=errors(
        CommonError.NOT_FOUND,
        CommonError.FORBIDDEN,
        OrderError.INVALID_STATE,
        OrderError.CASE_OPEN,
        OrderError.RETURN_WINDOW_CLOSED,
        OrderError.REFUND_EXCEEDS_PAID,
        OrderError.LINE_NOT_IN_ORDER,
    ),
)
async def open_case(
    order_id: str, body: CaseIn, request: Request, ctx: CtxDep, actor: ActorDep
) -> CaseOut:
    """Ask for a refund before shipping (paid at once) or a return after delivery."""
    asked = None if body.lines is None else [(part.line_id, part.quantity) for part in body.lines]
    return await aftersales.do_open_case(
        ctx,
        actor,
        order_id,
        body.kind,
        body.reason,
        asked,
        payment_providers(request),
        body.reason_code,
    )


@router.get("/api/aftersales")
async def list_my_cases(ctx: CtxDep, actor: ActorDep) -> list[CaseOut]:
    """The caller's own cases."""
    return await aftersales.cases_of_buyer(ctx, actor)


@router.get("/api/aftersales/{case_id}", responses=errors(CommonError.NOT_FOUND))
async def get_case(case_id: str, ctx: CtxDep, actor: ActorDep) -> CaseOut:
    """One case, for its buyer, its seller or an operator."""
    return aftersales.case_out(await aftersales.access_case(ctx, actor, case_id))


@router.get(
    "/api/shops/{shop_id}/aftersales",
    responses=errors(CommonError.NOT_FOUND, CommonError.FORBIDDEN),
)
async def list_shop_cases(
    shop_id: str, ctx: CtxDep, actor: ActorDep, open_only: bool = False
) -> list[CaseOut]:
    """A shop's cases, for its owner."""
    return await aftersales.cases_of_shop(ctx, actor, shop_id, open_only)


@router.post(
    "/api/aftersales/{case_id}/response",
    responses=errors(
        CommonError.NOT_FOUND,
        CommonError.FORBIDDEN,
        OrderError.INVALID_STATE,
        OrderError.REFUND_EXCEEDS_PAID,
    ),
)
async def respond_to_case(
    case_id: str, body: CaseResponseIn, request: Request, ctx: CtxDep, actor: ActorDep
) -> CaseOut:
    """The seller approves or rejects a return request."""
    require_role(actor, Role.SELLER)
    return await aftersales.do_respond(
        ctx, actor, case_id, body.approve, body.note, payment_providers(request)
    )


@router.post(
    "/api/aftersales/{case_id}/escalation",
    responses=errors(CommonError.NOT_FOUND, OrderError.INVALID_STATE),
)
async def escalate_case(case_id: str, body: EscalationIn, ctx: CtxDep, actor: ActorDep) -> CaseOut:
    """The buyer takes a rejection to an operator."""
    return await aftersales.do_escalate(ctx, actor, case_id, body.reason)


@router.post(
    "/api/aftersales/{case_id}/decision",
    responses=errors(
        CommonError.NOT_FOUND,
        CommonError.FORBIDDEN,
        OrderError.INVALID_STATE,
        OrderError.REFUND_EXCEEDS_PAID,
    ),
)
async def decide_case(
    case_id: str, body: DecisionIn, request: Request, ctx: CtxDep, actor: ActorDep
) -> CaseOut:
    """An operator settles a dispute."""
    return await aftersales.do_decide(
        ctx, actor, case_id, body.refund, body.note, payment_providers(request)
    )


@router.post(
    "/api/aftersales/{case_id}/restock",
    responses=errors(CommonError.NOT_FOUND, CommonError.FORBIDDEN, OrderError.INVALID_STATE),
)
async def restock_case(case_id: str, body: RestockIn, ctx: CtxDep, actor: ActorDep) -> CaseOut:
    """The seller says whether returned units can be sold again."""
    require_role(actor, Role.SELLER)
    return await aftersales.do_restock(ctx, actor, case_id, body.resellable)


@router.get("/api/operator/disputes", responses=errors(CommonError.FORBIDDEN))
async def list_disputes(ctx: CtxDep, actor: ActorDep) -> list[CaseOut]:
    """The operator's queue of disputes."""
    return await aftersales.dispute_queue(ctx, actor)


# ---------------------------------------------------------------- addresses and freight


@router.get(
    "/api/addresses",
    responses=errors(CommonError.FORBIDDEN),
)
async def list_addresses(ctx: CtxDep, actor: ActorDep) -> list[AddressOut]:
    """The caller's address book, the default first, each with its city's tier."""
    return await addresses.address_book(ctx, actor)


@router.post(
    "/api/addresses",
    status_code=status.HTTP_201_CREATED,
    responses=errors(
        CommonError.FORBIDDEN,
        OrderError.UNKNOWN_PROVINCE,
        OrderError.UNKNOWN_CITY,
        OrderError.UNKNOWN_DISTRICT,
        OrderError.ADDRESS_BOOK_FULL,
    ),
)
async def add_address(body: AddressIn, ctx: CtxDep, actor: ActorDep) -> AddressOut:
    """Add an address; its codes must name one province, city and district (GB/T 2260)."""
    return await addresses.do_add_address(ctx, actor, body)


@router.patch(
    "/api/addresses/{address_id}",
    responses=errors(
        CommonError.FORBIDDEN,
        OrderError.ADDRESS_NOT_FOUND,
        OrderError.UNKNOWN_PROVINCE,
        OrderError.UNKNOWN_CITY,
        OrderError.UNKNOWN_DISTRICT,
    ),
)
async def edit_address(
    address_id: str, body: AddressPatchIn, ctx: CtxDep, actor: ActorDep
) -> AddressOut:
    """Change an address; orders placed already keep the copy they were placed with."""
    return await addresses.do_edit_address(ctx, actor, address_id, body)


@router.delete(
    "/api/addresses/{address_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=errors(CommonError.FORBIDDEN, OrderError.ADDRESS_NOT_FOUND),
)
async def delete_address(address_id: str, ctx: CtxDep, actor: ActorDep) -> Response:
    """Delete an address; the oldest other one becomes the default if it was."""
    await addresses.do_delete_address(ctx, actor, address_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/api/addresses/{address_id}/default",
    responses=errors(CommonError.FORBIDDEN, OrderError.ADDRESS_NOT_FOUND),
)
async def set_default_address(address_id: str, ctx: CtxDep, actor: ActorDep) -> AddressOut:
    """Make an address the one checkout uses when none is named."""
    return await addresses.do_set_default(ctx, actor, address_id)


@router.get(
    "/api/shops/{shop_id}/freight",
    responses=errors(CommonError.NOT_FOUND, CommonError.FORBIDDEN),
)
async def get_freight_template(shop_id: str, ctx: CtxDep) -> FreightTemplateOut:
    """A shop's freight by province (free everywhere until it sets one)."""
    return await freight.freight_template(ctx, shop_id)


@router.put(
    "/api/shops/{shop_id}/freight",
    responses=errors(CommonError.NOT_FOUND, CommonError.FORBIDDEN, OrderError.UNKNOWN_PROVINCE),
)
async def put_freight_template(
    shop_id: str, body: FreightTemplateIn, ctx: CtxDep, actor: ActorDep
) -> FreightTemplateOut:
    """Set the shop's freight: free, flat, per unit, or not delivered, by province."""
    return await freight.do_set_freight_template(ctx, actor, shop_id, body)


@router.post(
    "/api/orders/quote",
    responses=errors(*CHECKOUT_ERRORS, CommonError.FORBIDDEN),
)
async def quote_order(body: CheckoutIn, ctx: CtxDep, actor: ActorDep) -> FreightQuoteOut:
    """What lines would cost shipped to an address, freight included, before paying."""
    return await freight.quote(
        ctx, actor, [(line.sku_id, line.quantity) for line in body.lines], body.address_id
    )
