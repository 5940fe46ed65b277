"""Repurchase by calendar month, first-purchase cohorts and RFM segments, from paid orders.

Pure functions over `Purchase` rows (a paid order of a shop: who, when, how much, and
whether its visit was private domain); `repurchase_report` reads the rows and checks who
may see them. Definitions (DESIGN.md, docs/analytics.md):

- A **repeat buyer** of a shop in a month paid for an order in the month and for an
  earlier order of the same shop, paid before the month and at most 365 days before the
  month's order. Two orders in a buyer's first month make a buyer, not a repeat buyer.
  A **repeat order** is an order by a repeat buyer, in the month.
- A **cohort** is the customers whose first paid order at the shop falls in a month; its
  retention at k months is the share of them who paid an order in the k-th month after.
- **RFM** scores each customer 1 to 5 on recency, frequency and monetary value by
  quintile within the shop's customers, and names a segment from the scores.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from laotie.analytics.repurchase import LOOKBACK_DAYS

LOOKBACK = timedelta(days=LOOKBACK_DAYS)
QUINTILES = 5


@dataclass(frozen=True, slots=True)
class Purchase:
    """A paid order as repurchase, cohorts and RFM read it."""

    shop_id: str
    buyer_id: str
    paid_at: datetime  # aware UTC
    total_minor: int
    private: bool  # a live order whose visit was private domain


Customer = tuple[str, str]  # (shop, buyer): repurchase is always of one shop


# ---------------------------------------------------------------- calendar months


def month_of(moment: datetime | date) -> date:
    """The first day of the UTC calendar month of a moment or a day."""
    return date(moment.year, moment.month, 1)


def next_month(month: date) -> date:
    """The first day of the month after."""
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def months_apart(first: date, later: date) -> int:
    """Whole calendar months from one month to a later one."""
    return (later.year - first.year) * 12 + later.month - first.month


def months_overlapping(start: date, end: date) -> list[date]:
    """The calendar months that overlap the days [start, end)."""
    months, month = [], month_of(start)
    while month < end:
        months.append(month)
        month = next_month(month)
    return months


def midnight(day: date) -> datetime:
    """The first moment of a UTC day."""
    return datetime.combine(day, time(), UTC)


def _by_customer(purchases: Iterable[Purchase]) -> dict[Customer, list[Purchase]]:
    """Each customer's purchases, oldest first."""
    found: dict[Customer, list[Purchase]] = defaultdict(list)
    for purchase in purchases:
        found[(purchase.shop_id, purchase.buyer_id)].append(purchase)
    for bought in found.values():
        bought.sort(key=lambda p: p.paid_at)
    return found


# ---------------------------------------------------------------- repurchase by month


@dataclass(frozen=True, slots=True)
class MonthRepurchase:
    """A month's buyers, repeat buyers and repeat orders (summed over shops)."""

    month: date
    buyers: int
    repeat_buyers: int
    repeat_orders: int
    private_repeat_orders: int

    @property
    def rate(self) -> float | None:
        """Repeat buyers over buyers; None without buyers."""
        return self.repeat_buyers / self.buyers if self.buyers else None

    @property
    def private_share(self) -> float | None:
        """Repeat orders from private-domain visits over repeat orders; None without any."""
        return self.private_repeat_orders / self.repeat_orders if self.repeat_orders else None


def monthly_repurchase(
    purchases: Iterable[Purchase], months: Sequence[date]
) -> list[MonthRepurchase]:
    """Count each month's repurchase, per shop, summed over shops.

    `purchases` holds the paid orders from the first month less the lookback to the end
    of the last month; a buyer of two shops is a buyer of each.
    """
    timelines = [
        ([p.paid_at for p in bought], bought) for bought in _by_customer(purchases).values()
    ]
    return [_month_repurchase(timelines, month) for month in months]


def _month_repurchase(
    timelines: Iterable[tuple[list[datetime], list[Purchase]]], month: date
) -> MonthRepurchase:
    since, until = midnight(month), midnight(next_month(month))
    buyers = repeat_buyers = repeat_orders = private = 0
    for times, bought in timelines:
        first, after = bisect_left(times, since), bisect_left(times, until)
        if first == after:  # nothing paid in the month
            continue
        buyers += 1
        # DESIGN's reading, as `repurchase.repurchase` has it: an order of the month with an
        # earlier one (before the month or in it) at most the lookback before; sorted, so
        # the nearest earlier order of each is the one just before it.
        if not any(i > 0 and times[i] - times[i - 1] <= LOOKBACK for i in range(first, after)):
            continue
        repeat_buyers += 1
        repeat_orders += after - first
        private += sum(p.private for p in bought[first:after])
    return MonthRepurchase(month, buyers, repeat_buyers, repeat_orders, private)


# ---------------------------------------------------------------- cohorts


