"""Repurchase by month, first-purchase cohorts and RFM segments: who may read them, the
reads behind them, their wire form and their CSV."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from laotie.accounts.permissions import Actor
from laotie.analytics import cohorts as calc
from laotie.analytics import months
from laotie.analytics.errors import AnalyticsError
from laotie.analytics.schemas import (
    CohortOut,
    CohortsOut,
    RepurchaseMonthOut,
    RepurchaseOut,
    RetentionOut,
    RfmCustomerOut,
    RfmOut,
    RfmSegmentOut,
    ScopeKind,
)
from laotie.analytics.service import access_scope
from laotie.analytics.tables import to_csv
from laotie.core.clock import as_utc
from laotie.core.context import Ctx
from laotie.core.errors import AppError
from laotie.live.room.visits import visits_by_id
from laotie.orders.queries import PaidSale, paid_sales

MAX_MONTHS = 24  # months (and cohorts) of one report: each reads its raw orders
# Before any order: cohorts and RFM read a shop's whole history.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Months:
    """The calendar months of a report and the moments it reads between."""

    months: list[date]
    since: datetime  # the first moment of the first month
    until: datetime  # the first moment after the last month


def check_months(start: date, end: date) -> Months:
    """The whole months overlapping [start, end), or a 422 naming what is wrong."""
    if end <= start:
        raise _invalid("end must be after start")
    count = calc.months_apart(calc.month_of(start), calc.month_of(end - timedelta(days=1))) + 1
    if count > MAX_MONTHS:
        raise _invalid(f"a report covers {MAX_MONTHS} months at most")
    try:
        months = calc.months_overlapping(start, end)
        since = calc.midnight(months[0])
        until = calc.midnight(calc.next_month(months[-1]))
    except (OverflowError, ValueError):  # a month after 9999
        raise _invalid("the period runs outside the calendar") from None
    if months[0] - date.min < calc.LOOKBACK:  # the lookback before the first month
        raise _invalid("the period runs outside the calendar")
    return Months(months, since, until)


def check_day(day: date) -> date:
    """A day whose end is in the calendar."""
    if day == date.max:
        raise _invalid("the day runs outside the calendar")
    return day


def _invalid(message: str) -> AppError:
    return AppError.of(AnalyticsError.PERIOD_INVALID, message)


def _yyyy_mm(month: date) -> str:
    return month.strftime("%Y-%m")


# ---------------------------------------------------------------- reads


async def purchases(
    ctx: Ctx,
    shop_id: str | None,
    currency: str,
    since: datetime,
    until: datetime,
    *,
    private_from: datetime | None = None,
) -> list[calc.Purchase]:
    """A shop's (or every shop's) orders paid in [since, until) in the currency; with
    `private_from`, those paid from then on say whether their visit was private domain."""
    sales = [
        s for s in await paid_sales(ctx, since, until, shop_id=shop_id) if s.currency == currency
    ]
    private: set[str] = set()
    if private_from is not None:
        wanted = [
            s.visit_id for s in _live(sales) if s.visit_id and as_utc(s.paid_at) >= private_from
        ]
        private = {v.visit_id for v in (await visits_by_id(ctx, wanted)).values() if v.private}
    return [
        calc.Purchase(
            s.shop_id,
            s.buyer_id,
            as_utc(s.paid_at),
            s.total_minor,
            s.session_id is not None and s.visit_id in private,
        )
        for s in sales
    ]


def _live(sales: Iterable[PaidSale]) -> list[PaidSale]:
    """The live orders: a shelf order is never private domain, whatever visit it names."""
    return [s for s in sales if s.session_id is not None]


# ---------------------------------------------------------------- use-cases


async def repurchase_report(
    ctx: Ctx,
    actor: Actor,
    kind: ScopeKind,
    scope_id: str | None,
    start: date,
    end: date,
    *,
    raw: bool = False,
) -> RepurchaseOut:
    """A shop's (or, for operators, the platform's) repurchase month by month: the months
    the month rollups hold from them, the others (or all, `raw`) from the paid orders."""
    span = check_months(start, end)
    scope = await access_scope(ctx, actor, kind, scope_id)
    counted = {}
    if not raw:
        counted = await months.counted_repurchase(ctx, scope.shop_id, scope.currency, span.months)
    rest = [month for month in span.months if month not in counted]
    if rest:
        since = calc.midnight(rest[0])
        bought = await purchases(
            ctx,
            scope.shop_id,
            scope.currency,
            since - calc.LOOKBACK,
            span.until,
            private_from=since,
        )
        counted |= {m.month: m for m in calc.monthly_repurchase(bought, rest)}
    return RepurchaseOut(
        scope=scope.kind,
        scope_id=scope.scope_id,
        start=start,
        end=end,
        currency=scope.currency,
        lookback_days=calc.LOOKBACK.days,
        months=[_month_out(counted[month]) for month in span.months],
    )


def _month_out(month: calc.MonthRepurchase) -> RepurchaseMonthOut:
    return RepurchaseMonthOut(
        month=_yyyy_mm(month.month),
        buyers=month.buyers,
        repeat_buyers=month.repeat_buyers,
        rate=month.rate,
        repeat_orders=month.repeat_orders,
        private_repeat_orders=month.private_repeat_orders,
        private_share=month.private_share,
    )


async def cohorts_report(
    ctx: Ctx, actor: Actor, shop_id: str, start: date, end: date
) -> CohortsOut:
    """A shop's first-purchase cohorts of the months overlapping [start, end), followed to
    the last of them."""
    span = check_months(start, end)
    scope = await access_scope(ctx, actor, ScopeKind.SHOP, shop_id)
    bought = await purchases(ctx, scope.shop_id, scope.currency, EPOCH, span.until)
    found = calc.cohorts(bought, span.months, span.months[-1])
    return CohortsOut(
        scope=scope.kind,
        scope_id=scope.scope_id,
        start=start,
        end=end,
        currency=scope.currency,
        cohorts=[_cohort_out(cohort) for cohort in found],
    )


def _cohort_out(cohort: calc.Cohort) -> CohortOut:
    return CohortOut(
        month=_yyyy_mm(cohort.month),
        customers=cohort.customers,
        retention=[
            RetentionOut(months_since=k, customers=active, share=cohort.share(k))
            for k, active in enumerate(cohort.active)
        ],
    )


async def rfm_customers(
    ctx: Ctx, actor: Actor, shop_id: str, day: date
) -> tuple[str, str, list[calc.Rfm]]:
    """A shop's id, currency and customers scored as of the end of a day, best first."""
    check_day(day)
    scope = await access_scope(ctx, actor, ScopeKind.SHOP, shop_id)
    until = calc.midnight(day + timedelta(days=1))
    bought = await purchases(ctx, scope.shop_id, scope.currency, EPOCH, until)
    scored = sorted(
        calc.rfm(bought, day),
        key=lambda c: (-c.monetary_minor, -c.frequency, c.recency_days, c.buyer_id),
    )
    return str(scope.shop_id), scope.currency, scored


