"""Page routes: the shop front, sign-up and sign-in, the cart and the buyer's orders.

Forms that change state are POSTs answered with 303 and a message; a refusal is shown
as a message and leaves nothing half done (see `attempt`).
"""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from laotie.accounts import service as accounts
from laotie.accounts.deps import SESSION_COOKIE
from laotie.accounts.permissions import Actor, Role
from laotie.accounts.schemas import SignUpIn
from laotie.catalog import service as catalog
from laotie.catalog import views as shelf_views
from laotie.catalog.stock import load_for_sale
from laotie.core.context import Ctx
from laotie.core.csrf import check_origin
from laotie.core.deps import CtxDep
from laotie.core.errors import AppError, check_idempotency_key
from laotie.core.fingerprint import client_print
from laotie.core.ratelimit import check_rate
from laotie.core.visitors import keep_visitor
from laotie.orders import addresses, aftersales, cart, divisions, freight, payments
from laotie.orders import checkout as order_checkout
from laotie.orders import queries as order_queries
from laotie.orders import service as order_states
from laotie.orders.deps import payment_providers, sandbox_provider
from laotie.orders.schemas import (
    AddressIn,
    CaseKind,
    CaseStatus,
    OrderOut,
    OrderStatus,
    ReasonCode,
)
from laotie.traffic import follows, inbox
from laotie.traffic.feed import following_feed
from laotie.traffic.recommend import feed_for_request
from laotie.traffic.schemas import Target
from laotie.trust import reviews
from laotie.trust import service as trust
from laotie.trust.schemas import ReviewIn
from laotie.web import forms
from laotie.web.deps import MaybeViewer, PageError, Viewer, act_on_form, attempt
from laotie.web.live import router as live_router
from laotie.web.operator import router as operator_router
from laotie.web.pages import local_path, redirect, render
from laotie.web.seller import router as seller_router

router = APIRouter(include_in_schema=False)
SIGN_IN_TOO_OFTEN = "too many sign-in attempts; wait a minute"
SIGN_UP_TOO_OFTEN = "too many sign-ups from your address; wait a minute"
router.include_router(seller_router)
router.include_router(operator_router)
router.include_router(live_router)

PAGE_SIZE = 24
HOME_FEED = 6  # live rooms on the home page


def new_idempotency_key() -> str:
    """Return a fresh key for a checkout form, so that a double submit makes one order."""
    return secrets.token_urlsafe(18)


# ---------------------------------------------------------------- the shop front


@router.get("/", response_class=HTMLResponse)
async def home(request: Request, ctx: CtxDep, actor: MaybeViewer) -> Response:
    """The rooms live now (the recommendation feed), categories, shops and new products."""
    products = await catalog.browse_products(ctx, actor, limit=PAGE_SIZE)
    feed = await feed_for_request(request, ctx, actor, HOME_FEED)
    return await render(
        request,
        ctx,
        actor,
        "home.html",
        live_now=feed.items,
        anchor_names=await accounts.names_of(ctx, {item.anchor_id for item in feed.items}),
        categories=await catalog.list_categories(ctx),
        shops=await catalog.list_shops(ctx, limit=12),
        products=products.items,
    )


@router.get("/categories", response_class=HTMLResponse)
async def categories(request: Request, ctx: CtxDep, actor: MaybeViewer) -> Response:
    """Every browsing category."""
    return await render(
        request, ctx, actor, "categories.html", categories=await catalog.list_categories(ctx)
    )


@router.get("/categories/{slug}", response_class=HTMLResponse)
async def category(slug: str, request: Request, ctx: CtxDep, actor: MaybeViewer) -> Response:
    """The products of one category."""
    known = {c.slug: c for c in await catalog.list_categories(ctx)}
    if slug not in known:
        raise PageError(404, "There is no such category.")
    page = await catalog.browse_products(ctx, actor, category=slug, limit=PAGE_SIZE)
    return await render(
        request,
        ctx,
        actor,
        "listing.html",
        heading=known[slug].name,
        products=page.items,
        total=page.total,
        categories=list(known.values()),
    )