@dataclass(frozen=True, slots=True)
class Cohort:
    """The customers who first paid in a month, and how many paid again k months on."""

    month: date
    active: tuple[int, ...]  # active[k]: customers who paid in the k-th month after

    @property
    def customers(self) -> int:
        """The cohort's size: all of them paid in their first month."""
        return self.active[0] if self.active else 0

    def share(self, k: int) -> float:
        """The share of the cohort that paid k months after its first month."""
        return self.active[k] / self.customers if self.customers else 0.0


def cohorts(purchases: Iterable[Purchase], months: Sequence[date], last: date) -> list[Cohort]:
    """The cohorts of these first-purchase months, followed up to the month `last`.

    `purchases` must reach back to the customers' first orders (all history): a customer
    is in the cohort of their first paid order at the shop.
    """
    activity: dict[date, list[set[Customer]]] = {
        month: [set() for _ in range(months_apart(month, last) + 1)]
        for month in months
        if month <= last
    }
    for customer, bought in _by_customer(purchases).items():
        first = month_of(bought[0].paid_at)
        if first not in activity:  # a cohort not asked for, or after the last month
            continue
        for purchase in bought:
            k = months_apart(first, month_of(purchase.paid_at))
            if k < len(activity[first]):
                activity[first][k].add(customer)
    return [
        Cohort(month, tuple(len(active) for active in activity[month]))
        for month in sorted(activity)
    ]


# ---------------------------------------------------------------- RFM


# In the order they are tried: the first rule a customer meets names its segment.
CHAMPIONS, LOYAL, NEW, PROMISING = "champions", "loyal", "new", "promising"
NEEDS_ATTENTION, AT_RISK, HIBERNATING = "needs_attention", "at_risk", "hibernating"
SEGMENTS = (CHAMPIONS, LOYAL, NEW, PROMISING, NEEDS_ATTENTION, AT_RISK, HIBERNATING)


@dataclass(frozen=True, slots=True)
class Rfm:
    """A customer's recency, frequency and monetary value, their scores and segment."""

    buyer_id: str
    recency_days: int  # days from the last paid order's day to the day of the report
    frequency: int  # paid orders
    monetary_minor: int  # their total
    r: int
    f: int
    m: int
    segment: str


def quintile_scores(values: Sequence[int]) -> list[int]:
    """Score each value 1 to 5 by the quintile of its mid-rank among the values, higher
    values scoring higher.

    Equal values share the quintile of the middle of their run, so a tie is never split
    and a shop where everyone is alike scores them all 3. Integer arithmetic, so that a
    value on a quintile's border lands the same way everywhere.
    """
    ordered = sorted(values)
    n = len(ordered)
    scores = []
    for value in values:
        below = bisect_left(ordered, value)
        equal = bisect_left(ordered, value + 1) - below
        scores.append(1 + QUINTILES * (2 * below + equal) // (2 * n))
    return scores


def segment_of(r: int, f: int, m: int, orders: int) -> str:
    """Name a customer's segment from their scores (and whether they paid only once)."""
    if r >= 4 and f >= 4 and m >= 4:
        return CHAMPIONS
    if r >= 3 and f >= 4:
        return LOYAL
    if r >= 4:
        return NEW if orders == 1 else PROMISING
    if r == 3:
        return NEEDS_ATTENTION
    return AT_RISK if f >= 3 else HIBERNATING


def rfm(purchases: Iterable[Purchase], day: date) -> list[Rfm]:
    """Score one shop's customers as of the end of a day (its orders paid up to then)."""
    until = midnight(day + timedelta(days=1))
    customers: dict[str, list[Purchase]] = defaultdict(list)
    for purchase in purchases:
        if purchase.paid_at < until:
            customers[purchase.buyer_id].append(purchase)
    buyers = sorted(customers)
    recency = [(day - max(p.paid_at for p in customers[b]).date()).days for b in buyers]
    frequency = [len(customers[b]) for b in buyers]
    monetary = [sum(p.total_minor for p in customers[b]) for b in buyers]
    # Fewer days since the last order is better: score the negated recency.
    r_scores = quintile_scores([-days for days in recency])
    f_scores, m_scores = quintile_scores(frequency), quintile_scores(monetary)
    rows = zip(buyers, recency, frequency, monetary, r_scores, f_scores, m_scores, strict=True)
    return [
        Rfm(buyer, days, orders, total, r, f, m, segment_of(r, f, m, orders))
        for buyer, days, orders, total, r, f, m in rows
    ]


def segment_counts(scored: Iterable[Rfm]) -> dict[str, int]:
    """Customers per segment, every segment listed, in the rules' order."""
    counts = dict.fromkeys(SEGMENTS, 0)
    for customer in scored:
        counts[customer.segment] += 1
    return counts
