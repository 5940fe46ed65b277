"""The month rollups: each scope's calendar month counted once it is final.

A month's report from the day rollups reads all of its viewer-days and sales, a row a
viewer a day: a shop's month is a thousand or two, the platform's millions. Once the day
rollups hold a whole month, the job counts it, from those rows and by the same code as any
other period (`identity.count`, `cohorts.monthly_repurchase`), for the platform, every
shop and every anchor with anything in the month, and keeps only the figures:

- `month_counts`: the identity's parts (each domain, the live channel, the shelf, each
  city tier, the orders in other currencies), in the scope's currency of the time;
- `repurchase_months`: each shop's buyers, repeat buyers and repeat orders, per currency.

A report of a calendar month (or of a run of them, for repurchase) reads these, and any
other period the day rollups. Filling a month deletes its rows and writes them again, so
a refill is harmless; `rollup_fills` says how far, as for the days.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, timedelta

from sqlalchemy import delete, insert, select

from laotie.analytics import cohorts as calc
from laotie.analytics import identity as gmv
from laotie.analytics import rollups
from laotie.analytics.facts import Facts, Period, Scope
from laotie.analytics.identity import Identity, Tally
from laotie.analytics.models import MonthCount, RepurchaseMonth, SaleFact, ViewerDay
from laotie.analytics.rollups import do_mark_filled, filled_through
from laotie.analytics.schemas import ScopeKind
from laotie.catalog import service as catalog
from laotie.catalog import views as shelf_views
from laotie.core.context import Ctx

MONTH_ROLLUPS = ("month_counts", "repurchase_months")
# Months counted by one run of the job at most: each reads all of a month's rows.
MONTHS_A_RUN = 2
LIVE, OTHER, TIER = "live", "other_currencies", "tier:"
PLATFORM_ID = ""  # the platform's scope_id in month_counts
COUNTED = {ScopeKind.PLATFORM, ScopeKind.SHOP, ScopeKind.ANCHOR}  # a session is a day or two


# ---------------------------------------------------------------- which months


def whole_month(period: Period) -> date | None:
    """The month a period is, if it is exactly one calendar month."""
    month = calc.month_of(period.start)
    if period.start == month and period.end == calc.next_month(month):
        return month
    return None


async def months_filled_through(ctx: Ctx) -> date | None:
    """The last day of the last month counted in every month rollup (None: none yet)."""
    return await filled_through(ctx, MONTH_ROLLUPS)


async def months_due(ctx: Ctx) -> list[date]:
    """The whole months the day rollups hold that are not counted yet, oldest first, at
    most a run's worth."""
    days = await filled_through(ctx)
    if days is None:
        return []
    counted = await months_filled_through(ctx)
    month = calc.next_month(calc.month_of(counted)) if counted else await _first_month(ctx)
    due = []
    while month is not None and calc.next_month(month) - timedelta(days=1) <= days:
        due.append(month)
        month = calc.next_month(month)
    return due[:MONTHS_A_RUN]


async def _first_month(ctx: Ctx) -> date | None:
    first = await ctx.db.scalar(select(ViewerDay.day).order_by(ViewerDay.day).limit(1))
    sold = await ctx.db.scalar(select(SaleFact.day).order_by(SaleFact.day).limit(1))
    days = [d for d in (first, sold) if d is not None]
    return calc.month_of(min(days)) if days else None


# ---------------------------------------------------------------- filling


async def do_fill_month(ctx: Ctx, month: date) -> int:
    """Count one final month of every scope again; return how many scopes had rows."""
    period = Period(month, calc.next_month(month))
    days = await filled_through(ctx)
    if days is None or days < period.last_day:
        raise ValueError(f"the day rollups do not hold all of {month:%Y-%m} yet")
    await ctx.db.execute(delete(MonthCount).where(MonthCount.month == month))
    await ctx.db.execute(delete(RepurchaseMonth).where(RepurchaseMonth.month == month))
    counted = 0
    for scope, facts in await _every_scopes_facts(ctx, period):
        found = gmv.count(facts, period, scope.currency)
        await ctx.db.execute(insert(MonthCount), _count_rows(scope, found))
        counted += 1
    for shop_id in await _shops_selling_in(ctx, period):
        rows = _repurchase_rows(shop_id, month, await _buyers_purchases(ctx, shop_id, period))
        if rows:
            await ctx.db.execute(insert(RepurchaseMonth), rows)
    return counted


