"""The seller's bought reach on pages: promote a show, stop a promotion, read the report.

The forms buy and stop through the same services as the API (`traffic/promotions.py`), so a
refusal (balance too low, barred, already promoted, the show over) comes back as the page's
message; the report is the API's (`traffic/promotion_report.py`) with money formatted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from laotie.accounts.permissions import Actor
from laotie.catalog.schemas import ShopOut
from laotie.core.context import Ctx
from laotie.core.deps import CtxDep
from laotie.core.errors import AppError
from laotie.core.money import format_minor
from laotie.live.schemas import SessionStatus
from laotie.live.session import service as live
from laotie.orders import balance, topups
from laotie.orders.deps import sandbox_provider
from laotie.orders.schemas import MAX_TOP_UP_MINOR, MIN_TOP_UP_MINOR
from laotie.traffic import promotion_report, promotions
from laotie.traffic.schemas import Pricing, PromotionIn, PromotionOut, PromotionReportOut
from laotie.web import forms
from laotie.web.deps import SellerViewer, act_on_form, attempt
from laotie.web.pages import local_path, redirect, render
from laotie.web.seller import own_shop

if TYPE_CHECKING:
    from laotie.live.models import LiveSession

router = APIRouter(include_in_schema=False)

REPORT_PATH = "/seller/promotions"
TOP_UP_PATH = "/seller/top-ups"
SHOWS_LISTED = 50
PRICING_LABELS = {Pricing.CPM: "per 1,000 impressions", Pricing.CPE: "per entry"}
# Why a promotion ended, as the pages say it (the API's `end_reason`).
END_REASONS = {
    "session_ended": "ended with the show",
    "budget_spent": "spent its budget",
    "stopped": "stopped by you",
    "barred": "ended: the shop's points bar public traffic",
}


@dataclass(frozen=True, slots=True)
class ReportRow:
    """One promotion of the report page: the API's report, its show, costs in whole minor units."""

    report: PromotionReportOut
    title: str
    per_entry: int | None
    per_follower: int | None
    per_order: int | None


@router.get(REPORT_PATH, response_class=HTMLResponse)
async def report_page(
    request: Request, ctx: CtxDep, actor: SellerViewer, session_id: str = ""
) -> Response:
    """The shop's promotions with what each bought and cost, against its followers' traffic."""
    shop = await own_shop(ctx, actor)
    if shop is None:
        return redirect(request, "/seller", "Open your shop first.", "error")
    reports = await promotion_report.shop_report(ctx, actor, shop.id)
    shows = await live.sessions(ctx, None, shop.id, SHOWS_LISTED, 0)
    titles = await _titles(ctx, [r.promotion.session_id for r in reports])
    return await render(
        request,
        ctx,
        actor,
        "seller/promotions.html",
        shop=shop,
        rows=[_row(report, titles) for report in reports],
        promotable=[s for s in shows if s.status in (SessionStatus.SCHEDULED, SessionStatus.LIVE)],
        chosen=session_id,
        available=await balance.available_minor(ctx, shop.id),
        top_ups=await topups.top_ups_of(ctx, shop.id, sandbox_provider(request), balance.BALANCE),
        pricing_labels=PRICING_LABELS,
        end_reasons=END_REASONS,
    )


@router.post(REPORT_PATH)
async def promotion_form(request: Request, ctx: CtxDep, actor: SellerViewer) -> Response:
    """Buy reach for a show, or stop a running promotion, and go back with what happened."""
    form = await request.form()
    back = local_path(forms.text(form, "back"), REPORT_PATH)
    return await act_on_form(
        request,
        ctx,
        {
            "buy": (lambda: _buy(ctx, actor, form), _bought),
            "stop": (
                lambda: promotions.do_stop(
                    ctx, actor, forms.text(form, "promotion_id", max_length=32, required=True)
                ),
                _stopped,
            ),
        },
        back,
    )


