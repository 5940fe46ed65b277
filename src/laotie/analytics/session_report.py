"""A live session's report: minute by minute, its flash sales, its pins and its watch times.

The report runs from the session's start (or its first entry, if someone came in earlier)
to its end, or to now while it is live, one row per UTC minute:

- **viewers**: distinct viewers with a visit whose [entered_at, last_seen_at] touches the
  minute (`last_seen_at` moves with each heartbeat and with the visit's end);
- **entries** by entry source, and private or public by the visit's domain (DESIGN.md);
- **orders and GMV** at the minute they were **paid**: GMV counts an order when it is paid
  (DESIGN.md), so the minutes add up to the session's GMV in the identity. Orders paid
  after the show ended are counted apart (`orders_after_end`).

What the anchor did is measured by when the buyer decided, so flash sales and pins read
orders at the moment they were **placed** (a buyer who pays in the drawer a minute later
still bought during the pin). Only paid orders count there too; their value is the
product's lines at their price, freight left out.

Computed on request from the rows the show saved; `final` once the session has ended and
none of its orders awaits payment, after which nothing here can change.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from laotie.accounts.permissions import Actor
from laotie.analytics import service
from laotie.analytics.schemas import (
    PinnedProductOut,
    PinReportOut,
    ReportMinuteOut,
    ReportTotalsOut,
    SaleReportOut,
    ScopeKind,
    SessionReportOut,
    WatchBucketOut,
    WatchTimeOut,
)
from laotie.analytics.tables import to_csv
from laotie.core.context import Ctx
from laotie.live.room.visits import VisitSpan, visit_spans
from laotie.live.sale.service import SaleTerms, sales_of_session
from laotie.live.schemas import EntrySource, SessionStatus
from laotie.live.session import service as sessions
from laotie.live.session.service import PinChange, pin_changes
from laotie.orders.queries import SessionOrder, orders_of_session

MINUTE = timedelta(minutes=1)
SOURCES = tuple(source.value for source in EntrySource)
# Lower bounds of the watch-time buckets, in seconds: a glance, a look, a minute, a
# product's explanation (about five minutes), then the longer stays.
WATCH_BUCKETS = (0, 10, 30, 60, 300, 600, 1800, 3600)
CSV_COLUMNS = (
    "minute",
    "viewers",
    "entries",
    "private_entries",
    "public_entries",
    *(f"entries_{source}" for source in SOURCES),
    "orders",
    "gmv_minor",
    "pinned_product_id",
)


@dataclass(frozen=True, slots=True)
class SessionFacts:
    """What a session's report is computed from, as the other features hand it over."""

    session_id: str
    status: str
    currency: str
    started_at: datetime | None
    ended_at: datetime | None
    visits: Sequence[VisitSpan]
    orders: Sequence[SessionOrder]
    sales: Sequence[SaleTerms]
    pins: Sequence[PinChange]