async def rfm_report(
    ctx: Ctx, actor: Actor, shop_id: str, day: date, limit: int, offset: int
) -> RfmOut:
    """A shop's customers per RFM segment as of the end of a day, and a page of them."""
    found_shop, currency, scored = await rfm_customers(ctx, actor, shop_id, day)
    return RfmOut(
        shop_id=found_shop,
        day=day,
        currency=currency,
        customers=len(scored),
        segments=[
            RfmSegmentOut(segment=name, customers=count)
            for name, count in calc.segment_counts(scored).items()
        ],
        limit=limit,
        offset=offset,
        items=[_customer_out(c) for c in scored[offset : offset + limit]],
    )


def _customer_out(customer: calc.Rfm) -> RfmCustomerOut:
    return RfmCustomerOut(
        buyer_id=customer.buyer_id,
        recency_days=customer.recency_days,
        frequency=customer.frequency,
        monetary_minor=customer.monetary_minor,
        r=customer.r,
        f=customer.f,
        m=customer.m,
        segment=customer.segment,
    )


# ---------------------------------------------------------------- CSV


def repurchase_csv(report: RepurchaseOut) -> str:
    """One row a month."""
    header = list(RepurchaseMonthOut.model_fields)
    return to_csv(header, ([getattr(m, name) for name in header] for m in report.months))


def cohorts_csv(report: CohortsOut) -> str:
    """One row a cohort and month since its first."""
    rows = (
        (cohort.month, cohort.customers, cell.months_since, cell.customers, cell.share)
        for cohort in report.cohorts
        for cell in cohort.retention
    )
    return to_csv(("cohort", "customers", "months_since", "active_customers", "share"), rows)


def rfm_csv(scored: Iterable[calc.Rfm]) -> str:
    """One row a customer."""
    header = list(RfmCustomerOut.model_fields)
    outs = (_customer_out(c) for c in scored)
    return to_csv(header, ([getattr(c, name) for name in header] for c in outs))
