"""What the seed claims, measured on the platform's own rows.

The seed claims that an anchor's conversion per minute watched (c) and its buyers'
purchase frequency (F) rise with the fans' trust in the anchor; that bought, public-domain
traffic settles into private traffic (visitors who follow the anchor, then buy); and it
worries that GMV gathers in a few sellers, so that the long tail cannot break through.
This module counts each of them from the identity's facts (`analytics/facts.py`): c and F
per anchor with the identity's own rules, the deposit of public visitors into followers
and buyers, and GMV's concentration across shops.

The anchors' trust scores belong to the trust engine, which analytics does not read: the
caller hands them in (`laotie/reports/claims.py`), and `claims_out` sets them against the
rates with Spearman's rank correlation. docs/analytics.md, "What the seed claims".
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from statistics import median

from laotie.accounts.permissions import Actor
from laotie.analytics import concentration as spread
from laotie.analytics import identity as gmv
from laotie.analytics.errors import AnalyticsError
from laotie.analytics.facts import Facts, Period, SaleRow, ViewerDayRow
from laotie.analytics.rollups import rolled_facts
from laotie.analytics.schemas import (
    AnchorClaimOut,
    ClaimsOut,
    ConcentrationOut,
    DepositOut,
    RankCorrelationOut,
    ScopeKind,
)
from laotie.analytics.service import access_scope, check_period
from laotie.analytics.tables import to_csv
from laotie.catalog import service as catalog
from laotie.core.context import Ctx
from laotie.core.errors import AppError
from laotie.live.session import service as sessions
from laotie.traffic import follows as follow_reads

TOP_FRACTION = 0.2  # the top fifth of the shops, as the seed's long-tail worry reads
MIN_PAIRS = 3  # fewer anchors than this have no rank correlation worth a number


@dataclass(frozen=True, slots=True)
class AnchorRates:
    """One anchor's live sessions over a period, counted as the GMV identity counts them."""

    anchor_id: str
    uv: int
    watch_seconds: int
    buyers: int
    orders: int
    gmv_minor: int

    @property
    def conversion(self) -> float | None:
        """c: distinct buyers per minute watched; None without watch time."""
        return self.buyers / (self.watch_seconds / 60) if self.watch_seconds else None

    @property
    def frequency(self) -> float | None:
        """F: paid orders per buyer; None without buyers."""
        return self.orders / self.buyers if self.buyers else None


@dataclass(frozen=True, slots=True)
class Correlation:
    """Spearman's rank correlation of n pairs, with its two-sided p-value."""

    n: int
    rho: float
    p_value: float


@dataclass(frozen=True, slots=True)
class Deposit:
    """Public-domain visitors, those of them who followed the anchor, and then bought."""

    public_viewers: int
    followed: int
    bought: int
    median_seconds_to_purchase: float | None  # from the follow to the first purchase


@dataclass(frozen=True, slots=True)
class Concentration:
    """How GMV spreads across the shops."""

    shops: int
    shops_with_gmv: int
    gmv_minor: int
    top_share: float
    gini: float


@dataclass(frozen=True, slots=True)
class AnchorTrust:
    """An anchor's trust score and the day it is of."""

    score: float
    day: date


@dataclass(frozen=True, slots=True)
class Claims:
    """The platform's measures of the seed's claims over a period, trust left to join."""

    period: Period
    currency: str
    anchors: list[AnchorRates]
    deposit: Deposit
    concentration: Concentration


# ---------------------------------------------------------------- the measures, pure


def anchor_rates(
    facts: Facts, anchor_of: Mapping[str, str], period: Period, currency: str
) -> list[AnchorRates]:
    """Count each anchor's sessions' viewer-days and live sales into the identity."""
    days: dict[str, list[ViewerDayRow]] = defaultdict(list)
    sales: dict[str, list[SaleRow]] = defaultdict(list)
    for day in facts.viewer_days:
        if day.session_id in anchor_of:
            days[anchor_of[day.session_id]].append(day)
    for sale in facts.sales:  # the live ones: the shelf has no anchor
        if sale.session_id is not None and sale.session_id in anchor_of:
            sales[anchor_of[sale.session_id]].append(sale)
    rates = []
    for anchor_id in sorted(days.keys() | sales.keys()):
        own = Facts(days[anchor_id], sales[anchor_id], None)
        live = gmv.count(own, period, currency).live_total
        counts = (live.uv, live.watch_seconds, live.buyers, live.orders, live.gmv_minor)
        rates.append(AnchorRates(anchor_id, *counts))
    return rates


def rank_correlation(pairs: Sequence[tuple[float, float]]) -> Correlation | None:
    """Spearman's rho of the pairs; None for fewer than three, or a side all alike."""
    from scipy.stats import spearmanr  # imported when used: it costs seconds

    if len(pairs) < MIN_PAIRS:
        return None
    xs, ys = [x for x, _ in pairs], [y for _, y in pairs]
    if len(set(xs)) < 2 or len(set(ys)) < 2:  # no ranks to compare: rho is undefined
        return None
    found = spearmanr(xs, ys)
    return Correlation(len(pairs), float(found.statistic), float(found.pvalue))


def first_visits(days: Iterable[ViewerDayRow]) -> dict[str, ViewerDayRow]:
    """Each viewer's first visit of the period (DESIGN.md: it decides the viewer's domain)."""
    first: dict[str, ViewerDayRow] = {}
    for day in sorted(days, key=lambda d: (d.first_at, d.first_visit_id)):
        first.setdefault(day.viewer_key, day)
    return first


