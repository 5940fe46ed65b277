"""Affiliate pages: the selection pool anchors search and apply from, the shop's offers and
the applications to them, and the anchor's commissions."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from laotie.accounts.permissions import Actor
from laotie.affiliate import pool
from laotie.affiliate.schemas import (
    ApplicationIn,
    ApplicationOut,
    ApplicationStatus,
    Decision,
    OfferIn,
    OfferOut,
)
from laotie.catalog import service as catalog
from laotie.catalog.schemas import ProductStatus
from laotie.core.context import Ctx
from laotie.core.deps import CtxDep
from laotie.core.errors import AppError
from laotie.orders import commissions, payouts
from laotie.orders.schemas import PayoutAccountOut, PayoutOut
from laotie.trust import privileges
from laotie.trust.score import LOWEST_TIER, NEW_TIER, TIERS
from laotie.web import forms
from laotie.web.deps import (
    AnchorViewer,
    FormAction,
    SellerViewer,
    act_and_go_back,
    act_on_form,
)
from laotie.web.pages import local_path, redirect, render
from laotie.web.seller import own_shop, payout_account_fields, withdrawal_amount

router = APIRouter(include_in_schema=False)

POOL_PAGE = "/pool"
SHOP_POOL_PAGE = "/seller/pool"
COMMISSIONS_PAGE = "/commissions"

# The shops' trust tiers an anchor can ask for, from the top.
SHOP_TIERS = (*(tier for tier, _ in TIERS), LOWEST_TIER, NEW_TIER)
SEARCH_FIELDS = ("category", "min_price", "max_price", "min_commission", "tier", "q")
MAX_OFFSET = 10_000

_PERCENT = re.compile(r"^\s*(\d{1,3})(?:[.,](\d{1,2}))?\s*%?\s*$")
_REPUTATION = re.compile(r"^\s*([345])(?:[.,](\d{1,2}))?\s*$")


# ---------------------------------------------------------------- the anchor's pool


@router.get(POOL_PAGE, response_class=HTMLResponse)
async def pool_page(request: Request, ctx: CtxDep, actor: AnchorViewer) -> Response:
    """The products in the pool now, the best paid first, searched by the form's terms."""
    categories = await catalog.list_categories(ctx)
    asked = FormData(request.query_params)  # read like a form, with its checks
    try:
        filters = _filters(asked, {c.slug for c in categories}, ctx.settings.currency)
        offset = _offset(asked)
    except AppError as error:
        return redirect(request, POOL_PAGE, error.message, "error")
    items = await pool.browse_pool(ctx, actor, filters, pool.MAX_PAGE, offset)
    search = {name: forms.shown(asked, name) for name in SEARCH_FIELDS}
    terms = {name: value for name, value in search.items() if value}
    more = len(items) == pool.MAX_PAGE and offset + pool.MAX_PAGE <= MAX_OFFSET
    here = f"{POOL_PAGE}?{urlencode({**terms, 'offset': offset})}" if terms or offset else POOL_PAGE
    return await render(
        request,
        ctx,
        actor,
        "pool.html",
        items=items,
        categories=categories,
        tiers=SHOP_TIERS,
        search=search,
        here=here,
        next_page=f"{POOL_PAGE}?{urlencode({**terms, 'offset': offset + pool.MAX_PAGE})}"
        if more
        else None,
        reputation=(await privileges.kept_anchor_scores(ctx, [actor.id])).get(actor.id),
        currency=ctx.settings.currency,
    )


def _filters(asked: FormData, categories: set[str], currency: str) -> pool.Filters:
    """Read the pool's search form: prices in yuan, the commission in percent."""
    category = forms.text(asked, "category", max_length=40)
    if category and category not in categories:
        raise forms.invalid(f"there is no category {category!r}")
    tier = forms.text(asked, "tier", max_length=20)
    if tier and tier not in SHOP_TIERS:
        raise forms.invalid(f"choose {', '.join(SHOP_TIERS)} for the shop's tier")
    low, high = (_price(asked, name, currency) for name in ("min_price", "max_price"))
    if low is not None and high is not None and high < low:
        raise forms.invalid("the highest price is below the lowest")
    least = forms.text(asked, "min_commission", max_length=20)
    return pool.Filters(
        category=category or None,
        min_price_minor=low,
        max_price_minor=high,
        min_commission_bps=percent_to_bps(least, "the lowest commission") if least else None,
        tiers=frozenset({tier} if tier else ()),
        q=forms.text(asked, "q", max_length=80) or None,
    )


def _price(asked: FormData, name: str, currency: str) -> int | None:
    raw = forms.text(asked, name, max_length=20)
    return forms.major_to_minor(raw, currency) if raw else None


