"""The rollups dashboards read: viewer-days and sale facts, filled a final day at a time.

A day is final two days after it ends (`FINAL_AFTER_DAYS`): by then its visits have ended
and their watch time stopped moving. Filling a day deletes its rows and writes them again
from the raw rows, in one transaction, so a job that runs twice, or a refill after a
correction, is harmless. `rollup_fills` keeps how far each rollup is filled; a report
reads the rollups for the days filled and the raw rows for the days after, and counts the
two together as one set of facts (`facts.Facts`), so its distinct counts stay exact.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import delete, insert, select

from laotie.analytics.facts import (
    Facts,
    Period,
    SaleRow,
    Scope,
    ViewerDayRow,
    raw_facts,
    sale_rows,
    viewer_days,
)
from laotie.analytics.models import RollupFill, SaleFact, ViewerDay
from laotie.catalog import views as shelf_views
from laotie.core.context import Ctx
from laotie.live.room.visits import first_visit_at, visits_between
from laotie.live.session import service as sessions
from laotie.orders.queries import first_paid_at, paid_sales

ROLLUPS = ("viewer_days", "sale_facts")
FINAL_AFTER_DAYS = 2
# Days filled by one run of the job at most: a long history is filled over several runs.
DAYS_A_RUN = 7


# ---------------------------------------------------------------- filling


async def filled_through(ctx: Ctx, rollups: Sequence[str] = ROLLUPS) -> date | None:
    """The last day filled in every one of these rollups (None: none yet)."""
    query = select(RollupFill.rollup, RollupFill.filled_through).where(
        RollupFill.rollup.in_(rollups)
    )
    rows = dict((await ctx.db.execute(query)).all())
    if set(rows) != set(rollups):
        return None
    return min(rows.values())


def last_final_day(today: date) -> date:
    """The last day whose visits have all ended, as far as a rollup is concerned."""
    return today - timedelta(days=FINAL_AFTER_DAYS)


async def do_fill_day(ctx: Ctx, day: date) -> tuple[int, int]:
    """Write one day's rows of both rollups again; return how many of each."""
    period = Period(day, day + timedelta(days=1))
    visits = await visits_between(ctx, period.since, period.until)
    days = viewer_days(visits)
    sales = await sale_rows(ctx, await paid_sales(ctx, period.since, period.until))
    shows = await sessions.sessions_by_id(
        ctx, sorted({d.session_id for d in days} | {s.session_id for s in sales if s.session_id})
    )
    await ctx.db.execute(delete(ViewerDay).where(ViewerDay.day == day))
    await ctx.db.execute(delete(SaleFact).where(SaleFact.day == day))
    # Written a shop after another, so that a shop's rows of a day sit side by side in the
    # table (SQLite's rowids, PostgreSQL's heap): a shop's month is then read from a few
    # pages a day rather than from a page a row, which a long history no longer caches.
    if days:
        rows = sorted((_viewer_day(row, shows) for row in days), key=_viewer_day_order)
        await ctx.db.execute(insert(ViewerDay), rows)
    if sales:
        rows = sorted((_sale_fact(row, day, shows) for row in sales), key=_sale_fact_order)
        await ctx.db.execute(insert(SaleFact), rows)
    return len(days), len(sales)


def _viewer_day_order(row: dict[str, Any]) -> tuple[str, str, str]:
    return row["shop_id"], row["session_id"], row["viewer_key"]


def _sale_fact_order(row: dict[str, Any]) -> tuple[str, str, str]:
    return row["shop_id"], row["session_id"] or "", row["order_id"]


def _viewer_day(row: ViewerDayRow, shows: dict[str, Any]) -> dict[str, Any]:
    show = shows[row.session_id]
    return {
        "day": row.day,
        "session_id": row.session_id,
        "viewer_key": row.viewer_key,
        "shop_id": show.shop_id,
        "anchor_id": show.anchor_id,
        "first_at": row.first_at,
        "first_visit_id": row.first_visit_id,
        "private": row.private,
        "watch_seconds": row.watch_seconds,
    }


def _sale_fact(row: SaleRow, day: date, shows: dict[str, Any]) -> dict[str, Any]:
    show = shows.get(row.session_id or "")
    return {
        "order_id": row.order_id,
        "day": day,
        "buyer_id": row.buyer_id,
        "shop_id": row.shop_id,
        "session_id": row.session_id,
        "anchor_id": show.anchor_id if show is not None else None,
        "total_minor": row.total_minor,
        "currency": row.currency,
        "city_tier": row.city_tier,
        "paid_at": row.paid_at,
        "visit_id": row.visit_id,
        "visit_viewer_key": row.visit_viewer_key,
        "visit_entered_at": row.visit_entered_at,
        "visit_private": row.visit_private,
        "visit_watch_seconds": row.visit_watch_seconds,
    }


async def do_mark_filled(ctx: Ctx, day: date, rollups: Sequence[str] = ROLLUPS) -> None:
    """Record that every one of these rollups is filled through this day."""
    now = ctx.now()
    for rollup in rollups:
        fill = await ctx.db.get(RollupFill, rollup, with_for_update=True)
        if fill is None:
            ctx.db.add(RollupFill(rollup=rollup, filled_through=day, refreshed_at=now))
        else:
            fill.filled_through, fill.refreshed_at = day, now
    await ctx.db.flush()


