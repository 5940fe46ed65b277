"""The GMV identity (DESIGN.md): GMV = UV × T × c × F × AOV, by segment, from raw rows.

For a shop, an anchor, a live session or the platform over whole days [start, end):

- **Live segments** (private and public domain). A viewer belongs to the domain of its
  first visit of the period, and all of its watch time and orders count there, so the
  segments' viewers add up to the viewers. The period's visits are those entered in it,
  plus the visits its orders came from when they were entered before it (a buyer who came
  in on the last evening of a month and paid after midnight is a viewer of both months),
  so that every buyer is a viewer with watch time and c = B/W is defined.
- **The shelf** (orders placed outside live sessions, shops and the platform only): UV is
  the distinct visitors of the shop's pages over the days, buyers included, and
  GMV = UV × conversion × AOV with conversion = orders / UV (the seed's shelf formula).
- **City tiers**: buyers, orders and GMV by the tier of the shipping address.

UV and B are exact distinct counts over the period, never sums of daily counts. Money is
counted in the scope's currency; orders in another currency are left out and counted.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from laotie.analytics.lmdi import Segment
from laotie.catalog import views as shelf_views
from laotie.core.context import Ctx
from laotie.live.room.visits import VisitFact, visits_between, visits_by_id
from laotie.orders.queries import PaidSale, paid_sales

PRIVATE, PUBLIC, SHELF = "private", "public", "shelf"
LIVE_SEGMENTS = (PRIVATE, PUBLIC)
NO_TIER = "unknown"  # an order without a shipping address's tier (a virtual good)
# The live factors, in the order the identity multiplies them; the share of the live
# viewers is the private/public structure that LMDI attributes a change to.
LIVE_FACTORS = ("uv", "share", "watch_per_viewer", "conversion", "frequency", "order_value")
SHELF_FACTORS = ("uv", "conversion", "order_value")


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


@dataclass(slots=True)
class Counts:
    """A segment's distinct viewers and buyers, watch time, paid orders and GMV."""

    viewers: set[str] = field(default_factory=set)
    watch_seconds: int = 0
    buyers: set[str] = field(default_factory=set)
    orders: int = 0
    gmv_minor: int = 0

    @property
    def uv(self) -> int:
        """Distinct viewers."""
        return len(self.viewers)

    def add_order(self, sale: PaidSale) -> None:
        """Count a paid order and its buyer."""
        self.buyers.add(sale.buyer_id)
        self.orders += 1
        self.gmv_minor += sale.total_minor


@dataclass(frozen=True, slots=True)
class Identity:
    """A scope's period in the identity's terms: its segments, shelf and tiers."""

    period: Period
    currency: str
    live: dict[str, Counts]  # by domain
    shelf: Counts | None  # None where the scope has no shelf (an anchor, a session)
    tiers: dict[str, Counts]  # by city tier, every channel
    other_currencies: int  # paid orders left out, in another currency

    @property
    def live_total(self) -> Counts:
        """The live segments together (their viewers and buyers are disjoint by domain)."""
        return _merged(self.live.values())

    @property
    def gmv_minor(self) -> int:
        """Live and shelf GMV."""
        return self.live_total.gmv_minor + (self.shelf.gmv_minor if self.shelf else 0)


async def identity(
    ctx: Ctx,
    period: Period,
    currency: str,
    *,
    session_ids: Sequence[str] | None,
    shop_id: str | None = None,
    with_shelf: bool = True,
) -> Identity:
    """Count a scope's period from the raw rows.

    The scope is its live sessions (`session_ids`, or every session with None) and, with
    `with_shelf`, the shelf orders of `shop_id` (or of every shop with None).
    """
    if with_shelf:  # a shop's (or every shop's) orders, live and shelf
        sales = await paid_sales(ctx, period.since, period.until, shop_id=shop_id)
    else:
        sales = await paid_sales(ctx, period.since, period.until, session_ids=session_ids)
    kept = [s for s in sales if s.currency == currency]
    live_sales = [s for s in kept if s.session_id is not None]
    visits = await visits_between(ctx, period.since, period.until, session_ids)
    live = await _live_segments(ctx, visits, live_sales)
    shelf = None
    if with_shelf:
        shelf_sales = [s for s in kept if s.session_id is None]
        shelf = await _shelf(ctx, shop_id, period, shelf_sales)
    return Identity(period, currency, live, shelf, _tiers(kept), len(sales) - len(kept))


