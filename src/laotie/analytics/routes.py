"""HTTP routes of analytics: the GMV identity of a period and what moved it since another."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response

from laotie.accounts.deps import ActorDep
from laotie.analytics import clv_report, repurchase_report, service, session_report, tables
from laotie.analytics.errors import AnalyticsError
from laotie.analytics.facts import Period
from laotie.analytics.schemas import (
    ChangeOut,
    ClvOut,
    CohortsOut,
    IdentityOut,
    RepurchaseOut,
    RfmOut,
    ScopeKind,
    SessionReportOut,
)
from laotie.core.deps import CtxDep, Offset
from laotie.core.errors import AppError, CommonError
from laotie.core.openapi import errors

router = APIRouter(tags=["analytics"])

Scoped = Literal["shop", "anchor", "session"]
Day = Annotated[date, Query(description="a UTC day, YYYY-MM-DD")]
REFUSALS = errors(CommonError.NOT_FOUND, AnalyticsError.PERIOD_INVALID)


# Each table also answers as CSV with `?format=csv` (text/csv, one header row, money in
# minor units, an empty cell where JSON has null).

Format = Annotated[Literal["json", "csv"], Query(description="json, or csv for a download")]
CSV_OR_REFUSALS: dict[int | str, dict[str, Any]] = {
    **REFUSALS,
    200: {"content": {"text/csv": {"schema": {"type": "string"}}}},
}


def csv_download(text: str, name: str) -> Response:
    """A CSV download."""
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


# Where the figures are read from: the rollups (the dashboards' way, fast on long
# histories) or the raw visits and orders, which give the same figures (the tests hold
# them equal) at the cost of reading every row; for checking and for benchmarks.
Source = Annotated[
    Literal["rollups", "raw"], Query(description="rollups (filled days; raw after), or raw")
]


@router.get(
    "/api/analytics/platform/identity", response_model=IdentityOut, responses=CSV_OR_REFUSALS
)
async def platform_identity(
    start: Day,
    end: Day,
    ctx: CtxDep,
    actor: ActorDep,
    source: Source = "rollups",
    format: Format = "json",
) -> IdentityOut | Response:
    """The platform's GMV over the days [start, end) as UV × T × c × F × AOV (operators)."""
    period = _period(start, end)
    raw = source == "raw"
    report = await service.gmv_identity(ctx, actor, ScopeKind.PLATFORM, None, period, raw=raw)
    return _identity_answer(report, format, f"gmv-platform-{start}-{end}")


@router.get("/api/analytics/platform/change", response_model=ChangeOut, responses=CSV_OR_REFUSALS)
async def platform_change(
    start: Day,
    end: Day,
    ctx: CtxDep,
    actor: ActorDep,
    base_start: Day | None = None,
    base_end: Day | None = None,
    source: Source = "rollups",
    format: Format = "json",
) -> ChangeOut | Response:
    """What moved the platform's GMV since the base period (by default the one just before)."""
    period = _period(start, end)
    base = _base(period, base_start, base_end)
    report = await service.gmv_change(
        ctx, actor, ScopeKind.PLATFORM, None, period, base, raw=source == "raw"
    )
    return _change_answer(report, format, f"gmv-change-platform-{start}-{end}")


@router.get(
    "/api/analytics/{scope}/{scope_id}/identity",
    response_model=IdentityOut,
    responses=CSV_OR_REFUSALS,
)
async def scope_identity(
    scope: Scoped,
    scope_id: str,
    start: Day,
    end: Day,
    ctx: CtxDep,
    actor: ActorDep,
    source: Source = "rollups",
    format: Format = "json",
) -> IdentityOut | Response:
    """A shop's, an anchor's or a live session's GMV over the days [start, end), by factor,
    segment (private, public, shelf) and city tier (the shop's owner, the anchor, operators)."""
    period, raw = _period(start, end), source == "raw"
    report = await service.gmv_identity(ctx, actor, ScopeKind(scope), scope_id, period, raw=raw)
    return _identity_answer(report, format, f"gmv-{scope}-{scope_id}-{start}-{end}")


@router.get(
    "/api/analytics/{scope}/{scope_id}/change", response_model=ChangeOut, responses=CSV_OR_REFUSALS
)
async def scope_change(
    scope: Scoped,
    scope_id: str,
    start: Day,
    end: Day,
    ctx: CtxDep,
    actor: ActorDep,
    base_start: Day | None = None,
    base_end: Day | None = None,
    source: Source = "rollups",
    format: Format = "json",
) -> ChangeOut | Response:
    """What moved GMV since the base period (by default the one just before), attributed
    to the factors and to the private/public structure by LMDI-I, in minor units."""
    period = _period(start, end)
    base = _base(period, base_start, base_end)
    report = await service.gmv_change(
        ctx, actor, ScopeKind(scope), scope_id, period, base, raw=source == "raw"
    )
    return _change_answer(report, format, f"gmv-change-{scope}-{scope_id}-{start}-{end}")


def _identity_answer(report: IdentityOut, format: str, name: str) -> IdentityOut | Response:
    return csv_download(tables.identity_csv(report), name) if format == "csv" else report


def _change_answer(report: ChangeOut, format: str, name: str) -> ChangeOut | Response:
    return csv_download(tables.change_csv(report), name) if format == "csv" else report


def _period(start: date, end: date) -> Period:
    """A period of whole days, or a 422 naming what is wrong."""
    if end <= start:
        raise AppError.of(AnalyticsError.PERIOD_INVALID, "end must be after start")
    return service.check_period(Period(start, end))