def _offset(asked: FormData) -> int:
    raw = forms.text(asked, "offset", max_length=20)
    return forms.integer(asked, "offset", low=0, high=MAX_OFFSET) if raw else 0


def percent_to_bps(raw: str, what: str) -> int:
    """Read a percentage typed as `15.00` (or `15%`) as basis points, without a float."""
    match = _PERCENT.match(raw)
    if match is None:
        raise forms.invalid(f"write {what} as a percentage such as 15.00, not {raw!r}")
    return int(match.group(1)) * 100 + int((match.group(2) or "").ljust(2, "0"))


@router.post("/pool/{offer_id}/apply")
async def apply_form(offer_id: str, request: Request, ctx: CtxDep, actor: AnchorViewer) -> Response:
    """Apply to sell an offer's product, from the pool; back to the same search."""
    form = await request.form()
    back = local_path(forms.shown(form, "back"), POOL_PAGE)

    async def apply() -> ApplicationOut:
        note = forms.text(form, "note", max_length=500, multiline=True)
        return await pool.do_apply(ctx, actor, offer_id, ApplicationIn(note=note))

    return await act_and_go_back(request, ctx, back, (apply, _applied))


def _applied(application: ApplicationOut) -> str:
    """Say what came of an application."""
    if application.status == ApplicationStatus.APPROVED:
        return (
            f"Approved: add {application.product_title} to your live room's cart from the console."
        )
    return f"Applied for {application.product_title}: the shop answers on this page."


# ---------------------------------------------------------------- the anchor's commissions


@router.get(COMMISSIONS_PAGE, response_class=HTMLResponse)
async def commissions_page(request: Request, ctx: CtxDep, actor: AnchorViewer) -> Response:
    """The anchor's commissions, pending and released, its balance, and its applications."""
    earned = await commissions.commissions_of_anchor(ctx, actor)
    applications = await pool.applications_of_anchor(ctx, actor)
    account = await payouts.anchor_payout_account(ctx, actor)
    shop_ids = {line.shop_id for line in earned.lines} | {a.shop_id for a in applications}
    return await render(
        request,
        ctx,
        actor,
        "commissions.html",
        earned=earned,
        applications=applications,
        payout_account=account,
        payouts=await payouts.payouts_of_anchor(ctx, actor),
        shop_names={shop_id: (await catalog.get_shop(ctx, shop_id)).name for shop_id in shop_ids},
    )


@router.post(f"{COMMISSIONS_PAGE}/payout-account")
async def set_payout_account(request: Request, ctx: CtxDep, actor: AnchorViewer) -> Response:
    """Set where the anchor's payouts of its commissions go."""
    form = await request.form()

    async def save() -> PayoutAccountOut:
        holder, account_no = payout_account_fields(form)
        return await payouts.do_set_anchor_payout_account(ctx, actor, holder, account_no)

    return await act_and_go_back(request, ctx, COMMISSIONS_PAGE, (save, "Payout account saved."))


@router.post(f"{COMMISSIONS_PAGE}/payouts")
async def withdraw(request: Request, ctx: CtxDep, actor: AnchorViewer) -> Response:
    """Withdraw part of the released commissions to the payout account."""
    form = await request.form()
    state = request.app.state

    async def ask() -> PayoutOut:
        amount = withdrawal_amount(form, ctx.settings.currency)
        provider = state.payout_providers["sandbox_payouts"]
        return await payouts.do_request_anchor_payout(
            ctx, actor, amount, provider, state.tasks.kick
        )

    return await act_and_go_back(request, ctx, COMMISSIONS_PAGE, (ask, "Payout requested."))


# ---------------------------------------------------------------- the shop's offers


@router.get(SHOP_POOL_PAGE, response_class=HTMLResponse)
async def shop_pool_page(request: Request, ctx: CtxDep, actor: SellerViewer) -> Response:
    """The shop's offers with their terms, the form to offer a product, and the anchors'
    applications, pending first; `?product=` fills the form with that product's terms."""
    shop = await own_shop(ctx, actor)
    if shop is None:
        return redirect(request, "/seller", "Open your shop first.", "error")
    offers = await pool.offers_of_shop(ctx, actor, shop.id)
    applications = await pool.applications_of_shop(ctx, actor, shop.id)
    listed = await catalog.browse_products(ctx, actor, shop_id=shop.id, limit=100)
    chosen = request.query_params.get("product", "")
    editing = next((offer for offer in offers if offer.product_id == chosen), None)
    return await render(
        request,
        ctx,
        actor,
        "seller/pool.html",
        shop=shop,
        offers=offers,
        applications=sorted(applications, key=lambda a: a.status != ApplicationStatus.PENDING),
        products=[item for item in listed.items if item.status == ProductStatus.ACTIVE],
        chosen=chosen,
        terms=_terms_shown(editing),
        low=ctx.settings.affiliate_min_commission_bps,
        high=ctx.settings.affiliate_max_commission_bps,
    )