async def _every_scopes_facts(ctx: Ctx, period: Period) -> list[tuple[Scope, Facts]]:
    """The platform's, each shop's and each anchor's facts of a final period, as
    `rollups.rolled_facts` reads them for each, from one read of the rollups."""
    days, sales = await rollups.every_scopes_rows(ctx, period)
    shop_days, anchor_days = defaultdict(list), defaultdict(list)
    for shop_id, anchor_id, day in days:
        shop_days[shop_id].append(day)
        anchor_days[anchor_id].append(day)
    shop_sales, anchor_sales = defaultdict(list), defaultdict(list)
    for hosted_by, sale in sales:
        shop_sales[sale.shop_id].append(sale)
        if hosted_by is not None:
            anchor_sales[hosted_by].append(sale)
    visited = await shelf_views.shelf_visitors_by_day(ctx, None, period.start, period.last_day)
    platform = Scope(ScopeKind.PLATFORM, None, None, None, None, True, ctx.settings.currency)
    shelf = await shelf_views.shelf_visitor_keys(ctx, None, period.start, period.last_day)
    found = [(platform, Facts([d for _, _, d in days], [s for _, s in sales], shelf))]
    for shop_id in sorted(shop_days.keys() | shop_sales.keys() | visited.keys()):
        currency = (await catalog.get_shop(ctx, shop_id)).currency
        scope = Scope(ScopeKind.SHOP, shop_id, None, shop_id, None, True, currency)
        shelf = await shelf_views.shelf_visitor_keys(ctx, shop_id, period.start, period.last_day)
        found.append((scope, Facts(shop_days[shop_id], shop_sales[shop_id], shelf)))
    for anchor_id in sorted(anchor_days.keys() | anchor_sales.keys()):
        currency = ctx.settings.currency
        scope = Scope(ScopeKind.ANCHOR, anchor_id, None, None, anchor_id, False, currency)
        found.append((scope, Facts(anchor_days[anchor_id], anchor_sales[anchor_id], None)))
    return found


async def do_mark_months_filled(ctx: Ctx, month: date) -> None:
    """Record that every month rollup is counted through this month."""
    await do_mark_filled(ctx, calc.next_month(month) - timedelta(days=1), MONTH_ROLLUPS)


async def _shops_selling_in(ctx: Ctx, period: Period) -> list[str]:
    query = select(SaleFact.shop_id).distinct()
    query = query.where(SaleFact.day >= period.start, SaleFact.day < period.end)
    return sorted(await ctx.db.scalars(query))


def _count_rows(scope: Scope, found: Identity) -> list[dict[str, object]]:
    """The month_counts rows of a scope's counted month."""
    parts: dict[str, Tally] = {**found.live, LIVE: found.live_total}
    if found.shelf is not None:
        parts[gmv.SHELF] = found.shelf
    parts |= {TIER + tier: tally for tier, tally in found.tiers.items()}
    if found.other_currencies:
        parts[OTHER] = Tally(orders=found.other_currencies)
    key = {
        "month": found.period.start,
        "scope": str(scope.kind),
        "scope_id": scope.scope_id or PLATFORM_ID,
        "currency": scope.currency,
    }
    return [
        {
            **key,
            "part": part,
            "uv": t.uv,
            "watch_seconds": t.watch_seconds,
            "buyers": t.buyers,
            "orders": t.orders,
            "gmv_minor": t.gmv_minor,
        }
        for part, t in parts.items()
    ]


# ---------------------------------------------------------------- repurchase


