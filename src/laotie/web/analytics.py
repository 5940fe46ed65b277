"""The analytics pages: a seller's dashboard of its GMV identity and what moved it, its
repurchase, cohorts and buyers' city tiers, and a live session's minutes; the operators'
platform dashboard. Every figure comes from the analytics API's services; every table
links to the same figures as CSV."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from laotie.accounts.permissions import Actor
from laotie.analytics import repurchase_report, service, session_report
from laotie.analytics.facts import Period, Scope
from laotie.analytics.schemas import ChangeOut, ClaimsOut, IdentityOut, ScopeKind
from laotie.core.context import Ctx
from laotie.core.deps import CtxDep
from laotie.core.errors import AppError
from laotie.reports.claims import seed_claims
from laotie.web.deps import OperatorViewer, SellerViewer
from laotie.web.pages import redirect, render
from laotie.web.seller import own_shop

router = APIRouter(include_in_schema=False)

DASHBOARD_PATH = "/seller/analytics"
PLATFORM_PATH = "/operator/analytics"
REPURCHASE_MONTHS = 6
# The factors as a seller reads them, in the identity's order.
FACTOR_LABELS = {
    "uv": "Viewers (UV)",
    "share": "Private/public mix",
    "watch_per_viewer": "Watch time per viewer",
    "conversion": "Conversion per minute watched",
    "frequency": "Orders per buyer",
    "order_value": "Order value",
    "visitors": "Shelf visitors",
    "orders_per_visitor": "Shelf orders per visitor",
    "entry": "New segment",
    "exit": "Segment gone",
}


def month_of(text: str, today: date) -> date:
    """The first day of the month asked for (YYYY-MM), or of this month."""
    try:
        year, month = (int(part) for part in text.split("-"))
        return date(year, month, 1)
    except ValueError:
        return today.replace(day=1)


def month_after(first: date) -> date:
    """The first day of the next month."""
    return (first.replace(day=28) + timedelta(days=4)).replace(day=1)


def months_back(first: date, count: int) -> date:
    """The first day of the month `count` months before."""
    for _ in range(count):
        first = (first - timedelta(days=1)).replace(day=1)
    return first


def as_json(value: Any) -> str:
    """A page's chart data, for a <script type="application/json">: "<" escaped, so no
    tag can close it."""
    return json.dumps(value).replace("<", "\\u003c")


async def _daily_viewers(ctx: Ctx, scope: Scope, month: Period) -> list[dict[str, Any]]:
    """Private and public viewers of each day of the month (each day counted alone)."""
    days = []
    day = month.start
    while day < month.end and day <= ctx.now().date():
        found = await service.identity_of(ctx, scope, Period(day, day + timedelta(days=1)))
        days.append(
            {
                "day": day.isoformat(),
                "private": found.live["private"].uv,
                "public": found.live["public"].uv,
                "shelf": found.shelf.uv if found.shelf else 0,
            }
        )
        day += timedelta(days=1)
    return days


def _charts(
    identity: IdentityOut,
    change: ChangeOut,
    days: list[dict[str, Any]],
    repurchase: Any,
    claims: ClaimsOut | None,
) -> dict[str, Any]:
    """What the page's charts draw."""
    return {
        "anchors": [
            {
                "trust": a.trust_score,
                "conversion": a.conversion_per_minute,
                "frequency": a.frequency,
            }
            for a in (claims.anchors if claims else [])
            if a.trust_score is not None
        ],
        "attribution": [
            {"factor": FACTOR_LABELS.get(name, name), "minor": minor}
            for name, minor in change.by_factor.items()
        ],
        "days": days,
        "repurchase": [
            {"month": m.month, "rate": m.rate, "private_share": m.private_share}
            for m in repurchase.months
        ],
        "tiers": [{"tier": t.tier, "gmv_minor": t.gmv_minor} for t in identity.tiers],
    }