async def first_day_with_facts(ctx: Ctx) -> date | None:
    """The first day a visit began or an order was paid, where empty rollups start."""
    moments = [m for m in (await first_visit_at(ctx), await first_paid_at(ctx)) if m]
    return min(moments).date() if moments else None


# ---------------------------------------------------------------- reading


async def rolled_facts(ctx: Ctx, scope: Scope, period: Period) -> Facts:
    """A scope's facts over a period: the rollups' rows for the days filled, raw after."""
    filled = await filled_through(ctx)
    if filled is None or filled < period.start:
        return await raw_facts(ctx, scope, period)
    rolled_end = min(filled + timedelta(days=1), period.end)
    days = await _viewer_days(ctx, scope, Period(period.start, rolled_end))
    sales = await _sales(ctx, scope, Period(period.start, rolled_end))
    shelf = None
    if scope.with_shelf:
        shelf = await shelf_views.shelf_visitor_keys(
            ctx, scope.shop_id, period.start, period.last_day
        )
    if rolled_end < period.end:
        rest = await raw_facts(ctx, scope, Period(rolled_end, period.end))
        days, sales = days + rest.viewer_days, sales + rest.sales
    return Facts(days, sales, shelf)


async def _viewer_days(ctx: Ctx, scope: Scope, period: Period) -> list[ViewerDayRow]:
    query = _VIEWER_DAYS.where(ViewerDay.day >= period.start, ViewerDay.day < period.end)
    if scope.shop_id is not None:
        query = query.where(ViewerDay.shop_id == scope.shop_id)
    elif scope.anchor_id is not None:
        query = query.where(ViewerDay.anchor_id == scope.anchor_id)
    elif scope.session_ids is not None:
        query = query.where(ViewerDay.session_id.in_(scope.session_ids))
    return [ViewerDayRow(*row) for row in await ctx.db.execute(query)]


async def _sales(ctx: Ctx, scope: Scope, period: Period) -> list[SaleRow]:
    query = _SALES.where(SaleFact.day >= period.start, SaleFact.day < period.end)
    if scope.shop_id is not None:
        query = query.where(SaleFact.shop_id == scope.shop_id)
        if not scope.with_shelf:
            query = query.where(SaleFact.session_id.is_not(None))
    elif scope.anchor_id is not None:
        query = query.where(SaleFact.anchor_id == scope.anchor_id)
    elif scope.session_ids is not None:
        query = query.where(SaleFact.session_id.in_(scope.session_ids))
    elif not scope.with_shelf:
        query = query.where(SaleFact.session_id.is_not(None))
    return [_sale_row(row) for row in await ctx.db.execute(query)]


def _sale_row(row: Any) -> SaleRow:
    return SaleRow(*row)


async def every_scopes_rows(
    ctx: Ctx, period: Period
) -> tuple[list[tuple[str, str, ViewerDayRow]], list[tuple[str | None, SaleRow]]]:
    """Every viewer-day of the period with its shop and anchor, and every sale with its
    anchor (None: the shelf), from the rollups alone: what all scopes count, read once."""
    in_days = (ViewerDay.day >= period.start, ViewerDay.day < period.end)
    query = select(ViewerDay.shop_id, ViewerDay.anchor_id, *_VIEWER_DAYS.selected_columns)
    days = [
        (s, a, ViewerDayRow(*row)) for s, a, *row in await ctx.db.execute(query.where(*in_days))
    ]
    in_sales = (SaleFact.day >= period.start, SaleFact.day < period.end)
    query = select(SaleFact.anchor_id, *_SALES.selected_columns)
    sales = [(a, SaleRow(*row)) for a, *row in await ctx.db.execute(query.where(*in_sales))]
    return days, sales


_VIEWER_DAYS = select(
    ViewerDay.day,
    ViewerDay.session_id,
    ViewerDay.viewer_key,
    ViewerDay.first_at,
    ViewerDay.first_visit_id,
    ViewerDay.private,
    ViewerDay.watch_seconds,
)
_SALES = select(
    SaleFact.order_id,
    SaleFact.buyer_id,
    SaleFact.shop_id,
    SaleFact.session_id,
    SaleFact.total_minor,
    SaleFact.currency,
    SaleFact.city_tier,
    SaleFact.paid_at,
    SaleFact.visit_id,
    SaleFact.visit_viewer_key,
    SaleFact.visit_entered_at,
    SaleFact.visit_private,
    SaleFact.visit_watch_seconds,
)


def days_between(first: date, last: date) -> Iterable[date]:
    """Every day from first to last, both included."""
    return (first + timedelta(days=n) for n in range((last - first).days + 1))


def unfilled_days(filled: date | None, first: date | None, today: date) -> Sequence[date]:
    """The final days not filled yet, oldest first, at most a run's worth."""
    start = filled + timedelta(days=1) if filled is not None else first
    if start is None:
        return []
    return list(days_between(start, last_final_day(today)))[:DAYS_A_RUN]
