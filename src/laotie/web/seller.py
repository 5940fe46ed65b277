"""The seller back office: the shop, its products and SKUs, orders to ship, returns, balance."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from laotie.accounts import service as accounts
from laotie.accounts.permissions import Actor
from laotie.catalog import service as catalog
from laotie.catalog.schemas import (
    MAX_STOCK_DELTA,
    ProductCreateIn,
    ProductStatus,
    ProductUpdateIn,
    ShopCreateIn,
    ShopOut,
    SkuIn,
    SkuUpdateIn,
)
from laotie.core.context import Ctx
from laotie.core.deps import CtxDep
from laotie.core.errors import AppError
from laotie.orders import aftersales, balance, divisions, freight, payouts, topups
from laotie.orders import queries as order_queries
from laotie.orders import service as order_states
from laotie.orders.deps import payment_providers, sandbox_provider
from laotie.orders.schemas import (
    MAX_TOP_UP_MINOR,
    MIN_TOP_UP_MINOR,
    CaseStatus,
    FreightMode,
    FreightRuleIn,
    FreightTemplateIn,
    OrderStatus,
)
from laotie.trust import appeals, penalties
from laotie.trust import service as trust
from laotie.trust.schemas import AppealIn
from laotie.web import forms
from laotie.web.deps import SellerViewer, attempt
from laotie.web.pages import redirect, render

router = APIRouter(prefix="/seller", include_in_schema=False)

# Rows of the new-product form; the page's script can add more, up to this many.
SKU_ROWS = 3
MAX_SKU_ROWS = 20


async def own_shop(ctx: Ctx, actor: Actor) -> ShopOut | None:
    """Return the seller's shop (the first, if several), or None before one is opened."""
    shops = await catalog.shops_of_owner(ctx, actor.id)
    return shops[0] if shops else None


@router.get("", response_class=HTMLResponse)
async def overview(request: Request, ctx: CtxDep, actor: SellerViewer) -> Response:
    """Orders to ship (late ones first), returns to answer, and the balance."""
    shop = await own_shop(ctx, actor)
    if shop is None:
        return await render(request, ctx, actor, "seller/create_shop.html", values={}, error="")
    to_ship = await order_queries.shop_orders(ctx, actor, shop.id, OrderStatus.PAID, 200, 0)
    cases = await aftersales.cases_of_shop(ctx, actor, shop.id, open_only=False)
    currency, held, released = await order_queries.shop_balance(ctx, actor, shop.id)
    payout_account = await payouts.payout_account(ctx, actor, shop.id)
    shop_payouts = await payouts.payouts_of_shop(ctx, actor, shop.id, limit=20)
    provider = sandbox_provider(request)
    buyers = {o.buyer_id for o in to_ship} | {c.buyer_id for c in cases}
    names = {buyer_id: (await accounts.access_user(ctx, buyer_id)).name for buyer_id in buyers}
    return await render(
        request,
        ctx,
        actor,
        "seller/overview.html",
        shop=shop,
        to_ship=to_ship,
        waiting=[c for c in cases if c.status == CaseStatus.REQUESTED],
        to_inspect=[c for c in cases if c.restock == "pending"],
        history=[c for c in cases if c.status != CaseStatus.REQUESTED][:20],
        buyer_names=names,
        currency=currency,
        held=held,
        released=released,
        payout_account=payout_account,
        payouts=shop_payouts,
        deposits=await topups.top_ups_of(ctx, shop.id, provider, balance.DEPOSIT),
    )