@router.get("/search", response_class=HTMLResponse)
async def search(request: Request, ctx: CtxDep, actor: MaybeViewer, q: str = "") -> Response:
    """Products whose title or description holds every word of the query."""
    q = q.replace("\x00", "")[:100]
    page = await catalog.browse_products(ctx, actor, q=q or None, limit=PAGE_SIZE)
    return await render(
        request,
        ctx,
        actor,
        "listing.html",
        heading=f"Results for “{q}”" if q else "All products",
        products=page.items,
        total=page.total,
        categories=await catalog.list_categories(ctx),
        q=q,
    )


@router.get("/shops/{shop_id}", response_class=HTMLResponse)
async def shop(shop_id: str, request: Request, ctx: CtxDep, actor: MaybeViewer) -> Response:
    """A shop and its products."""
    found = await _or_404(catalog.get_shop(ctx, shop_id))
    page = await catalog.browse_products(ctx, None, shop_id=found.id, limit=PAGE_SIZE)
    response = await render(
        request,
        ctx,
        actor,
        "listing.html",
        heading=found.name,
        subheading=found.description,
        trust=await trust.shop_trust(ctx, found.id),
        follow=await follows.follow_state(ctx, actor, Target.SHOP, found.id),
        products=page.items,
        total=page.total,
        categories=await catalog.list_categories(ctx),
    )
    shelf_views.queue_shop_view(request, ctx, _viewer_key(request, ctx, actor, response), found.id)
    return response


@router.post("/follows/{kind}/{target_id}")
async def follow_toggle(
    kind: Target, target_id: str, request: Request, ctx: CtxDep, actor: Viewer
) -> Response:
    """Follow or unfollow an anchor or a shop from its page, and go back there."""
    return await act_on_form(
        request,
        ctx,
        {
            "follow": (
                lambda: follows.do_follow(ctx, actor, kind, target_id),
                "Following: you will see their shows on your following page.",
            ),
            "unfollow": (
                lambda: follows.do_unfollow(ctx, actor, kind, target_id),
                "No longer following.",
            ),
        },
    )


@router.post("/live/{session_id}/rsvp")
async def rsvp_toggle(session_id: str, request: Request, ctx: CtxDep, actor: Viewer) -> Response:
    """RSVP to a coming show from its preview, or take the RSVP back."""
    return await act_on_form(
        request,
        ctx,
        {
            "rsvp": (
                lambda: inbox.do_rsvp(ctx, actor, session_id),
                "You will be told in your inbox when the show starts.",
            ),
            "cancel": (lambda: inbox.do_cancel_rsvp(ctx, actor, session_id), "RSVP taken back."),
        },
        back=f"/live/{session_id}",
    )


@router.post("/anchors/{anchor_id}/mute")
async def mute_toggle(anchor_id: str, request: Request, ctx: CtxDep, actor: Viewer) -> Response:
    """Mute or unmute an anchor's notifications from its profile."""
    return await act_on_form(
        request,
        ctx,
        {
            "mute": (
                lambda: inbox.do_mute(ctx, actor, anchor_id),
                "Muted: their shows going live will not reach your inbox.",
            ),
            "unmute": (
                lambda: inbox.do_unmute(ctx, actor, anchor_id),
                "You will be told again when they go live.",
            ),
        },
        back=f"/anchors/{anchor_id}",
    )


@router.get("/inbox", response_class=HTMLResponse)
async def inbox_page(request: Request, ctx: CtxDep, actor: Viewer) -> Response:
    """The viewer's notifications: shows gone live, newest first."""
    return await render(request, ctx, actor, "inbox.html", inbox=await inbox.inbox_of(ctx, actor))


@router.post("/inbox/read")
async def inbox_read(request: Request, ctx: CtxDep, actor: Viewer) -> Response:
    """Mark every notification read."""
    await inbox.do_mark_read(ctx, actor, None)
    return redirect(request, "/inbox", "All read.")


@router.get("/following", response_class=HTMLResponse)
async def following_page(request: Request, ctx: CtxDep, actor: Viewer) -> Response:
    """Who the viewer follows has live now, and what is coming."""
    feed = await following_feed(ctx, actor)
    return await render(
        request,
        ctx,
        actor,
        "following.html",
        live=[item for item in feed if item.status == "live"],
        coming=[item for item in feed if item.status != "live"],
        followed=await follows.following(ctx, actor),
    )


