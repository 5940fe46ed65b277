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

from laotie.analytics.facts import Facts, Period, SaleRow, ViewerDayRow
from laotie.analytics.lmdi import Segment

PRIVATE, PUBLIC, SHELF = "private", "public", "shelf"
LIVE_SEGMENTS = (PRIVATE, PUBLIC)
NO_TIER = "unknown"  # an order without a shipping address's tier (a virtual good)


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

    def add_order(self, sale: SaleRow) -> None:
        """Count a paid order and its buyer."""
        self.buyers.add(sale.buyer_id)
        self.orders += 1
        self.gmv_minor += sale.total_minor

    def tally(self) -> Tally:
        """The counts, the distinct ones counted."""
        return Tally(self.uv, self.watch_seconds, len(self.buyers), self.orders, self.gmv_minor)


@dataclass(frozen=True, slots=True)
class Tally:
    """A segment's counted figures: distinct viewers and buyers, watch time, orders, GMV."""

    uv: int = 0
    watch_seconds: int = 0
    buyers: int = 0
    orders: int = 0
    gmv_minor: int = 0


@dataclass(frozen=True, slots=True)
class Identity:
    """A scope's period in the identity's terms: its segments, shelf and tiers."""

    period: Period
    currency: str
    live: dict[str, Tally]  # by domain
    live_total: Tally  # the domains together
    shelf: Tally | None  # None where the scope has no shelf (an anchor, a session)
    tiers: dict[str, Tally]  # by city tier, every channel
    other_currencies: int  # paid orders left out, in another currency

    @property
    def gmv_minor(self) -> int:
        """Live and shelf GMV."""
        return self.live_total.gmv_minor + (self.shelf.gmv_minor if self.shelf else 0)


def count(facts: Facts, period: Period, currency: str) -> Identity:
    """Count a scope's facts over a period into the identity's segments."""
    kept = [sale for sale in facts.sales if sale.currency == currency]
    live = _live_segments(facts.viewer_days, [s for s in kept if s.session_id], period)
    shelf = None
    if facts.shelf_viewers is not None:
        shelf = _shelf(facts.shelf_viewers, [s for s in kept if s.session_id is None]).tally()
    return Identity(
        period,
        currency,
        {domain: counts.tally() for domain, counts in live.items()},
        _merged(live.values()).tally(),
        shelf,
        {tier: counts.tally() for tier, counts in _tiers(kept).items()},
        len(facts.sales) - len(kept),
    )


def _live_segments(
    days: Sequence[ViewerDayRow], sales: Sequence[SaleRow], period: Period
) -> dict[str, Counts]:
    """Split the period's viewers, watch time and live orders by the first visit's domain."""
    entered_before = {
        s.visit_id: s
        for s in sales
        if s.visit_id and s.visit_entered_at is not None and s.visit_entered_at < period.since
    }
    earlier = sorted(entered_before.values(), key=lambda s: (s.visit_entered_at, s.visit_id))
    domain_of: dict[str, str] = {}
    for day in sorted(days, key=lambda d: (d.first_at, d.first_visit_id)):
        domain_of.setdefault(day.viewer_key, _domain(day.private))
    for sale in earlier:  # after the period's own visits: those decide first
        domain_of.setdefault(_visitor(sale), _domain(bool(sale.visit_private)))
    segments = {domain: Counts() for domain in LIVE_SEGMENTS}
    for day in days:
        _watched(segments[domain_of[day.viewer_key]], day.viewer_key, day.watch_seconds)
    for sale in earlier:
        viewer = _visitor(sale)
        _watched(segments[domain_of[viewer]], viewer, sale.visit_watch_seconds or 0)
    for sale in sales:
        viewer = _viewer_of(sale, domain_of)
        if viewer not in domain_of:  # an order whose visit is gone: a public viewer
            domain_of[viewer] = PUBLIC
            segments[PUBLIC].viewers.add(viewer)
        segments[domain_of[viewer]].add_order(sale)
    return segments


def _domain(private: bool) -> str:
    return PRIVATE if private else PUBLIC


def _visitor(sale: SaleRow) -> str:
    """Who made the visit an order came from (its buyer, where the visit is gone)."""
    return sale.visit_viewer_key or sale.buyer_id


def _watched(counts: Counts, viewer: str, seconds: int) -> None:
    counts.viewers.add(viewer)
    counts.watch_seconds += seconds


def _viewer_of(sale: SaleRow, domain_of: dict[str, str]) -> str:
    """The viewer an order counts for: its buyer where the buyer watched in the period,
    else whoever made the visit it came from (a visitor who signed in to pay)."""
    if sale.buyer_id in domain_of:
        return sale.buyer_id
    return _visitor(sale)


def _shelf(visitors: set[str], sales: Sequence[SaleRow]) -> Counts:
    """The shelf's distinct visitors (its buyers among them) and orders."""
    counts = Counts(viewers=set(visitors))
    for sale in sales:
        counts.viewers.add(sale.buyer_id)
        counts.add_order(sale)
    return counts


def _tiers(sales: Iterable[SaleRow]) -> dict[str, Counts]:
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


def live_factors(segment: Tally, live_uv: int) -> dict[str, float] | None:
    """A live segment's factors, whose product is its GMV; None without GMV."""
    if segment.gmv_minor <= 0:
        return None
    buyers = segment.buyers
    return {
        "uv": float(live_uv),
        "share": segment.uv / live_uv,
        "watch_per_viewer": segment.watch_seconds / segment.uv,
        "conversion": buyers / segment.watch_seconds,
        "frequency": segment.orders / buyers,
        "order_value": segment.gmv_minor / segment.orders,
    }


def shelf_factors(shelf: Tally) -> dict[str, float] | None:
    """The shelf's factors (UV × conversion × AOV); None without GMV.

    Named apart from the live factors they are not (its UV counts page visitors, its
    conversion orders per visitor), so that a change summed by factor never adds the
    shelf's visitors to the live viewers; its order value means what the live one does.
    """
    if shelf.gmv_minor <= 0:
        return None
    return {
        "visitors": float(shelf.uv),
        "orders_per_visitor": shelf.orders / shelf.uv,
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