def _terms_shown(offer: OfferOut | None) -> dict[str, str | bool]:
    """The offer form's fields for an offer's terms, or empty for a new offer."""
    if offer is None:
        return {
            "commission": "",
            "starts": "",
            "ends": "",
            "reputation": "",
            "auto": False,
            "flash": False,
        }
    return {
        "commission": _percent(offer.commission_bps),
        "starts": offer.starts_at.date().isoformat() if offer.starts_at else "",
        # The form's end date is the last day of the offer; it ends at that day's midnight.
        "ends": (offer.ends_at - timedelta(microseconds=1)).date().isoformat()
        if offer.ends_at
        else "",
        "reputation": f"{offer.min_reputation:.2f}" if offer.min_reputation is not None else "",
        "auto": offer.auto_approve,
        "flash": offer.flash_sales,
    }


@router.post(SHOP_POOL_PAGE)
async def put_offer_form(request: Request, ctx: CtxDep, actor: SellerViewer) -> Response:
    """Offer a product of the shop in the pool, or change its terms, from the form."""
    form = await request.form()
    shop = await own_shop(ctx, actor)
    if shop is None:
        return redirect(request, "/seller", "Open your shop first.", "error")

    async def put() -> OfferOut:
        product_id = forms.text(form, "product_id", max_length=40, required=True)
        return await pool.do_put_offer(ctx, actor, shop.id, product_id, _offer_in(form))

    return await act_and_go_back(request, ctx, SHOP_POOL_PAGE, (put, _offered))


def _offer_in(form: FormData) -> OfferIn:
    """Read the offer form: the commission in percent, the dates as whole UTC days (the
    end date is the offer's last day), the reputation asked from 3.00 to 5.00."""
    starts, ends = _day(form, "starts_on"), _day(form, "ends_on")
    return OfferIn(
        commission_bps=percent_to_bps(
            forms.text(form, "commission", max_length=20, required=True), "the commission"
        ),
        starts_at=datetime.combine(starts, time(), UTC) if starts else None,
        ends_at=datetime.combine(ends + timedelta(days=1), time(), UTC) if ends else None,
        min_reputation=_reputation(forms.text(form, "min_reputation", max_length=20)),
        auto_approve="auto_approve" in form,
        flash_sales="flash_sales" in form,
    )


def _day(form: FormData, name: str) -> date | None:
    raw = forms.text(form, name, max_length=10)
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise forms.invalid(f"{name.replace('_', ' ')} must be a date such as 2025-06-30") from None


def _reputation(raw: str) -> float | None:
    """Read the reputation asked, written as `4.20`: 3.00 to 5.00."""
    if not raw:
        return None
    match = _REPUTATION.match(raw)
    if match is None:
        raise forms.invalid(f"write the reputation asked as 3.00 to 5.00, not {raw!r}")
    return int(match.group(1)) + int((match.group(2) or "").ljust(2, "0")) / 100


def _offered(offer: OfferOut) -> str:
    """Say what an offer now is."""
    return f"{offer.product_title} is in the selection pool at {_percent(offer.commission_bps)}%."


def _percent(bps: int) -> str:
    """Write basis points as a percentage with two places: 1500 is 15.00."""
    return f"{bps // 100}.{bps % 100:02d}"


@router.post("/seller/pool/{offer_id}/withdraw")
async def withdraw_offer_form(
    offer_id: str, request: Request, ctx: CtxDep, actor: SellerViewer
) -> Response:
    """Take an offer out of the pool from the shop's page."""
    return await act_and_go_back(
        request,
        ctx,
        SHOP_POOL_PAGE,
        (
            lambda: pool.do_withdraw_offer(ctx, actor, offer_id),
            lambda offer: f"{offer.product_title} is out of the pool; its anchors stop selling it.",
        ),
    )


@router.post("/seller/pool/applications/{application_id}")
async def decide_form(
    application_id: str, request: Request, ctx: CtxDep, actor: SellerViewer
) -> Response:
    """Approve or reject an application, or revoke an approval, from the shop's page."""
    return await act_on_form(
        request,
        ctx,
        {decision.value: _decision(ctx, actor, application_id, decision) for decision in Decision},
        back=SHOP_POOL_PAGE,
    )


DECIDED = {
    Decision.APPROVE: "may now sell",
    Decision.REJECT: "was turned down for",
    Decision.REVOKE: "can no longer sell",
}


def _decision(ctx: Ctx, actor: Actor, application_id: str, decision: Decision) -> FormAction:
    """One answer to an application, and what to say once given."""
    return (
        lambda: pool.do_decide(ctx, actor, application_id, decision),
        lambda a: f"{a.anchor_name} {DECIDED[decision]} {a.product_title}.",
    )