@router.get("/products/{product_id}", response_class=HTMLResponse)
async def product(product_id: str, request: Request, ctx: CtxDep, actor: MaybeViewer) -> Response:
    """A product: images, description, SKUs with price, was-price and stock; buy or add to cart."""
    found = await _or_404(catalog.product_detail(ctx, product_id, actor))
    on_sale = [sku for sku in found.skus if sku.active]
    chosen = next((sku for sku in on_sale if sku.stock > 0), on_sale[0] if on_sale else None)
    names = {c.slug: c.name for c in await catalog.list_categories(ctx)}
    response = await render(
        request,
        ctx,
        actor,
        "product.html",
        product=found,
        trust=await trust.shop_trust(ctx, found.shop_id),
        sold=await trust.product_verified_sales(ctx, found.id),
        category_name=names.get(found.category, found.category),
        skus=on_sale,
        chosen=chosen,
        max_quantity=ctx.settings.max_quantity_per_line,
        idempotency_key=new_idempotency_key(),
    )
    shelf_views.queue_product_view(request, ctx, _viewer_key(request, ctx, actor, response), found)
    return response


def _viewer_key(request: Request, ctx: Ctx, actor: Actor | None, response: Response) -> str:
    """Return who reads a shop's page; an anonymous reader keeps a visitor cookie from now on."""
    # Set on the first page, so that a visitor's later pages count as the same viewer.
    return actor.id if actor else keep_visitor(request, response, ctx.settings)


async def _or_404(pending: Any) -> Any:
    """Await a read; a thing that is not there becomes a 404 page."""
    try:
        return await pending
    except AppError as error:
        raise PageError(error.status, error.message) from error


# ---------------------------------------------------------------- signing up and in


@router.get("/sign-up", response_class=HTMLResponse)
async def sign_up_form(request: Request, ctx: CtxDep, actor: MaybeViewer) -> Response:
    """The sign-up form."""
    return await render(request, ctx, actor, "sign_up.html", error="", values={})


@router.post("/sign-up")
async def sign_up(request: Request, ctx: CtxDep, actor: MaybeViewer) -> Response:
    """Create a buyer or seller account and sign it in."""
    _check_same_origin(request)
    form = await request.form()
    values = {"email": forms.shown(form, "email"), "name": forms.shown(form, "name")}
    values["role"] = forms.shown(form, "role") or "buyer"
    try:
        check_rate(request.app.state.sign_up_limiter, request, SIGN_UP_TOO_OFTEN)
        role = Role(forms.choice(form, "role", ("buyer", "seller", "factory")))
        try:
            data = SignUpIn(
                email=forms.text(form, "email"),
                password=forms.text(form, "password", max_length=200),
                name=forms.text(form, "name"),
                roles=[role],
            )
        except ValidationError as error:
            raise forms.explain(error) from None
        await attempt(
            ctx,
            lambda: accounts.do_sign_up(
                ctx, data.email, data.password, data.name, frozenset({role})
            ),
        )
        signed, token = await accounts.do_sign_in(
            ctx, data.email, data.password, kind="session", client=client_print(request)
        )
    except AppError as error:
        page = await render(
            request,
            ctx,
            actor,
            "sign_up.html",
            status=error.status,
            error=error.message,
            values=values,
        )
        page.headers.update(error.headers or {})
        return page
    target = (
        "/seller" if signed.has(Role.SELLER) else "/factory" if signed.has(Role.FACTORY) else "/"
    )
    response = redirect(request, target, f"Welcome to laotie, {signed.name}!")
    _set_session_cookie(request, response, token)
    return response


@router.get("/sign-in", response_class=HTMLResponse)
async def sign_in_form(
    request: Request, ctx: CtxDep, actor: MaybeViewer, next: str = "/"
) -> Response:
    """The sign-in form."""
    return await render(
        request, ctx, actor, "sign_in.html", error="", email="", next=local_path(next)
    )