@router.post("/deposit-payments")
async def deposit_form(request: Request, ctx: CtxDep, actor: SellerViewer) -> Response:
    """Pay into the shop's security deposit: on to the provider's pay page, which comes
    back to the overview."""
    form = await request.form()
    shop = await own_shop(ctx, actor)
    if shop is None:
        return redirect(request, "/seller", "Open your shop first.", "error")
    provider = sandbox_provider(request)
    try:
        amount = forms.amount_between(
            form, shop.currency, MIN_TOP_UP_MINOR, MAX_TOP_UP_MINOR, "a payment into the deposit"
        )
        opened = await attempt(
            ctx,
            lambda: topups.do_start_top_up(ctx, actor, shop.id, amount, provider, balance.DEPOSIT),
        )
    except AppError as error:
        return redirect(request, "/seller#deposit", error.message, "error")
    return redirect(request, opened.pay_url)


@router.post("/shop")
async def create_shop(request: Request, ctx: CtxDep, actor: SellerViewer) -> Response:
    """Open the seller's shop."""
    form = await request.form()
    values = {"name": forms.shown(form, "name"), "description": forms.shown(form, "description")}
    try:
        try:
            data = ShopCreateIn(
                name=forms.text(form, "name"),
                description=forms.text(form, "description", max_length=5000, multiline=True),
            )
        except ValidationError as error:
            raise forms.explain(error) from None
        await attempt(ctx, lambda: catalog.do_create_shop(ctx, actor, data))
    except AppError as error:
        return await render(
            request,
            ctx,
            actor,
            "seller/create_shop.html",
            status=error.status,
            values=values,
            error=error.message,
        )
    return redirect(request, "/seller", f"Your shop {data.name} is open.")


@router.get("/products", response_class=HTMLResponse)
async def products(request: Request, ctx: CtxDep, actor: SellerViewer) -> Response:
    """The shop's products, hidden ones included, with their SKUs."""
    shop = await own_shop(ctx, actor)
    if shop is None:
        return redirect(request, "/seller", "Open your shop first.", "error")
    listed = await catalog.browse_products(ctx, actor, shop_id=shop.id, limit=100)
    details = [await catalog.product_detail(ctx, item.id, actor) for item in listed.items]
    return await render(
        request,
        ctx,
        actor,
        "seller/products.html",
        shop=shop,
        products=details,
        major=forms.minor_to_major,
        max_delta=MAX_STOCK_DELTA,
    )


@router.get("/products/new", response_class=HTMLResponse)
async def new_product(request: Request, ctx: CtxDep, actor: SellerViewer) -> Response:
    """The form that lists a product with its SKUs."""
    shop = await own_shop(ctx, actor)
    if shop is None:
        return redirect(request, "/seller", "Open your shop first.", "error")
    return await _product_form(request, ctx, actor, shop, {}, "")


async def _product_form(
    request: Request,
    ctx: Ctx,
    actor: Actor,
    shop: ShopOut,
    values: dict[str, str],
    error: str,
    status: int = 200,
) -> Response:
    rows = max(
        SKU_ROWS, *(int(k.rsplit("_", 1)[1]) + 1 for k in values if k.startswith("price_")), 0
    )
    return await render(
        request,
        ctx,
        actor,
        "seller/new_product.html",
        status=status,
        shop=shop,
        categories=await catalog.list_categories(ctx),
        values=values,
        rows=range(min(rows, MAX_SKU_ROWS)),
        max_rows=MAX_SKU_ROWS,
        error=error,
    )


@router.post("/products")
async def create_product(request: Request, ctx: CtxDep, actor: SellerViewer) -> Response:
    """List a product with the SKU rows that were filled in."""
    shop = await own_shop(ctx, actor)
    if shop is None:
        return redirect(request, "/seller", "Open your shop first.", "error")
    form = await request.form()
    values = {key: value for key, value in form.items() if isinstance(value, str)}
    values.pop("csrf_token", None)
    try:
        data = _product_of(form, shop.currency)
        made = await attempt(ctx, lambda: catalog.do_create_product(ctx, actor, shop.id, data))
    except AppError as error:
        return await _product_form(request, ctx, actor, shop, values, error.message, error.status)
    return redirect(request, "/seller/products", f"Listed {made.title} with {len(made.skus)} SKUs.")