async def _buyers_purchases(
    ctx: Ctx, shop_id: str, period: Period
) -> dict[str, list[calc.Purchase]]:
    """The shop's orders of the period's buyers, from the lookback before it to its end, by
    currency: all that the period's repurchase reads (a buyer without an order in it is no
    buyer of it). An order is private domain when it is live and its visit was."""
    buyers = select(SaleFact.buyer_id).where(
        SaleFact.shop_id == shop_id, SaleFact.day >= period.start, SaleFact.day < period.end
    )
    query = select(
        SaleFact.currency,
        SaleFact.buyer_id,
        SaleFact.paid_at,
        SaleFact.total_minor,
        SaleFact.session_id.is_not(None) & SaleFact.visit_private.is_(True),
    ).where(
        SaleFact.shop_id == shop_id,
        SaleFact.day >= period.start - calc.LOOKBACK,
        SaleFact.day < period.end,
        SaleFact.buyer_id.in_(buyers),
    )
    found: dict[str, list[calc.Purchase]] = defaultdict(list)
    for currency, buyer_id, paid_at, total_minor, private in await ctx.db.execute(query):
        found[currency].append(
            calc.Purchase(shop_id, buyer_id, paid_at, total_minor, bool(private))
        )
    return found


def _repurchase_rows(
    shop_id: str, month: date, by_currency: dict[str, list[calc.Purchase]]
) -> list[dict[str, object]]:
    """The repurchase_months rows of a shop's month, a row per currency it sold in."""
    rows = []
    for currency, purchases in sorted(by_currency.items()):
        (counted,) = calc.monthly_repurchase(purchases, [month])
        if counted.buyers:
            rows.append(
                {
                    "shop_id": shop_id,
                    "currency": currency,
                    "month": month,
                    "buyers": counted.buyers,
                    "repeat_buyers": counted.repeat_buyers,
                    "repeat_orders": counted.repeat_orders,
                    "private_repeat_orders": counted.private_repeat_orders,
                }
            )
    return rows


# ---------------------------------------------------------------- reading


async def counted_month(ctx: Ctx, scope: Scope, period: Period) -> Identity | None:
    """A scope's identity of a calendar month from the month rollups, or None where they
    do not have it: another period, a month not counted yet, a session, or a scope whose
    currency has changed since."""
    month = whole_month(period)
    if month is None or scope.kind not in COUNTED:
        return None
    counted = await months_filled_through(ctx)
    if counted is None or counted < period.last_day:
        return None
    query = select(MonthCount).where(
        MonthCount.month == month,
        MonthCount.scope == str(scope.kind),
        MonthCount.scope_id == (scope.scope_id or PLATFORM_ID),
    )
    rows = list(await ctx.db.scalars(query))
    if any(row.currency != scope.currency for row in rows):
        return None
    return _identity(period, scope, {row.part: _tally(row) for row in rows})


def _tally(row: MonthCount) -> Tally:
    return Tally(row.uv, row.watch_seconds, row.buyers, row.orders, row.gmv_minor)


def _identity(period: Period, scope: Scope, parts: dict[str, Tally]) -> Identity:
    """The identity kept as parts (none at all: a month with nothing in it)."""
    return Identity(
        period,
        scope.currency,
        {domain: parts.get(domain, Tally()) for domain in gmv.LIVE_SEGMENTS},
        parts.get(LIVE, Tally()),
        parts.get(gmv.SHELF, Tally()) if scope.with_shelf else None,
        {
            part.removeprefix(TIER): tally
            for part, tally in sorted(parts.items())
            if part.startswith(TIER)
        },
        parts[OTHER].orders if OTHER in parts else 0,
    )


async def counted_repurchase(
    ctx: Ctx, shop_id: str | None, currency: str, months: Iterable[date]
) -> dict[date, calc.MonthRepurchase]:
    """The months' repurchase that the month rollups hold, of a shop (None: summed over
    every shop, as `cohorts.monthly_repurchase` sums them) in a currency."""
    counted = await months_filled_through(ctx)
    wanted = [m for m in months if counted is not None and m <= counted]
    if not wanted:
        return {}
    query = select(RepurchaseMonth).where(
        RepurchaseMonth.currency == currency,
        RepurchaseMonth.month >= wanted[0],
        RepurchaseMonth.month <= wanted[-1],
    )
    if shop_id is not None:
        query = query.where(RepurchaseMonth.shop_id == shop_id)
    sums = {month: [0, 0, 0, 0] for month in wanted}
    for row in await ctx.db.scalars(query):
        if row.month in sums:
            figures = (row.buyers, row.repeat_buyers, row.repeat_orders, row.private_repeat_orders)
            sums[row.month] = [a + b for a, b in zip(sums[row.month], figures, strict=True)]
    return {month: calc.MonthRepurchase(month, *figures) for month, figures in sums.items()}