@router.post("/sign-in")
async def sign_in(request: Request, ctx: CtxDep, actor: MaybeViewer) -> Response:
    """Check the password and start a page session (an HttpOnly cookie)."""
    _check_same_origin(request)
    form = await request.form()
    email = forms.shown(form, "email")
    target = local_path(forms.shown(form, "next"))
    try:
        check_rate(request.app.state.sign_in_limiter, request, SIGN_IN_TOO_OFTEN)
        typed = forms.text(form, "email", max_length=254)
        # Not in a savepoint: a failed attempt is counted and must be kept.
        password = forms.text(form, "password", max_length=200)
        signed, token = await accounts.do_sign_in(
            ctx, typed, password, kind="session", client=client_print(request)
        )
    except AppError as error:
        page = await render(
            request,
            ctx,
            actor,
            "sign_in.html",
            status=error.status,
            error=error.message,
            email=email,
            next=target,
        )
        page.headers.update(error.headers or {})
        return page
    response = redirect(request, target, f"Signed in as {signed.name}.")
    _set_session_cookie(request, response, token)
    return response


@router.post("/sign-out")
async def sign_out(request: Request, ctx: CtxDep, actor: Viewer) -> Response:
    """End the page session: the cookie's token stops working."""
    if actor.session_token is not None:
        await accounts.do_revoke_token(ctx, actor.session_token)
        request.app.state.token_cache.forget(actor.session_token)
    response = redirect(request, "/", "Signed out.")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def _set_session_cookie(request: Request, response: RedirectResponse, token: str) -> None:
    settings = request.app.state.settings
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.session_days * 86_400,
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
    )


def _check_same_origin(request: Request) -> None:
    """Refuse a signed-out form posted from another site (there is no session to bind a token)."""
    try:
        check_origin(request, request.app.state.settings.public_url)
    except AppError as error:
        raise PageError(error.status, error.message) from error


# ---------------------------------------------------------------- buying


@router.post("/cart/items")
async def add_to_cart(request: Request, ctx: CtxDep, actor: Viewer) -> Response:
    """Put a SKU in the cart (adding to what is there)."""
    form = await request.form()
    back = local_path(forms.text(form, "back"), "/cart")
    try:
        sku_id = forms.text(form, "sku_id", max_length=40, required=True)
        quantity = forms.integer(form, "quantity", low=1, high=ctx.settings.max_quantity_per_line)
        held = {item.sku_id: item.quantity for item in await cart.items_of(ctx, actor)}
        total = held.get(sku_id, 0) + quantity
        await attempt(ctx, lambda: cart.do_set_item(ctx, actor, sku_id, total))
    except AppError as error:
        return redirect(request, back, error.message, "error")
    return redirect(request, back, "Added to your cart.")


@router.post("/buy-now")
async def buy_now(request: Request, ctx: CtxDep, actor: Viewer) -> Response:
    """Check out one SKU at once and go to the pay page."""
    form = await request.form()
    back = local_path(forms.text(form, "back"), "/")
    try:
        sku_id = forms.text(form, "sku_id", max_length=40, required=True)
        quantity = forms.integer(form, "quantity", low=1, high=ctx.settings.max_quantity_per_line)
        key = check_idempotency_key(forms.text(form, "idempotency_key", max_length=80))
        channel = order_checkout.Channel(client=client_print(request))
        done = await attempt(
            ctx, lambda: order_checkout.do_checkout(ctx, actor, [(sku_id, quantity)], key, channel)
        )
        return await _pay(request, ctx, actor, done.orders)
    except AppError as error:
        return redirect(request, back, error.message, "error")


@router.get("/cart", response_class=HTMLResponse)
async def cart_page(request: Request, ctx: CtxDep, actor: Viewer) -> Response:
    """The cart, grouped by shop, with a total per shop."""
    items = await cart.items_of(ctx, actor)
    skus = await load_for_sale(ctx, [item.sku_id for item in items])
    groups: dict[str, dict[str, Any]] = {}
    for item in items:
        sku = skus.get(item.sku_id)
        if sku is None:
            continue
        group = groups.get(sku.shop_id)
        if group is None:
            shop = await catalog.get_shop(ctx, sku.shop_id)
            group = {"shop": shop, "lines": [], "total": 0, "currency": sku.currency}
            groups[sku.shop_id] = group
        group["lines"].append({"item": item, "sku": sku})
        group["total"] += sku.price_minor * item.quantity
    book = await addresses.address_book(ctx, actor)
    quote, quote_error = None, ""
    if groups and book:
        lines = [(item.sku_id, item.quantity) for item in items if item.sku_id in skus]
        try:
            quote = await freight.quote(ctx, actor, lines, None)
        except AppError as error:
            quote_error = error.message
    freights = {} if quote is None else {s["shop_id"]: s["freight_minor"] for s in quote.shops}
    for shop_id, group in groups.items():
        group["freight"] = freights.get(shop_id)
    return await render(
        request,
        ctx,
        actor,
        "cart.html",
        groups=list(groups.values()),
        address=book[0] if book else None,
        quote=quote,
        quote_error=quote_error,
        idempotency_key=new_idempotency_key(),
        max_quantity=ctx.settings.max_quantity_per_line,
    )