def _product_of(form: FormData, currency: str) -> ProductCreateIn:
    """Read the new-product form: texts, one image URL a line, and the filled SKU rows."""
    skus: list[dict[str, Any]] = []
    for row in range(MAX_SKU_ROWS):
        attributes = forms.text(form, f"attributes_{row}", max_length=400)
        price = forms.text(form, f"price_{row}", max_length=20)
        stock = forms.text(form, f"stock_{row}", max_length=12)
        if not (attributes or price or stock):
            continue
        if not price:
            raise forms.invalid(f"SKU row {row + 1} needs a price")
        skus.append(
            {
                "attributes": forms.attributes(attributes),
                "price_minor": forms.major_to_minor(price, currency),
                "stock": forms.integer(form, f"stock_{row}", low=0, high=10_000_000)
                if stock
                else 0,
            }
        )
    if not skus:
        raise forms.invalid("fill in at least one SKU row with a price")
    images = [
        line.strip()
        for line in forms.text(form, "images", max_length=6000, multiline=True).splitlines()
    ]
    try:
        return ProductCreateIn(
            title=forms.text(form, "title", max_length=200),
            description=forms.text(form, "description", max_length=5000, multiline=True),
            category=forms.text(form, "category", max_length=40),
            images=[url for url in images if url],
            skus=[SkuIn(**sku) for sku in skus],
        )
    except ValidationError as error:
        raise forms.explain(error) from None


@router.post("/products/{product_id}/visibility")
async def set_visibility(
    product_id: str, request: Request, ctx: CtxDep, actor: SellerViewer
) -> Response:
    """Hide a product from buyers, or show it again."""
    form = await request.form()
    try:
        status = ProductStatus(forms.choice(form, "status", ("active", "hidden")))
        await attempt(
            ctx,
            lambda: catalog.do_update_product(
                ctx, actor, product_id, ProductUpdateIn(status=status)
            ),
        )
    except AppError as error:
        return redirect(request, "/seller/products", error.message, "error")
    shown = "shown to buyers" if status == ProductStatus.ACTIVE else "hidden from buyers"
    return redirect(request, "/seller/products", f"The product is {shown}.")


@router.post("/skus/{sku_id}/price")
async def change_price(sku_id: str, request: Request, ctx: CtxDep, actor: SellerViewer) -> Response:
    """Change a SKU's regular price."""
    form = await request.form()
    try:
        sku = await catalog.access_own_sku(ctx, actor, sku_id)
        price = forms.major_to_minor(forms.text(form, "price", max_length=20), sku.currency)
        try:
            change = SkuUpdateIn(price_minor=price)
        except ValidationError as error:
            raise forms.explain(error) from None
        await attempt(ctx, lambda: catalog.do_update_sku(ctx, actor, sku_id, change))
    except AppError as error:
        return redirect(request, "/seller/products", error.message, "error")
    return redirect(request, "/seller/products", "Price changed.")


@router.post("/skus/{sku_id}/stock")
async def adjust_stock(sku_id: str, request: Request, ctx: CtxDep, actor: SellerViewer) -> Response:
    """Put units on hand, or write some off with a negative number."""
    form = await request.form()
    try:
        delta = forms.integer(form, "delta", low=-MAX_STOCK_DELTA, high=MAX_STOCK_DELTA)
        sku = await attempt(ctx, lambda: catalog.do_adjust_stock(ctx, actor, sku_id, delta))
    except AppError as error:
        return redirect(request, "/seller/products", error.message, "error")
    return redirect(request, "/seller/products", f"Stock is now {sku.stock}.")