@router.get(DASHBOARD_PATH, response_class=HTMLResponse)
async def seller_dashboard(
    request: Request, ctx: CtxDep, actor: SellerViewer, month: str = ""
) -> Response:
    """The shop's month: GMV as five factors by segment, what moved it since the month
    before, viewers by day, repurchase, cohorts and city tiers."""
    shop = await own_shop(ctx, actor)
    if shop is None:
        return redirect(request, "/seller", "Open your shop first.", "error")
    first = month_of(month, ctx.now().date())
    return await _dashboard(request, ctx, actor, ScopeKind.SHOP, shop.id, first, shop=shop)


@router.get(PLATFORM_PATH, response_class=HTMLResponse)
async def platform_dashboard(
    request: Request, ctx: CtxDep, actor: OperatorViewer, month: str = ""
) -> Response:
    """The platform's month, as a seller's dashboard shows a shop's."""
    first = month_of(month, ctx.now().date())
    # The seed's claims over the same month: the scatter, the deposit, the concentration.
    claims = await seed_claims(ctx, actor, first, month_after(first))
    return await _dashboard(
        request, ctx, actor, ScopeKind.PLATFORM, None, first, shop=None, claims=claims
    )


async def _dashboard(
    request: Request,
    ctx: Ctx,
    actor: Actor,
    kind: ScopeKind,
    scope_id: str | None,
    first: date,
    *,
    shop: Any,
    claims: ClaimsOut | None = None,
) -> Response:
    period = Period(first, month_after(first))
    back = redirect_path(kind)
    try:
        scope = await service.access_scope(ctx, actor, kind, scope_id)
        base = Period(months_back(first, 1), first)  # the calendar month before
        change = await service.gmv_change(ctx, actor, kind, scope_id, period, base)
        since = months_back(first, REPURCHASE_MONTHS - 1)
        repurchase = await repurchase_report.repurchase_report(
            ctx, actor, kind, scope_id, since, period.end
        )
        cohorts = None
        if kind is ScopeKind.SHOP and scope_id is not None:
            cohorts = await repurchase_report.cohorts_report(
                ctx, actor, scope_id, since, period.end
            )
        days = await _daily_viewers(ctx, scope, period)
    except AppError as error:
        return redirect(request, back, error.message, "error")
    identity = change.current
    return await render(
        request,
        ctx,
        actor,
        "analytics.html",
        shop=shop,
        kind=kind.value,
        api=_api_base(kind, scope_id),
        month=first,
        previous=months_back(first, 1),
        following=month_after(first),
        identity=identity,
        change=change,
        cohorts=cohorts,
        repurchase=repurchase,
        factor_labels=FACTOR_LABELS,
        charts_json=as_json(_charts(identity, change, days, repurchase, claims)),
        claims=claims,
        this_path=back,
    )


def redirect_path(kind: ScopeKind) -> str:
    """Where a dashboard of this kind lives."""
    return PLATFORM_PATH if kind is ScopeKind.PLATFORM else DASHBOARD_PATH


def _api_base(kind: ScopeKind, scope_id: str | None) -> str:
    """The API path the page's CSV links start from."""
    if kind is ScopeKind.PLATFORM:
        return "/api/analytics/platform"
    return f"/api/analytics/{kind.value}/{scope_id}"


@router.get("/seller/analytics/sessions/{session_id}", response_class=HTMLResponse)
async def session_page(
    session_id: str, request: Request, ctx: CtxDep, actor: SellerViewer
) -> Response:
    """A live session minute by minute: viewers, entries, orders, flash sales and pins."""
    try:
        report = await session_report.session_report(ctx, actor, session_id)
    except AppError as error:
        return redirect(request, DASHBOARD_PATH, error.message, "error")
    minutes = [
        {
            "minute": m.minute.strftime("%H:%M"),
            "viewers": m.viewers,
            "entries": m.entries,
            "orders": m.orders,
            "gmv_minor": m.gmv_minor,
        }
        for m in report.minutes
    ]
    return await render(
        request,
        ctx,
        actor,
        "analytics_session.html",
        report=report,
        minutes_json=as_json(minutes),
    )