@router.get("/addresses", response_class=HTMLResponse)
async def addresses_page(request: Request, ctx: CtxDep, actor: Viewer) -> Response:
    """The buyer's address book, and a form to add an address."""
    places = [
        (city, divisions.districts(city.code))
        for province in divisions.provinces()
        for city in divisions.cities(province.code)
    ]
    return await render(
        request,
        ctx,
        actor,
        "addresses.html",
        addresses=await addresses.address_book(ctx, actor),
        places=places,
        provinces={p.code: p.name for p in divisions.provinces()},
        tier_source=divisions.tier_source(),
    )


@router.post("/addresses")
async def add_address(request: Request, ctx: CtxDep, actor: Viewer) -> Response:
    """Add an address; the place is one choice of city or district."""
    form = await request.form()
    try:
        place = divisions.place_of(forms.text(form, "place", max_length=6, required=True))
        data = AddressIn(
            recipient=forms.text(form, "recipient", max_length=40, required=True),
            phone=forms.text(form, "phone", max_length=20, required=True),
            province_code=place.province.code,
            city_code=place.city.code,
            district_code=None if place.district is None else place.district.code,
            street=forms.text(form, "street", max_length=200, required=True),
            is_default=form.get("is_default") == "on",
        )
        await attempt(ctx, lambda: addresses.do_add_address(ctx, actor, data))
    except ValidationError:
        return redirect(request, "/addresses", "Check the phone number and the fields.", "error")
    except AppError as error:
        return redirect(request, "/addresses", error.message, "error")
    return redirect(request, local_path(forms.text(form, "back"), "/addresses"), "Address added.")


@router.post("/addresses/{address_id}/default")
async def default_address(
    address_id: str, request: Request, ctx: CtxDep, actor: Viewer
) -> Response:
    """Make an address the default."""
    try:
        await attempt(ctx, lambda: addresses.do_set_default(ctx, actor, address_id))
    except AppError as error:
        return redirect(request, "/addresses", error.message, "error")
    return redirect(request, "/addresses", "Default address set.")


@router.post("/addresses/{address_id}/delete")
async def delete_address(address_id: str, request: Request, ctx: CtxDep, actor: Viewer) -> Response:
    """Delete an address."""
    try:
        await attempt(ctx, lambda: addresses.do_delete_address(ctx, actor, address_id))
    except AppError as error:
        return redirect(request, "/addresses", error.message, "error")
    return redirect(request, "/addresses", "Address deleted.")


@router.post("/cart/items/{sku_id}")
async def update_cart_item(sku_id: str, request: Request, ctx: CtxDep, actor: Viewer) -> Response:
    """Change how many of a SKU the cart holds."""
    form = await request.form()
    try:
        quantity = forms.integer(form, "quantity", low=1, high=ctx.settings.max_quantity_per_line)
        await attempt(ctx, lambda: cart.do_set_item(ctx, actor, sku_id, quantity))
    except AppError as error:
        return redirect(request, "/cart", error.message, "error")
    return redirect(request, "/cart", "Cart updated.")


@router.post("/cart/items/{sku_id}/remove")
async def remove_cart_item(sku_id: str, request: Request, ctx: CtxDep, actor: Viewer) -> Response:
    """Take a SKU out of the cart."""
    await cart.do_remove_item(ctx, actor, sku_id)
    return redirect(request, "/cart", "Removed from your cart.")