@router.post(TOP_UP_PATH)
async def top_up_form(request: Request, ctx: CtxDep, actor: SellerViewer) -> Response:
    """Pay into the shop's balance: on to the provider's pay page, which comes back here."""
    form = await request.form()
    shop = await own_shop(ctx, actor)
    if shop is None:
        return redirect(request, "/seller", "Open your shop first.", "error")
    provider = sandbox_provider(request)
    try:
        amount = _top_up_amount(form, shop.currency)
        opened = await attempt(
            ctx, lambda: topups.do_start_top_up(ctx, actor, shop.id, amount, provider)
        )
    except AppError as error:
        return redirect(request, REPORT_PATH, error.message, "error")
    return redirect(request, opened.pay_url)


async def console_promotion(
    ctx: Ctx, actor: Actor, shop: ShopOut, session_id: str
) -> dict[str, Any]:
    """What a show's console shows of its bought reach: the running or latest promotion, and
    the balance to buy with (to the shop's owner only, who alone may buy)."""
    owner = shop.owner_id == actor.id
    return {
        "promotion": await promotions.latest_of_session(ctx, session_id),
        "can_promote": owner,
        "available": await balance.available_minor(ctx, shop.id) if owner else 0,
        "pricing_labels": PRICING_LABELS,
        "end_reasons": END_REASONS,
    }


async def _buy(ctx: Ctx, actor: Actor, form: FormData) -> PromotionOut:
    """Buy a promotion with the form's terms for the form's show."""
    session_id = forms.text(form, "session_id", max_length=32, required=True)
    terms = _terms(form, ctx.settings.currency)
    return await promotions.do_buy(ctx, actor, session_id, terms)


def _terms(form: FormData, currency: str) -> PromotionIn:
    """Read the promotion form's pricing, price, budget and pace."""
    try:
        return PromotionIn(
            pricing=Pricing(forms.choice(form, "pricing", tuple(p.value for p in Pricing))),
            price_minor=forms.major_to_minor(forms.text(form, "price", max_length=20), currency),
            budget_minor=forms.major_to_minor(forms.text(form, "budget", max_length=20), currency),
            pace_minutes=forms.integer(form, "pace_minutes", low=10, high=24 * 60),
        )
    except ValidationError as error:
        raise forms.explain(error) from None


def _bought(promotion: PromotionOut) -> str:
    budget = format_minor(promotion.budget_minor, promotion.currency)
    return f"Promotion bought: {budget} is held from your balance and spent over the show."


def _stopped(promotion: PromotionOut) -> str:
    spent = format_minor(promotion.spent_minor, promotion.currency)
    back = format_minor(promotion.returned_minor, promotion.currency)
    return f"Promotion stopped: {spent} spent, {back} back in your balance."


def _row(report: PromotionReportOut, titles: dict[str, str]) -> ReportRow:
    session_id = report.promotion.session_id
    return ReportRow(
        report=report,
        title=titles.get(session_id, session_id),
        per_entry=_whole(report.cost_per_entry_minor),
        per_follower=_whole(report.cost_per_follower_minor),
        per_order=_whole(report.cost_per_order_minor),
    )


def _whole(cost_minor: float | None) -> int | None:
    """Round a cost to whole minor units, half up, as the other pages show money."""
    return None if cost_minor is None else int(cost_minor + 0.5)


async def _titles(ctx: Ctx, session_ids: list[str]) -> dict[str, str]:
    """Return the titles of the shows promoted."""
    found: dict[str, LiveSession] = await live.sessions_by_id(ctx, session_ids)
    return {session_id: show.title for session_id, show in found.items()}


def _top_up_amount(form: FormData, currency: str) -> int:
    """Read a top-up form's amount (into the balance or the deposit), within the API's
    bounds."""
    return forms.amount_between(form, currency, MIN_TOP_UP_MINOR, MAX_TOP_UP_MINOR, "a top-up")
