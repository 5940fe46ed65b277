"""The facts the GMV identity counts, read from the raw rows.

Two kinds of row, the same whether read from visits and orders here or from the rollups
(`analytics/rollups.py`), so that both give the same identity by construction:

- a **viewer-day**: one viewer's visits to one session that began on one UTC day, with its
  first visit (moment, id, domain) and the seconds watched;
- a **sale**: a paid order with the visit it came from.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from laotie.catalog import views as shelf_views
from laotie.core.context import Ctx
from laotie.live.room.visits import VisitFact, visits_between, visits_by_id
from laotie.orders.queries import PaidSale, paid_sales


@dataclass(frozen=True, slots=True)
class Period:
    """Whole UTC days [start, end)."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ValueError("a period ends after it starts")

    @property
    def since(self) -> datetime:
        """The first moment of the period."""
        return datetime.combine(self.start, time(), UTC)

    @property
    def until(self) -> datetime:
        """The first moment after the period."""
        return datetime.combine(self.end, time(), UTC)

    @property
    def last_day(self) -> date:
        """The period's last day (included)."""
        return self.end - timedelta(days=1)

    def before(self) -> Period:
        """The period of the same length just before this one."""
        return Period(self.start - (self.end - self.start), self.start)


@dataclass(frozen=True, slots=True)
class Scope:
    """What a report counts: one shop's, one anchor's, one session's or every session
    (`session_ids` None), and the shelf of one shop or of every shop (`with_shelf`)."""

    kind: str  # shop, anchor, session or platform
    scope_id: str | None
    session_ids: list[str] | None
    shop_id: str | None
    anchor_id: str | None
    with_shelf: bool
    currency: str


@dataclass(frozen=True, slots=True)
class ViewerDayRow:
    """One viewer's visits to one session that began on one UTC day."""

    day: date
    session_id: str
    viewer_key: str
    first_at: datetime
    first_visit_id: str
    private: bool  # the first visit's domain
    watch_seconds: int


@dataclass(frozen=True, slots=True)
class SaleRow:
    """A paid order and the visit it came from (absent for the shelf, or a lost visit)."""

    order_id: str
    buyer_id: str
    shop_id: str
    session_id: str | None
    total_minor: int
    currency: str
    city_tier: str | None
    paid_at: datetime
    visit_id: str | None
    visit_viewer_key: str | None
    visit_entered_at: datetime | None
    visit_private: bool | None
    visit_watch_seconds: int | None


@dataclass(frozen=True, slots=True)
class Facts:
    """A scope's facts over a period: its viewer-days, its sales, its shelf's visitors."""

    viewer_days: list[ViewerDayRow]
    sales: list[SaleRow]
    shelf_viewers: set[str] | None  # None where the scope has no shelf


async def raw_facts(ctx: Ctx, scope: Scope, period: Period) -> Facts:
    """Read a scope's facts over a period from the visits, orders and shelf views."""
    visits = await visits_between(ctx, period.since, period.until, scope.session_ids)
    if scope.with_shelf:  # a shop's (or every shop's) orders, live and shelf
        paid = await paid_sales(ctx, period.since, period.until, shop_id=scope.shop_id)
    else:
        paid = await paid_sales(ctx, period.since, period.until, session_ids=scope.session_ids)
    shelf = None
    if scope.with_shelf:
        shelf = await shelf_views.shelf_visitor_keys(
            ctx, scope.shop_id, period.start, period.last_day
        )
    return Facts(viewer_days(visits), await sale_rows(ctx, paid), shelf)


def viewer_days(visits: Iterable[VisitFact]) -> list[ViewerDayRow]:
    """Group visits by the day they began, their session and their viewer."""
    rows: dict[tuple[date, str, str], ViewerDayRow] = {}
    for visit in sorted(visits, key=lambda v: (v.entered_at, v.visit_id)):
        key = (visit.entered_at.date(), visit.session_id, visit.viewer_key)
        known = rows.get(key)
        if known is None:
            rows[key] = ViewerDayRow(
                *key, visit.entered_at, visit.visit_id, visit.private, visit.watch_seconds
            )
        else:
            watched = known.watch_seconds + visit.watch_seconds
            rows[key] = ViewerDayRow(*key, *_first(known), watched)
    return list(rows.values())


def _first(row: ViewerDayRow) -> tuple[datetime, str, bool]:
    return row.first_at, row.first_visit_id, row.private


async def sale_rows(ctx: Ctx, paid: Sequence[PaidSale]) -> list[SaleRow]:
    """Join paid orders to the visits they came from."""
    visits = await visits_by_id(ctx, [sale.visit_id for sale in paid if sale.visit_id])
    return [_sale_row(sale, visits.get(sale.visit_id or "")) for sale in paid]


def _sale_row(sale: PaidSale, visit: VisitFact | None) -> SaleRow:
    return SaleRow(
        sale.order_id,
        sale.buyer_id,
        sale.shop_id,
        sale.session_id,
        sale.total_minor,
        sale.currency,
        sale.city_tier,
        sale.paid_at,
        visit.visit_id if visit else None,
        visit.viewer_key if visit else None,
        visit.entered_at if visit else None,
        visit.private if visit else None,
        visit.watch_seconds if visit else None,
    )