@router.post("/cart/checkout")
async def checkout_cart(request: Request, ctx: CtxDep, actor: Viewer) -> Response:
    """Turn the cart into one order per shop and pay them together."""
    form = await request.form()
    try:
        key = check_idempotency_key(forms.text(form, "idempotency_key", max_length=80))
        client = client_print(request)
        done = await attempt(ctx, lambda: cart.do_checkout_cart(ctx, actor, key, client=client))
        return await _pay(request, ctx, actor, done.orders)
    except AppError as error:
        return redirect(request, "/cart", error.message, "error")


async def _pay(request: Request, ctx: Ctx, actor: Actor, orders: list[OrderOut]) -> Response:
    """Open a payment for unpaid orders and send the buyer to the provider's page."""
    unpaid = [order for order in orders if order.status == OrderStatus.PENDING_PAYMENT]
    if not unpaid:
        return redirect(request, "/orders", "These orders need no payment.")
    # A repeated submit finds the payment the first one opened.
    started = {order.payment_id for order in unpaid}
    if len(started) == 1 and None not in started:
        payment_id = next(iter(started))
        if payment_id is not None:
            existing = await payments.access_payment(ctx, actor, payment_id)
            if existing.status == "pending":
                return redirect(request, f"/sandbox/pay/{existing.id}")
    provider = sandbox_provider(request)
    payment = await attempt(
        ctx, lambda: payments.do_start_payment(ctx, actor, [o.id for o in unpaid], provider)
    )
    return redirect(request, payment.pay_url)


# ---------------------------------------------------------------- the buyer's orders


@router.get("/orders", response_class=HTMLResponse)
async def orders_page(request: Request, ctx: CtxDep, actor: Viewer) -> Response:
    """The buyer's orders, newest first."""
    orders = await order_queries.buyer_orders(ctx, actor, limit=100)
    shop_names = await _shop_names(ctx, {order.shop_id for order in orders})
    return await render(request, ctx, actor, "orders.html", orders=orders, shop_names=shop_names)


@router.get("/orders/{order_id}", response_class=HTMLResponse)
async def order_page(order_id: str, request: Request, ctx: CtxDep, actor: Viewer) -> Response:
    """One order with its history, its after-sales cases and what the buyer can do next."""
    found = await _or_404(order_queries.access_order(ctx, actor, order_id))
    order = (await order_queries.outs(ctx, [found]))[0]
    cases = [
        case for case in await aftersales.cases_of_buyer(ctx, actor) if case.order_id == order.id
    ]
    open_case = any(
        case.status in (CaseStatus.REQUESTED, CaseStatus.REJECTED, CaseStatus.DISPUTED)
        for case in cases
    )
    now = ctx.now()
    shop_names = await _shop_names(ctx, {order.shop_id})
    is_buyer = order.buyer_id == actor.id
    written = await reviews.order_reviews(ctx, actor, order.id)
    reviewed = {review.line_id for review in written}
    reviewable = is_buyer and order.status in (OrderStatus.DELIVERED, OrderStatus.COMPLETED)
    return await render(
        request,
        ctx,
        actor,
        "order.html",
        order=order,
        shop_name=shop_names[order.shop_id],
        events=await order_queries.order_events(ctx, actor, order.id),
        cases=cases,
        can_pay=is_buyer and order.status == OrderStatus.PENDING_PAYMENT,
        can_refund=is_buyer and order.status == OrderStatus.PAID and not open_case,
        can_confirm=is_buyer and order.status == OrderStatus.SHIPPED,
        reviews=written,
        to_review=[
            line
            for line in order.lines
            if reviewable and line.id not in reviewed and line.refunded_quantity < line.quantity
        ],
        can_return=is_buyer
        and order.status == OrderStatus.DELIVERED
        and not open_case
        and order.return_deadline is not None
        and now <= order.return_deadline,
    )


async def _shop_names(ctx: Ctx, shop_ids: set[str]) -> dict[str, str]:
    names = {}
    for shop_id in shop_ids:
        names[shop_id] = (await catalog.get_shop(ctx, shop_id)).name
    return names


@router.post("/orders/{order_id}/pay")
async def pay_order(order_id: str, request: Request, ctx: CtxDep, actor: Viewer) -> Response:
    """Pay an unpaid order."""
    try:
        found = await order_queries.access_buyer_order(ctx, actor, order_id)
        order = (await order_queries.outs(ctx, [found]))[0]
        return await _pay(request, ctx, actor, [order])
    except AppError as error:
        return redirect(request, f"/orders/{order_id}", error.message, "error")