@dataclass(frozen=True, slots=True)
class Window:
    """The report's span: its first minute, its end, and whether the session has ended."""

    start: datetime
    end: datetime
    ended: bool

    @property
    def first_minute(self) -> datetime:
        """The minute the span begins in."""
        return minute_of(self.start)

    @property
    def minutes(self) -> int:
        """How many minutes the span touches."""
        return int((minute_of(self.end) - self.first_minute) // MINUTE) + 1

    def index(self, moment: datetime) -> int:
        """The row of the minute a moment falls in, held within the span."""
        row = int((minute_of(moment) - self.first_minute) // MINUTE)
        return min(max(row, 0), self.minutes - 1)

    @property
    def seconds(self) -> int:
        """The span's length."""
        return int((self.end - self.start).total_seconds())


async def session_report(ctx: Ctx, actor: Actor, session_id: str) -> SessionReportOut:
    """A session's report, for its anchor, its shop's owner and operators (404 otherwise)."""
    scope = await service.access_scope(ctx, actor, ScopeKind.SESSION, session_id)
    session = await sessions.load_session(ctx, session_id)
    facts = SessionFacts(
        session_id=session.id,
        status=session.status,
        currency=scope.currency,
        started_at=session.started_at,
        ended_at=session.ended_at,
        visits=await visit_spans(ctx, session.id),
        orders=await orders_of_session(ctx, session.id),
        sales=await sales_of_session(ctx, session.id),
        pins=await pin_changes(ctx, session.id),
    )
    return build_report(facts, ctx.now())


def build_report(facts: SessionFacts, now: datetime) -> SessionReportOut:
    """Compute a session's report from its facts as of now."""
    window = window_of(facts, now)
    paid = [o for o in facts.orders if o.paid_at is not None and o.currency == facts.currency]
    awaiting = sum(1 for o in facts.orders if o.paid_at is None)
    pins = pin_spans(facts.pins, window)
    return SessionReportOut(
        session_id=facts.session_id,
        status=facts.status,
        currency=facts.currency,
        start=window.start if window else None,
        end=window.end if window else None,
        final=facts.status == SessionStatus.ENDED and awaiting == 0,
        computed_at=now,
        totals=_totals(facts, paid, window, awaiting),
        minutes=minute_rows(facts, paid, window) if window else [],
        flash_sales=[sale_report(sale, facts.orders, facts.currency) for sale in facts.sales],
        pins=[_pin_out(pin, paid, now) for pin in pins],
        pinned_products=pinned_products(pins, paid, window, now) if window else [],
        watch_time=watch_time([visit.watch_seconds for visit in facts.visits]),
    )


def minute_of(moment: datetime) -> datetime:
    """The start of the minute a moment falls in."""
    return moment.replace(second=0, microsecond=0)


def window_of(facts: SessionFacts, now: datetime) -> Window | None:
    """From the start (or the first entry) to the end (or now); None before anything."""
    begun = [facts.started_at] if facts.started_at else []
    begun += [visit.entered_at for visit in facts.visits[:1]]  # the visits come by entry
    if not begun:
        return None
    start = min(begun)
    ended_at = facts.ended_at if facts.status == SessionStatus.ENDED else None
    return Window(start, max(start, ended_at or now), ended_at is not None)


# ---------------------------------------------------------------- the minutes


def minute_rows(
    facts: SessionFacts, paid: Sequence[SessionOrder], window: Window
) -> list[ReportMinuteOut]:
    """One row per minute of the window."""
    viewers = _viewers_by_minute(facts.visits, window)
    entries = _entries_by_minute(facts.visits, window)
    sold = _paid_by_minute(paid, window)
    rows = []
    for row in range(window.minutes):
        minute = window.first_minute + row * MINUTE
        by_source, private = entries[row]
        orders, gmv = sold[row]
        rows.append(
            ReportMinuteOut(
                minute=minute,
                viewers=len(viewers[row]),
                entries=sum(by_source.values()),
                private_entries=private,
                public_entries=sum(by_source.values()) - private,
                entries_by_source=by_source,
                orders=orders,
                gmv_minor=gmv,
                pinned_product_id=pinned_at(facts.pins, minute + MINUTE),
            )
        )
    return rows


def _viewers_by_minute(visits: Iterable[VisitSpan], window: Window) -> list[set[str]]:
    """Each minute's distinct viewers: a visit counts in every minute from entry to last seen."""
    online: list[set[str]] = [set() for _ in range(window.minutes)]
    for visit in visits:
        last = window.index(min(visit.last_seen_at, window.end))
        for row in range(window.index(visit.entered_at), last + 1):
            online[row].add(visit.viewer_key)
    return online


def _entries_by_minute(
    visits: Iterable[VisitSpan], window: Window
) -> list[tuple[dict[str, int], int]]:
    """Each minute's entries by source, and how many of them were private domain."""
    rows = [(dict.fromkeys(SOURCES, 0), 0) for _ in range(window.minutes)]
    for visit in visits:
        row = window.index(visit.entered_at)
        by_source, private = rows[row]
        by_source[visit.source] = by_source.get(visit.source, 0) + 1
        rows[row] = (by_source, private + visit.private)
    return rows


def _paid_by_minute(paid: Iterable[SessionOrder], window: Window) -> list[tuple[int, int]]:
    """Each minute's paid orders and their value; those paid after the end are left out."""
    rows = [(0, 0)] * window.minutes
    for order in paid:
        if order.paid_at is None or _after_end(order.paid_at, window):
            continue
        row = window.index(order.paid_at)
        rows[row] = (rows[row][0] + 1, rows[row][1] + order.total_minor)
    return rows


def _after_end(moment: datetime, window: Window) -> bool:
    """Whether a moment comes after the session ended (never while it is live)."""
    return window.ended and moment > window.end


def pinned_at(pins: Sequence[PinChange], moment: datetime) -> str | None:
    """The product pinned just before a moment (None: nothing pinned)."""
    product = None
    for change in pins:  # in the order they happened
        if change.at >= moment:
            break
        product = change.product_id
    return product


def _totals(
    facts: SessionFacts, paid: Sequence[SessionOrder], window: Window | None, awaiting: int
) -> ReportTotalsOut:
    """The whole session's audience and sales."""
    by_source = dict.fromkeys(SOURCES, 0)
    for visit in facts.visits:
        by_source[visit.source] = by_source.get(visit.source, 0) + 1
    private = sum(1 for visit in facts.visits if visit.private)
    late = [o for o in paid if window and o.paid_at and _after_end(o.paid_at, window)]
    return ReportTotalsOut(
        viewers=len({visit.viewer_key for visit in facts.visits}),
        entries=len(facts.visits),
        private_entries=private,
        public_entries=len(facts.visits) - private,
        entries_by_source=by_source,
        watch_seconds=sum(visit.watch_seconds for visit in facts.visits),
        orders=len(paid),
        gmv_minor=sum(order.total_minor for order in paid),
        orders_after_end=len(late),
        gmv_after_end_minor=sum(order.total_minor for order in late),
        awaiting_payment=awaiting,
        other_currency_orders=sum(
            1 for o in facts.orders if o.paid_at and o.currency != facts.currency
        ),
    )


# ---------------------------------------------------------------- flash sales


def sale_report(sale: SaleTerms, orders: Sequence[SessionOrder], currency: str) -> SaleReportOut:
    """How a flash sale sold: its paid units by the time they were taken, and its sell-out."""
    taken: list[tuple[datetime, int, int]] = []  # (placed, units, value) of paid lines
    paid_orders: set[str] = set()
    awaiting = 0
    for order in orders:
        for line in order.lines:
            if line.flash_sale_id != sale.sale_id:
                continue
            if order.paid_at is None:
                awaiting += line.quantity
            elif order.currency == currency:
                taken.append((order.created_at, line.quantity, line.value_minor))
                paid_orders.add(order.order_id)
    sold = sum(units for _, units, _ in taken)
    sold_out_at = _sold_out_at(taken, sale.quantity)
    return SaleReportOut(
        sale_id=sale.sale_id,
        sku_id=sale.sku_id,
        product_id=sale.product_id,
        price_minor=sale.price_minor,
        started_at=sale.started_at,
        ends_at=sale.ends_at,
        ended_at=sale.ended_at,
        units_offered=sale.quantity,
        units_sold=sold,
        units_awaiting_payment=awaiting,
        orders=len(paid_orders),
        gmv_minor=sum(value for _, _, value in taken),
        sell_through=sold / sale.quantity,
        sold_out_at=sold_out_at,
        seconds_to_sell_out=(
            int((sold_out_at - sale.started_at).total_seconds()) if sold_out_at else None
        ),
        returned_units=sale.returned_units,
    )


def _sold_out_at(taken: Sequence[tuple[datetime, int, int]], quantity: int) -> datetime | None:
    """When the paid units taken reached the quantity offered (None: they never did).

    Counted on paid units only: a unit taken and given back unpaid was sold to nobody.
    """
    units = 0
    for placed, count, _ in sorted(taken, key=lambda line: line[0]):
        units += count
        if units >= quantity:
            return placed
    return None


# ---------------------------------------------------------------- pins


@dataclass(frozen=True, slots=True)
class PinSpan:
    """A product pinned from a moment until the next change (None: pinned still)."""

    product_id: str
    start: datetime
    end: datetime | None

    def holds(self, moment: datetime) -> bool:
        """Whether a moment falls within the pin."""
        return self.start <= moment and (self.end is None or moment < self.end)

    def seconds(self, now: datetime) -> int:
        """How long the product stayed pinned (so far, while pinned still)."""
        return int(((self.end or now) - self.start).total_seconds())


def pin_spans(pins: Sequence[PinChange], window: Window | None) -> list[PinSpan]:
    """The session's pins, each ended by the next change or by the session's end."""
    ended = window.end if window and window.ended else None
    spans = []
    for i, change in enumerate(pins):
        if change.product_id is not None:
            until = pins[i + 1].at if i + 1 < len(pins) else ended
            spans.append(PinSpan(change.product_id, change.at, until))
    return spans


def _product_sales(
    paid: Iterable[SessionOrder], product_id: str, within: PinSpan | None = None
) -> tuple[int, int, int]:
    """Paid orders with the product (placed within the pin, if given), its units and value."""
    orders = units = value = 0
    for order in paid:
        lines = [line for line in order.lines if line.product_id == product_id]
        if not lines or (within is not None and not within.holds(order.created_at)):
            continue
        orders += 1
        units += sum(line.quantity for line in lines)
        value += sum(line.value_minor for line in lines)
    return orders, units, value


def _pin_out(pin: PinSpan, paid: Sequence[SessionOrder], now: datetime) -> PinReportOut:
    orders, units, value = _product_sales(paid, pin.product_id, pin)
    return PinReportOut(
        product_id=pin.product_id,
        start=pin.start,
        end=pin.end,
        seconds=pin.seconds(now),
        orders=orders,
        units=units,
        gmv_minor=value,
    )


def pinned_products(
    pins: Sequence[PinSpan], paid: Sequence[SessionOrder], window: Window, now: datetime
) -> list[PinnedProductOut]:
    """Each pinned product's paid orders placed while pinned, against those placed otherwise."""
    products = list(dict.fromkeys(pin.product_id for pin in pins))
    return [
        _pinned_product(p, [s for s in pins if s.product_id == p], paid, window, now)
        for p in products
    ]


def _pinned_product(
    product_id: str,
    spans: Sequence[PinSpan],
    paid: Sequence[SessionOrder],
    window: Window,
    now: datetime,
) -> PinnedProductOut:
    during = [0, 0, 0]
    for span in spans:  # a product's pins never overlap: one pin at a time
        during = [
            a + b for a, b in zip(during, _product_sales(paid, product_id, span), strict=True)
        ]
    whole = _product_sales(paid, product_id)
    outside = [a - b for a, b in zip(whole, during, strict=True)]
    pinned_seconds = sum(span.seconds(now) for span in spans)
    unpinned_seconds = max(window.seconds - pinned_seconds, 0)
    return PinnedProductOut(
        product_id=product_id,
        pins=len(spans),
        pinned_seconds=pinned_seconds,
        unpinned_seconds=unpinned_seconds,
        orders_pinned=during[0],
        orders_unpinned=outside[0],
        units_pinned=during[1],
        units_unpinned=outside[1],
        gmv_pinned_minor=during[2],
        gmv_unpinned_minor=outside[2],
        orders_per_minute_pinned=_per_minute(during[0], pinned_seconds),
        orders_per_minute_unpinned=_per_minute(outside[0], unpinned_seconds),
    )


def _per_minute(orders: int, seconds: int) -> float | None:
    return orders * 60 / seconds if seconds > 0 else None


# ---------------------------------------------------------------- watch time


def watch_time(seconds: Sequence[int]) -> WatchTimeOut:
    """The visits' watch times in buckets, with their median and 90th percentile."""
    counts = [0] * len(WATCH_BUCKETS)
    for watched in seconds:
        counts[_bucket_of(watched)] += 1
    bounds = [*WATCH_BUCKETS[1:], None]
    ranked = sorted(seconds)
    return WatchTimeOut(
        visits=len(ranked),
        median_seconds=nearest_rank(ranked, 0.5),
        p90_seconds=nearest_rank(ranked, 0.9),
        buckets=[
            WatchBucketOut(low_seconds=low, high_seconds=high, visits=count)
            for low, high, count in zip(WATCH_BUCKETS, bounds, counts, strict=True)
        ],
    )


def _bucket_of(seconds: int) -> int:
    return max(i for i, low in enumerate(WATCH_BUCKETS) if seconds >= low)


def nearest_rank(ranked: Sequence[int], quantile: float) -> int | None:
    """The nearest-rank percentile: a watch time some visit really had (None: no visits)."""
    if not ranked:
        return None
    return ranked[max(math.ceil(quantile * len(ranked)), 1) - 1]


# ---------------------------------------------------------------- CSV


def minutes_csv(report: SessionReportOut) -> str:
    """The report's minutes as CSV: a header, then one row per minute."""
    rows = (
        [
            row.minute.isoformat(),
            row.viewers,
            row.entries,
            row.private_entries,
            row.public_entries,
            *(row.entries_by_source.get(source, 0) for source in SOURCES),
            row.orders,
            row.gmv_minor,
            row.pinned_product_id,
        ]
        for row in report.minutes
    )
    return to_csv(CSV_COLUMNS, rows)