@router.post("/orders/{order_id}/ship")
async def ship(order_id: str, request: Request, ctx: CtxDep, actor: SellerViewer) -> Response:
    """Record the parcel of a paid order."""
    form = await request.form()
    try:
        carrier = forms.text(form, "carrier", max_length=40, required=True)
        tracking_no = forms.text(form, "tracking_no", max_length=64, required=True)
        if (
            len(tracking_no) < 3
            or not tracking_no.replace("-", "").isalnum()
            or not tracking_no.isascii()
        ):
            raise forms.invalid("a tracking number is 3 to 64 letters, digits or dashes")
        await attempt(ctx, lambda: order_states.do_ship(ctx, actor, order_id, carrier, tracking_no))
    except AppError as error:
        return redirect(request, "/seller", error.message, "error")
    return redirect(request, "/seller", f"Order {order_id} shipped with {carrier}.")


@router.post("/payout-account")
async def set_payout_account(request: Request, ctx: CtxDep, actor: SellerViewer) -> Response:
    """Set where the shop's payouts go."""
    form = await request.form()
    shop = await own_shop(ctx, actor)
    if shop is None:
        return redirect(request, "/seller", "Open a shop first.", "error")
    try:
        holder, account_no = payout_account_fields(form)
        await attempt(
            ctx, lambda: payouts.do_set_payout_account(ctx, actor, shop.id, holder, account_no)
        )
    except AppError as error:
        return redirect(request, "/seller", error.message, "error")
    return redirect(request, "/seller", "Payout account saved.")


def payout_account_fields(form: FormData) -> tuple[str, str]:
    """Read a payout account form: the holder's name and the account number."""
    holder = forms.text(form, "holder_name", max_length=80, required=True)
    account_no = forms.text(form, "account_no", max_length=64, required=True)
    if len(account_no) < 4 or not account_no.replace("-", "").isalnum():
        raise forms.invalid("an account number is 4 to 64 letters, digits or dashes")
    return holder, account_no


def withdrawal_amount(form: FormData, currency: str) -> int:
    """Read a withdraw form's amount, in minor units."""
    amount = forms.major_to_minor(forms.text(form, "amount", max_length=20), currency)
    if amount <= 0:
        raise forms.invalid("withdraw more than nothing")
    return amount


@router.post("/payouts")
async def withdraw(request: Request, ctx: CtxDep, actor: SellerViewer) -> Response:
    """Withdraw part of the released balance to the payout account."""
    form = await request.form()
    shop = await own_shop(ctx, actor)
    if shop is None:
        return redirect(request, "/seller", "Open a shop first.", "error")
    state = request.app.state
    try:
        amount = withdrawal_amount(form, shop.currency)
        await attempt(
            ctx,
            lambda: payouts.do_request_payout(
                ctx,
                actor,
                shop.id,
                amount,
                state.payout_providers["sandbox_payouts"],
                state.tasks.kick,
            ),
        )
    except AppError as error:
        return redirect(request, "/seller", error.message, "error")
    return redirect(request, "/seller", "Payout requested.")


@router.post("/cases/{case_id}/respond")
async def respond(case_id: str, request: Request, ctx: CtxDep, actor: SellerViewer) -> Response:
    """Approve a return (the refund is paid) or reject it with a note."""
    form = await request.form()
    providers = payment_providers(request)
    try:
        approve = forms.choice(form, "decision", ("approve", "reject")) == "approve"
        note = forms.text(form, "note", max_length=500, multiline=True)
        if not approve and not note:
            raise forms.invalid("say why you reject the return")
        await attempt(
            ctx, lambda: aftersales.do_respond(ctx, actor, case_id, approve, note, providers)
        )
    except AppError as error:
        return redirect(request, "/seller", error.message, "error")
    return redirect(
        request,
        "/seller",
        "Return approved; the buyer is refunded." if approve else "Return rejected.",
    )


@router.post("/cases/{case_id}/restock")
async def restock(case_id: str, request: Request, ctx: CtxDep, actor: SellerViewer) -> Response:
    """Say whether returned units can be sold again."""
    form = await request.form()
    try:
        resellable = forms.choice(form, "resellable", ("yes", "no")) == "yes"
        await attempt(ctx, lambda: aftersales.do_restock(ctx, actor, case_id, resellable))
    except AppError as error:
        return redirect(request, "/seller", error.message, "error")
    return redirect(request, "/seller", "Back on hand." if resellable else "Written off.")