@router.post("/orders/{order_id}/cancel")
async def cancel_order(order_id: str, request: Request, ctx: CtxDep, actor: Viewer) -> Response:
    """Cancel an unpaid order; its stock goes back."""

    async def cancel() -> None:
        order = await order_queries.access_buyer_order(ctx, actor, order_id)
        await order_states.do_cancel_unpaid(ctx, order, actor.id, "buyer_cancelled")

    return await _order_change(request, ctx, order_id, cancel, "Order cancelled.")


@router.post("/orders/{order_id}/receipt")
async def confirm_receipt(order_id: str, request: Request, ctx: CtxDep, actor: Viewer) -> Response:
    """Confirm the parcel arrived."""

    async def confirm() -> None:
        await order_states.do_confirm_receipt(ctx, actor, order_id)

    return await _order_change(request, ctx, order_id, confirm, "Thanks! Receipt confirmed.")


@router.post("/orders/{order_id}/reviews")
async def review_line(order_id: str, request: Request, ctx: CtxDep, actor: Viewer) -> Response:
    """Review one line of a delivered order: three stars and a few words."""
    form = await request.form()

    async def review() -> None:
        try:
            data = ReviewIn(
                line_id=forms.text(form, "line_id", max_length=32, required=True),
                product_stars=forms.integer(form, "product_stars", low=1, high=5),
                logistics_stars=forms.integer(form, "logistics_stars", low=1, high=5),
                service_stars=forms.integer(form, "service_stars", low=1, high=5),
                text=forms.text(form, "text", max_length=2000, multiline=True),
            )
        except ValidationError as error:
            raise forms.explain(error) from None
        await reviews.do_review(ctx, actor, order_id, data)

    return await _order_change(request, ctx, order_id, review, "Thank you for your review.")


@router.post("/orders/{order_id}/refund")
async def request_refund(order_id: str, request: Request, ctx: CtxDep, actor: Viewer) -> Response:
    """Ask for the money back before the parcel leaves (paid at once)."""
    return await _open_case(request, ctx, actor, order_id, CaseKind.REFUND_ONLY)


@router.post("/orders/{order_id}/return")
async def request_return(order_id: str, request: Request, ctx: CtxDep, actor: Viewer) -> Response:
    """Ask to send the goods back for a refund, within the return window."""
    return await _open_case(request, ctx, actor, order_id, CaseKind.RETURN_REFUND)


async def _open_case(
    request: Request, ctx: Ctx, actor: Actor, order_id: str, kind: CaseKind
) -> Response:
    form = await request.form()
    providers = payment_providers(request)

    async def open_case() -> None:
        reason = forms.text(form, "reason", max_length=500, multiline=True)
        code = ReasonCode.OTHER
        if forms.text(form, "reason_code", max_length=40):
            options = tuple(code.value for code in ReasonCode)
            code = ReasonCode(forms.choice(form, "reason_code", options))
        await aftersales.do_open_case(ctx, actor, order_id, kind, reason, None, providers, code)

    done = (
        "Refunded." if kind is CaseKind.REFUND_ONLY else "Return requested; the seller will answer."
    )
    return await _order_change(request, ctx, order_id, open_case, done)


@router.post("/cases/{case_id}/escalate")
async def escalate(case_id: str, request: Request, ctx: CtxDep, actor: Viewer) -> Response:
    """Take a rejected request to the platform."""
    form = await request.form()
    try:
        reason = forms.text(form, "reason", max_length=500, multiline=True)
        case = await attempt(ctx, lambda: aftersales.do_escalate(ctx, actor, case_id, reason))
    except AppError as error:
        return redirect(request, "/orders", error.message, "error")
    return redirect(request, f"/orders/{case.order_id}", "The platform will look into it.")


async def _order_change(
    request: Request, ctx: Ctx, order_id: str, change: Any, done: str
) -> Response:
    target = f"/orders/{order_id}"
    try:
        await attempt(ctx, change)
    except AppError as error:
        return redirect(request, target, error.message, "error")
    return redirect(request, target, done)