def _base(period: Period, start: date | None, end: date | None) -> Period:
    """The base period asked for, or the one of the same length just before the period."""
    if start is None and end is None:
        try:
            return period.before()
        except OverflowError:  # before the calendar's first day
            raise AppError.of(AnalyticsError.PERIOD_INVALID, "no period before this one") from None
    if start is None or end is None:
        raise AppError.of(AnalyticsError.PERIOD_INVALID, "give both base_start and base_end")
    return _period(start, end)


# ---------------------------------------------------------------- repurchase, cohorts, RFM


@router.get(
    "/api/analytics/shop/{shop_id}/repurchase",
    response_model=RepurchaseOut,
    responses=CSV_OR_REFUSALS,
)
async def shop_repurchase(
    shop_id: str,
    start: Day,
    end: Day,
    ctx: CtxDep,
    actor: ActorDep,
    source: Source = "rollups",
    format: Format = "json",
) -> RepurchaseOut | Response:
    """A shop's repurchase rate, repeat orders and the private domain's share of them, for
    each UTC month overlapping [start, end) (the shop's owner, operators)."""
    report = await repurchase_report.repurchase_report(
        ctx, actor, ScopeKind.SHOP, shop_id, start, end, raw=source == "raw"
    )
    if format == "csv":
        return csv_download(
            repurchase_report.repurchase_csv(report), f"repurchase-{shop_id}-{start}-{end}"
        )
    return report


@router.get(
    "/api/analytics/platform/repurchase",
    response_model=RepurchaseOut,
    responses=CSV_OR_REFUSALS,
)
async def platform_repurchase(
    start: Day,
    end: Day,
    ctx: CtxDep,
    actor: ActorDep,
    source: Source = "rollups",
    format: Format = "json",
) -> RepurchaseOut | Response:
    """The platform's repurchase month by month, its shops' buyers and repeat buyers
    summed (operators)."""
    report = await repurchase_report.repurchase_report(
        ctx, actor, ScopeKind.PLATFORM, None, start, end, raw=source == "raw"
    )
    if format == "csv":
        return csv_download(
            repurchase_report.repurchase_csv(report), f"repurchase-platform-{start}-{end}"
        )
    return report


@router.get(
    "/api/analytics/shop/{shop_id}/cohorts",
    response_model=CohortsOut,
    responses=CSV_OR_REFUSALS,
)
async def shop_cohorts(
    shop_id: str, start: Day, end: Day, ctx: CtxDep, actor: ActorDep, format: Format = "json"
) -> CohortsOut | Response:
    """A shop's customers by the UTC month of their first paid order (the months
    overlapping [start, end), 24 at most) and how many paid again each month after."""
    report = await repurchase_report.cohorts_report(ctx, actor, shop_id, start, end)
    if format == "csv":
        return csv_download(
            repurchase_report.cohorts_csv(report), f"cohorts-{shop_id}-{start}-{end}"
        )
    return report


@router.get(
    "/api/analytics/shop/{shop_id}/rfm",
    response_model=RfmOut,
    responses=CSV_OR_REFUSALS,
)
async def shop_rfm(
    shop_id: str,
    day: Day,
    ctx: CtxDep,
    actor: ActorDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Offset = 0,
    format: Format = "json",
) -> RfmOut | Response:
    """A shop's customers scored on recency, frequency and money as of the end of a day,
    counted per segment, and a page of them, highest total first (CSV: all of them)."""
    if format == "csv":
        _, _, scored = await repurchase_report.rfm_customers(ctx, actor, shop_id, day)
        return csv_download(repurchase_report.rfm_csv(scored), f"rfm-{shop_id}-{day}")
    return await repurchase_report.rfm_report(ctx, actor, shop_id, day, limit, offset)


@router.get(
    "/api/analytics/shop/{shop_id}/customers/value",
    response_model=ClvOut,
    responses=CSV_OR_REFUSALS,
)
async def shop_customer_value(
    shop_id: str,
    day: Day,
    ctx: CtxDep,
    actor: ActorDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Offset = 0,
    format: Format = "json",
) -> ClvOut | Response:
    """A shop's customers as of the end of a day: each one's probability of still being a
    customer, expected purchases and value over the next 12 months (BG/NBD and Gamma-Gamma,
    fitted to the shop, or to the platform where the shop has too few customers), and the
    shop's 12-month value; a page of them, highest value first (CSV: all of them)."""
    if format == "csv":
        found = await clv_report.shop_value(ctx, actor, shop_id, day)
        return csv_download(clv_report.clv_csv(found.customers), f"customer-value-{shop_id}-{day}")
    return await clv_report.clv_report(ctx, actor, shop_id, day, limit, offset)


# ---------------------------------------------------------------- a live session's report

ReportFormat = Annotated[
    Literal["json", "csv"], Query(description="json, or csv: the minutes, one row each")
]
SESSION_REPORT_ANSWERS: dict[int | str, dict[str, Any]] = {
    **errors(CommonError.NOT_FOUND),
    200: {"content": {"text/csv": {"schema": {"type": "string"}}}},
}


@router.get(
    "/api/analytics/session/{session_id}/report",
    response_model=SessionReportOut,
    responses=SESSION_REPORT_ANSWERS,
)
async def live_session_report(
    session_id: str, ctx: CtxDep, actor: ActorDep, format: ReportFormat = "json"
) -> SessionReportOut | Response:
    """A live session minute by minute (viewers, entries by source, paid orders and GMV),
    its flash sales, its pins against sales and its watch times; computed on request while
    live (`final: false`), final once ended (the anchor, the shop's owner, operators)."""
    report = await session_report.session_report(ctx, actor, session_id)
    if format == "json":
        return report
    return csv_download(session_report.minutes_csv(report), f"session-{session_id}")