async def _live_segments(
    ctx: Ctx, visits: Sequence[VisitFact], sales: Sequence[PaidSale]
) -> dict[str, Counts]:
    """Split the period's viewers, watch time and live orders by the first visit's domain."""
    entered_before = {s.visit_id for s in sales if s.visit_id} - {v.visit_id for v in visits}
    earlier = sorted(
        (await visits_by_id(ctx, sorted(entered_before))).values(),
        key=lambda v: (v.entered_at, v.visit_id),
    )
    domain_of: dict[str, str] = {}
    for visit in [*visits, *earlier]:  # the period's own visits first, each in entry order
        domain_of.setdefault(visit.viewer_key, PRIVATE if visit.private else PUBLIC)
    segments = {domain: Counts() for domain in LIVE_SEGMENTS}
    for visit in [*visits, *earlier]:
        counts = segments[domain_of[visit.viewer_key]]
        counts.viewers.add(visit.viewer_key)
        counts.watch_seconds += visit.watch_seconds
    own = {v.visit_id: v.viewer_key for v in [*visits, *earlier]}
    for sale in sales:
        viewer = _viewer_of(sale, domain_of, own)
        if viewer not in domain_of:  # an order whose visit is gone: a public viewer
            domain_of[viewer] = PUBLIC
            segments[PUBLIC].viewers.add(viewer)
        segments[domain_of[viewer]].add_order(sale)
    return segments


def _viewer_of(sale: PaidSale, domain_of: dict[str, str], own: dict[str, str]) -> str:
    """The viewer an order counts for: its buyer where the buyer watched in the period,
    else whoever made the visit it came from (a visitor who signed in to pay)."""
    if sale.buyer_id in domain_of:
        return sale.buyer_id
    return own.get(sale.visit_id or "", sale.buyer_id)


async def _shelf(
    ctx: Ctx, shop_id: str | None, period: Period, sales: Sequence[PaidSale]
) -> Counts:
    """The shelf's distinct visitors (its buyers among them) and orders."""
    counts = Counts()
    counts.viewers = await shelf_views.shelf_visitor_keys(
        ctx, shop_id, period.start, period.last_day
    )
    for sale in sales:
        counts.viewers.add(sale.buyer_id)
        counts.add_order(sale)
    return counts


def _tiers(sales: Iterable[PaidSale]) -> dict[str, Counts]:
    """Buyers, orders and GMV by the city tier they were shipped to."""
    tiers: dict[str, Counts] = defaultdict(Counts)
    for sale in sales:
        tiers[sale.city_tier or NO_TIER].add_order(sale)
    return dict(sorted(tiers.items()))


def _merged(parts: Iterable[Counts]) -> Counts:
    total = Counts()
    for part in parts:
        total.viewers |= part.viewers
        total.watch_seconds += part.watch_seconds
        total.buyers |= part.buyers
        total.orders += part.orders
        total.gmv_minor += part.gmv_minor
    return total


# ---------------------------------------------------------------- factors


def live_factors(segment: Counts, live_uv: int) -> dict[str, float] | None:
    """A live segment's factors, whose product is its GMV; None without GMV."""
    if segment.gmv_minor <= 0:
        return None
    buyers = len(segment.buyers)
    return {
        "uv": float(live_uv),
        "share": segment.uv / live_uv,
        "watch_per_viewer": segment.watch_seconds / segment.uv,
        "conversion": buyers / segment.watch_seconds,
        "frequency": segment.orders / buyers,
        "order_value": segment.gmv_minor / segment.orders,
    }


def shelf_factors(shelf: Counts) -> dict[str, float] | None:
    """The shelf's factors (UV × conversion × AOV); None without GMV."""
    if shelf.gmv_minor <= 0:
        return None
    return {
        "uv": float(shelf.uv),
        "conversion": shelf.orders / shelf.uv,
        "order_value": shelf.gmv_minor / shelf.orders,
    }


def lmdi_segments(found: Identity) -> dict[str, Segment]:
    """The identity's segments as LMDI reads them (absent where they have no GMV)."""
    live_uv = found.live_total.uv
    segments = {}
    for domain, counts in found.live.items():
        factors = live_factors(counts, live_uv)
        segments[domain] = Segment(counts.gmv_minor, factors or {})
    if found.shelf is not None:
        segments[SHELF] = Segment(found.shelf.gmv_minor, shelf_factors(found.shelf) or {})
    return segments
