"""Fan pages: joining a fan group from a page, the anchor's fans and coupon console, and
the fan prices of a show set from its console."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from laotie.accounts.permissions import Actor, Role
from laotie.catalog import stock
from laotie.core.context import Ctx
from laotie.core.deps import CtxDep
from laotie.core.errors import AppError
from laotie.orders import coupons
from laotie.orders.schemas import CouponIn
from laotie.traffic import fan_prices, fans
from laotie.traffic.schemas import FanPriceIn
from laotie.web import forms
from laotie.web.deps import PageError, Viewer, act_on_form, attempt
from laotie.web.pages import format_variant, redirect, render
from laotie.web.seller import own_shop

router = APIRouter(include_in_schema=False)

FAN_LIST = 200
COUPON_DAYS_MAX = 90


@router.post("/fan-groups/{anchor_id}")
async def fan_group_toggle(
    anchor_id: str, request: Request, ctx: CtxDep, actor: Viewer
) -> Response:
    """Join or leave an anchor's fan group from a page, and go back there."""
    return await act_on_form(
        request,
        ctx,
        {
            "join": (
                lambda: fans.do_join(ctx, actor, anchor_id),
                lambda group: f"Welcome to the fan group: you are a level {group.level} fan.",
            ),
            "leave": (lambda: fans.do_leave(ctx, actor, anchor_id), "You left the fan group."),
        },
    )


@router.get("/seller/fans", response_class=HTMLResponse)
async def fans_page(request: Request, ctx: CtxDep, actor: Viewer) -> Response:
    """The anchor's fans by level, and its coupons for them with a form to issue more."""
    _check_anchor(actor)
    return await render(
        request,
        ctx,
        actor,
        "fans.html",
        group=await fans.fan_group(ctx, None, actor.id),
        fans=await fans.fans_of(ctx, actor.id, FAN_LIST, 0),
        coupons=await coupons.coupons_of_anchor(ctx, actor.id, current_only=False),
        shop=await own_shop(ctx, actor),
        default_expiry=(ctx.now() + timedelta(days=7)).strftime("%Y-%m-%d"),
    )


@router.post("/seller/coupons")
async def issue_coupons(request: Request, ctx: CtxDep, actor: Viewer) -> Response:
    """Issue a batch of coupons to the anchor's fans from the console page."""
    _check_anchor(actor)
    form = await request.form()
    shop = await own_shop(ctx, actor)
    if shop is None:
        return redirect(request, "/seller/fans", "Open your shop first.", "error")
    try:
        days = forms.integer(form, "days", low=1, high=COUPON_DAYS_MAX)
        data = CouponIn(
            shop_id=shop.id,
            title=forms.text(form, "title", max_length=80, required=True),
            amount_off_minor=forms.major_to_minor(forms.text(form, "amount_off"), shop.currency),
            min_spend_minor=forms.major_to_minor(
                forms.text(form, "min_spend") or "0", shop.currency
            ),
            quantity=forms.integer(form, "quantity", low=1, high=1_000_000),
            min_fan_level=forms.integer(form, "min_fan_level", low=1, high=10),
            expires_at=ctx.now() + timedelta(days=days),
        )
        made = await attempt(ctx, lambda: coupons.do_issue(ctx, actor, data))
    except AppError as error:
        return redirect(request, "/seller/fans", error.message, "error")
    except ValidationError as error:  # the model's own bounds (a zero amount)
        return redirect(request, "/seller/fans", forms.explain(error).message, "error")
    return redirect(request, "/seller/fans", f"{made.quantity} coupons issued to your fans.")


@router.post("/live/{session_id}/fan-prices")
async def set_fan_price(session_id: str, request: Request, ctx: CtxDep, actor: Viewer) -> Response:
    """Set or clear a SKU's fan price from the show's console."""
    form = await request.form()
    back = f"/live/{session_id}/console"
    try:
        sku_id = forms.text(form, "sku_id", max_length=32, required=True)
        if forms.choice(form, "action", ("set", "clear")) == "clear":
            await attempt(ctx, lambda: fan_prices.do_clear(ctx, actor, session_id, sku_id))
            return redirect(request, back, "Fan price taken away.")
        currency = forms.text(form, "currency", max_length=3) or ctx.settings.currency
        price = FanPriceIn(
            price_minor=forms.major_to_minor(forms.text(form, "price"), currency),
            min_level=forms.integer(form, "min_level", low=1, high=10),
        )
        await attempt(ctx, lambda: fan_prices.do_set(ctx, actor, session_id, sku_id, price))
    except AppError as error:
        return redirect(request, back, error.message, "error")
    except ValidationError as error:
        return redirect(request, back, forms.explain(error).message, "error")
    return redirect(request, back, "Fan price set: your fans see it in the room's cart.")


async def room_fan_view(
    ctx: Ctx, actor: Actor | None, anchor_id: str, session_id: str, shop_id: str
) -> dict[str, Any]:
    """What the room page shows of fans: the group, fan prices, coupons to claim and to use."""
    offered = await coupons.coupons_of_anchor(ctx, anchor_id, current_only=True)
    usable = []
    if actor is not None:
        usable = [
            claim
            for claim in await coupons.claims_of(ctx, actor)
            if claim.order_id is None
            and claim.coupon.shop_id == shop_id
            and claim.coupon.expires_at > ctx.now()
        ]
    claimed = {claim.coupon.id for claim in usable}
    return {
        "fan_group": await fans.fan_group(ctx, actor, anchor_id),
        "fan_prices": {
            p.sku_id: {"price_minor": p.price_minor, "min_level": p.min_level}
            for p in await fan_prices.prices_of(ctx, session_id)
        },
        "coupons_offered": [
            c.model_dump(mode="json")
            for c in offered
            if c.shop_id == shop_id and c.id not in claimed
        ],
        "claims": [
            {
                "id": claim.id,
                "title": claim.coupon.title,
                "amount_off_minor": claim.coupon.amount_off_minor,
                "min_spend_minor": claim.coupon.min_spend_minor,
            }
            for claim in usable
        ],
    }


async def console_fan_prices(ctx: Ctx, session_id: str) -> dict[str, Any]:
    """What the show's console lists of its fan prices, with their SKUs' titles."""
    prices = await fan_prices.prices_of(ctx, session_id)
    skus = await stock.load_for_sale(ctx, [price.sku_id for price in prices])
    titles = {
        sku_id: f"{sku.title} · {format_variant(sku.attributes)}" for sku_id, sku in skus.items()
    }
    return {"fan_prices": prices, "sku_titles": titles}


def _check_anchor(actor: Actor) -> None:
    if not actor.has(Role.ANCHOR):
        raise PageError(403, "Only anchors have fans: sign up as an anchor to host shows.")