# ---------------------------------------------------------------- freight


@router.get("/trust", response_class=HTMLResponse)
async def trust_page(request: Request, ctx: CtxDep, actor: SellerViewer) -> Response:
    """The shop's score with every input, what would raise it, its history and its points."""
    shop = await own_shop(ctx, actor)
    if shop is None:
        return redirect(request, "/seller", "Open your shop first.")
    score = await trust.shop_trust(ctx, shop.id)
    history = await trust.score_history(ctx, shop.id, 90)
    return await render(
        request,
        ctx,
        actor,
        "seller/trust.html",
        shop=shop,
        trust=score,
        hints=trust.raise_hints(score),
        history=history,
        # Into a <script type="application/json">: "<" escaped, so no tag can close it.
        history_json=json.dumps([d.model_dump(mode="json") for d in history]).replace(
            "<", "\\u003c"
        ),
        standing=await penalties.shop_penalties(ctx, actor, shop.id),
    )


@router.post("/violations/{violation_id}/appeal")
async def appeal(violation_id: str, request: Request, ctx: CtxDep, actor: SellerViewer) -> Response:
    """Appeal a violation of the seller's shop; an operator decides."""
    form = await request.form()
    try:
        try:
            data = AppealIn(text=forms.text(form, "text", max_length=2000, multiline=True))
        except ValidationError as error:
            raise forms.explain(error) from None
        await attempt(ctx, lambda: appeals.file_appeal(ctx, actor, violation_id, data))
    except AppError as error:
        return redirect(request, "/seller/trust", error.message, "error")
    return redirect(request, "/seller/trust", "Your appeal is with the operators.")


@router.get("/freight", response_class=HTMLResponse)
async def freight_page(request: Request, ctx: CtxDep, actor: SellerViewer) -> Response:
    """The shop's freight: a rule for every province not set, and one per province."""
    shop = await own_shop(ctx, actor)
    if shop is None:
        return redirect(request, "/seller", "Open your shop first.", "error")
    template = await freight.freight_template(ctx, shop.id)
    return await render(
        request,
        ctx,
        actor,
        "seller/freight.html",
        shop=shop,
        freight=template,
        provinces=divisions.provinces(),
        modes=[mode.value for mode in FreightMode],
        major=forms.minor_to_major,
    )


@router.post("/freight")
async def save_freight(request: Request, ctx: CtxDep, actor: SellerViewer) -> Response:
    """Save the freight form: the default rule, and the provinces set to something else."""
    shop = await own_shop(ctx, actor)
    if shop is None:
        return redirect(request, "/seller", "Open your shop first.", "error")
    form = await request.form()
    modes = tuple(mode.value for mode in FreightMode)
    try:
        default = _freight_rule(form, "default", modes, shop.currency)
        provinces = {}
        for province in divisions.provinces():
            if forms.text(form, f"mode_{province.code}", max_length=20):
                provinces[province.code] = _freight_rule(form, province.code, modes, shop.currency)
        data = FreightTemplateIn(default=default, provinces=provinces)
        await attempt(ctx, lambda: freight.do_set_freight_template(ctx, actor, shop.id, data))
    except AppError as error:
        return redirect(request, "/seller/freight", error.message, "error")
    return redirect(request, "/seller/freight", "Freight saved.")


def _freight_rule(
    form: FormData, name: str, modes: tuple[str, ...], currency: str
) -> FreightRuleIn:
    """Read one rule of the freight form: its mode and, for a fee, its amount."""
    mode = FreightMode(forms.choice(form, f"mode_{name}", modes))
    amount = 0
    if mode in (FreightMode.FLAT, FreightMode.PER_UNIT):
        amount = forms.major_to_minor(forms.text(form, f"amount_{name}", max_length=20), currency)
    return FreightRuleIn(mode=mode, amount_minor=amount)