def deposit(
    first: Mapping[str, ViewerDayRow],
    anchor_of: Mapping[str, str],
    followed_at: Mapping[tuple[str, str], datetime],
    sales: Iterable[SaleRow],
    until: datetime,
) -> Deposit:
    """Count the viewers whose first visit was public domain, those who then followed that
    visit's anchor before `until`, and those who then paid for an order in a session of
    that anchor; and the median time from the follow to that first purchase."""
    public = {viewer: row for viewer, row in first.items() if not row.private}
    follows: dict[str, tuple[str, datetime]] = {}
    for viewer, row in public.items():
        anchor_id = anchor_of.get(row.session_id)
        at = followed_at.get((anchor_id, viewer)) if anchor_id else None
        if anchor_id and at is not None and row.first_at <= at < until:
            follows[viewer] = (anchor_id, at)
    bought: dict[str, datetime] = {}
    for sale in sorted(sales, key=lambda s: (s.paid_at, s.order_id)):
        follow = follows.get(sale.buyer_id)
        if follow is None or sale.session_id is None or sale.buyer_id in bought:
            continue
        if anchor_of.get(sale.session_id) == follow[0] and sale.paid_at >= follow[1]:
            bought[sale.buyer_id] = sale.paid_at
    waits = [(paid - follows[buyer][1]).total_seconds() for buyer, paid in bought.items()]
    return Deposit(len(public), len(follows), len(bought), median(waits) if waits else None)


def concentration(
    shop_ids: Iterable[str], sales: Iterable[SaleRow], currency: str
) -> Concentration:
    """GMV by shop in the currency, the shops without any included: the top fifth's share
    and the Gini coefficient."""
    by_shop = dict.fromkeys(shop_ids, 0)
    for sale in sales:
        if sale.currency == currency:
            by_shop[sale.shop_id] = by_shop.get(sale.shop_id, 0) + sale.total_minor
    values = list(by_shop.values())
    return Concentration(
        shops=len(values),
        shops_with_gmv=sum(value > 0 for value in values),
        gmv_minor=sum(values),
        top_share=spread.top_share(values, TOP_FRACTION),
        gini=spread.gini(values),
    )


# ---------------------------------------------------------------- reads


def check_days(start: date, end: date) -> Period:
    """The whole days [start, end), a year at most, or a 422 naming what is wrong."""
    if end <= start:
        raise AppError.of(AnalyticsError.PERIOD_INVALID, "end must be after start")
    return check_period(Period(start, end))


async def read_claims(ctx: Ctx, actor: Actor, start: date, end: date) -> Claims:
    """The platform's measures of the seed's claims over the days [start, end) (operators)."""
    period = check_days(start, end)
    scope = await access_scope(ctx, actor, ScopeKind.PLATFORM, None)
    facts = await rolled_facts(ctx, scope, period)
    seen = {d.session_id for d in facts.viewer_days}
    seen |= {s.session_id for s in facts.sales if s.session_id is not None}
    anchor_of = await sessions.anchors_of_sessions(ctx, sorted(seen))
    first = first_visits(facts.viewer_days)
    public = [viewer for viewer, row in first.items() if not row.private]
    followed_at = await follow_reads.anchor_follows_of_users(ctx, public)
    shops = await catalog.shop_ids(ctx, opened_before=period.until)
    return Claims(
        period,
        scope.currency,
        anchor_rates(facts, anchor_of, period, scope.currency),
        deposit(first, anchor_of, followed_at, facts.sales, period.until),
        concentration(shops, facts.sales, scope.currency),
    )


# ---------------------------------------------------------------- the answer


def claims_out(claims: Claims, trust: Mapping[str, AnchorTrust]) -> ClaimsOut:
    """The measures with each anchor's trust score, and the rates' rank correlations with it."""
    rows = sorted(claims.anchors, key=lambda a: (-a.gmv_minor, a.anchor_id))
    scored = [(a, trust[a.anchor_id].score) for a in rows if a.anchor_id in trust]
    c_pairs = [(score, a.conversion) for a, score in scored if a.conversion is not None]
    f_pairs = [(score, a.frequency) for a, score in scored if a.frequency is not None]
    found = claims.deposit
    return ClaimsOut(
        start=claims.period.start,
        end=claims.period.end,
        currency=claims.currency,
        anchors=[_anchor_out(a, trust.get(a.anchor_id)) for a in rows],
        conversion_vs_trust=_correlation_out(rank_correlation(c_pairs)),
        frequency_vs_trust=_correlation_out(rank_correlation(f_pairs)),
        deposit=DepositOut(
            public_viewers=found.public_viewers,
            followed=found.followed,
            bought=found.bought,
            median_seconds_to_purchase=found.median_seconds_to_purchase,
        ),
        concentration=ConcentrationOut(
            shops=claims.concentration.shops,
            shops_with_gmv=claims.concentration.shops_with_gmv,
            gmv_minor=claims.concentration.gmv_minor,
            top20_share=claims.concentration.top_share,
            gini=claims.concentration.gini,
        ),
    )


def _anchor_out(rates: AnchorRates, trust: AnchorTrust | None) -> AnchorClaimOut:
    return AnchorClaimOut(
        anchor_id=rates.anchor_id,
        uv=rates.uv,
        watch_seconds=rates.watch_seconds,
        buyers=rates.buyers,
        orders=rates.orders,
        gmv_minor=rates.gmv_minor,
        conversion_per_minute=rates.conversion,
        frequency=rates.frequency,
        trust_score=trust.score if trust else None,
        trust_day=trust.day if trust else None,
    )


def _correlation_out(found: Correlation | None) -> RankCorrelationOut | None:
    if found is None:
        return None
    return RankCorrelationOut(n=found.n, rho=found.rho, p_value=found.p_value)


def claims_csv(report: ClaimsOut) -> str:
    """One row an anchor: the scatter's points."""
    header = list(AnchorClaimOut.model_fields)
    return to_csv(header, ([getattr(a, name) for name in header] for a in report.anchors))
