"""Wire format of analytics: the GMV identity of a period and the attribution of a change."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, Field


class ScopeKind(StrEnum):
    """Whose GMV: a shop's, an anchor's, one live session's, or the whole platform's."""

    SHOP = "shop"
    ANCHOR = "anchor"
    SESSION = "session"
    PLATFORM = "platform"


class SegmentOut(BaseModel):
    """A segment's counts and its factors, whose product is its GMV."""

    name: str = Field(description="private, public, live (both domains) or shelf")
    uv: int = Field(description="distinct viewers (the shelf: distinct visitors of its pages)")
    watch_seconds: int = Field(description="watch time; 0 for the shelf")
    buyers: int = Field(description="distinct paying buyers")
    orders: int
    gmv_minor: int
    factors: dict[str, float] | None = Field(
        description="live: uv, share (of the live viewers), watch_per_viewer (s), conversion "
        "(buyers per second watched), frequency, order_value (minor units); shelf: visitors, "
        "orders_per_visitor, order_value. None without GMV."
    )


class TierOut(BaseModel):
    """Buyers, orders and GMV shipped to one city tier."""

    tier: str
    buyers: int
    orders: int
    gmv_minor: int


class IdentityOut(BaseModel):
    """A scope's GMV over whole UTC days [start, end), decomposed."""

    scope: ScopeKind
    scope_id: str | None
    start: date
    end: date
    currency: str
    gmv_minor: int = Field(description="live and shelf")
    segments: list[SegmentOut]
    tiers: list[TierOut]
    other_currency_orders: int = Field(description="paid orders in another currency, left out")


class TermOut(BaseModel):
    """What one factor of one segment (or its entry or exit) did to GMV."""

    segment: str
    factor: str
    minor: int = Field(description="rounded so that the terms sum to the change exactly")
    exact: float


class ChangeOut(BaseModel):
    """The change of GMV from a base period to a period, attributed to factors (LMDI-I)."""

    base: IdentityOut
    current: IdentityOut
    change_minor: int
    terms: list[TermOut]
    by_factor: dict[str, int] = Field(description="the terms summed over segments, per factor")


# ---------------------------------------------------------------- a live session's report


class ReportMinuteOut(BaseModel):
    """One minute of a live session: who watched, who came in from where, what was paid."""

    minute: datetime = Field(description="the minute's first moment (UTC)")
    viewers: int = Field(description="distinct viewers whose visit covers part of the minute")
    entries: int = Field(description="visits that began in the minute")
    private_entries: int
    public_entries: int
    entries_by_source: dict[str, int] = Field(description="every entry source, zeros included")
    orders: int = Field(description="the session's orders paid in the minute")
    gmv_minor: int = Field(description="their value, freight included")
    pinned_product_id: str | None = Field(description="the product pinned as the minute closed")


class ReportTotalsOut(BaseModel):
    """A live session's whole audience and sales."""

    viewers: int = Field(description="distinct viewers")
    entries: int
    private_entries: int
    public_entries: int
    entries_by_source: dict[str, int]
    watch_seconds: int
    orders: int = Field(description="paid orders, those paid after the end included")
    gmv_minor: int
    orders_after_end: int = Field(description="orders paid after the session ended")
    gmv_after_end_minor: int
    awaiting_payment: int = Field(description="orders placed and not paid yet")
    other_currency_orders: int = Field(description="paid orders in another currency, left out")


class SaleReportOut(BaseModel):
    """How one flash sale of the session sold."""

    sale_id: str
    sku_id: str
    product_id: str
    price_minor: int
    started_at: datetime
    ends_at: datetime = Field(description="when it was set to end")
    ended_at: datetime | None = Field(description="when it ended; None while it runs")
    units_offered: int
    units_sold: int = Field(description="units of its paid orders")
    units_awaiting_payment: int
    orders: int = Field(description="its paid orders")
    gmv_minor: int = Field(description="its units at the flash price, freight left out")
    sell_through: float = Field(description="units sold / units offered")
    sold_out_at: datetime | None = Field(
        description="when the last unit offered was taken by an order later paid; None if never"
    )
    seconds_to_sell_out: int | None
    returned_units: int = Field(description="units that went back to stock when it ended")


class PinReportOut(BaseModel):
    """One pin of a product, and the product's paid orders placed while it was pinned."""

    product_id: str
    start: datetime
    end: datetime | None = Field(description="None while it is still pinned in a live session")
    seconds: int
    orders: int
    units: int
    gmv_minor: int = Field(description="the product's lines at their price, freight left out")


class PinnedProductOut(BaseModel):
    """A pinned product's paid orders placed while pinned against those placed otherwise."""

    product_id: str
    pins: int
    pinned_seconds: int
    unpinned_seconds: int = Field(description="the rest of the session")
    orders_pinned: int
    orders_unpinned: int
    units_pinned: int
    units_unpinned: int
    gmv_pinned_minor: int
    gmv_unpinned_minor: int
    orders_per_minute_pinned: float | None = Field(description="None over no time")
    orders_per_minute_unpinned: float | None


class WatchBucketOut(BaseModel):
    """Visits whose watch time is in [low_seconds, high_seconds)."""

    low_seconds: int
    high_seconds: int | None = Field(description="None: no upper bound")
    visits: int


class WatchTimeOut(BaseModel):
    """How long the session's visits watched."""

    visits: int
    median_seconds: int | None = Field(description="nearest rank; None without visits")
    p90_seconds: int | None
    buckets: list[WatchBucketOut]


class SessionReportOut(BaseModel):
    """A live session minute by minute, with its flash sales, pins and watch times."""

    session_id: str
    status: str = Field(description="scheduled, live or ended")
    currency: str
    start: datetime | None = Field(description="the start, or the first entry if earlier")
    end: datetime | None = Field(description="the end, or the moment computed while live")
    final: bool = Field(
        description="the session has ended and none of its orders awaits payment: the "
        "report will not change; false while it may still move"
    )
    computed_at: datetime
    totals: ReportTotalsOut
    minutes: list[ReportMinuteOut]
    flash_sales: list[SaleReportOut]
    pins: list[PinReportOut]
    pinned_products: list[PinnedProductOut]
    watch_time: WatchTimeOut


# ---------------------------------------------------------------- repurchase, cohorts, RFM


class RepurchaseMonthOut(BaseModel):
    """One calendar month's repurchase (a platform's: its shops' figures summed)."""

    month: str = Field(description="YYYY-MM, UTC")
    buyers: int = Field(description="distinct buyers (the platform: buyer–shop pairs)")
    repeat_buyers: int = Field(
        description="buyers with an earlier paid order of the same shop, before the month and "
        "at most 365 days before the month's order"
    )
    rate: float | None = Field(description="repeat_buyers / buyers; null without buyers")
    repeat_orders: int = Field(description="the month's paid orders by its repeat buyers")
    private_repeat_orders: int = Field(description="repeat orders from private-domain visits")
    private_share: float | None = Field(
        description="private_repeat_orders / repeat_orders; null without repeat orders"
    )


class RepurchaseOut(BaseModel):
    """A shop's or the platform's repurchase, month by month."""

    scope: ScopeKind
    scope_id: str | None
    start: date
    end: date
    currency: str
    lookback_days: int
    months: list[RepurchaseMonthOut] = Field(description="the months overlapping [start, end)")


class RetentionOut(BaseModel):
    """How many of a cohort paid an order k months after their first month."""

    months_since: int
    customers: int
    share: float = Field(description="customers / the cohort's customers")


class CohortOut(BaseModel):
    """The customers whose first paid order at the shop fell in a month, followed on."""

    month: str = Field(description="the first-purchase month, YYYY-MM, UTC")
    customers: int
    retention: list[RetentionOut] = Field(description="from months_since 0 to the last month")


class CohortsOut(BaseModel):
    """A shop's first-purchase cohorts and their retention."""

    scope: ScopeKind
    scope_id: str | None
    start: date
    end: date
    currency: str
    cohorts: list[CohortOut] = Field(
        description="the months overlapping [start, end), oldest first"
    )


class RfmCustomerOut(BaseModel):
    """A customer's recency, frequency and monetary value, scored 1 to 5, and segment."""

    buyer_id: str
    recency_days: int = Field(description="days from the last paid order's day to `day`")
    frequency: int = Field(description="paid orders")
    monetary_minor: int = Field(description="their total, in minor units")
    r: int
    f: int
    m: int
    segment: str


class RfmSegmentOut(BaseModel):
    """How many customers a segment holds."""

    segment: str
    customers: int


class RfmOut(BaseModel):
    """A shop's customers by RFM segment as of the end of a day, and a page of them."""

    shop_id: str
    day: date
    currency: str
    customers: int = Field(description="every customer who paid up to the end of `day`")
    segments: list[RfmSegmentOut] = Field(description="every segment, in the rules' order")
    limit: int
    offset: int
    items: list[RfmCustomerOut] = Field(
        description="highest total first (then more orders, then more recent)"
    )


# ---------------------------------------------------------------- customer lifetime value


class BgNbdOut(BaseModel):
    """The fitted BG/NBD: purchase rates gamma(r, alpha), dropout beta(a, b); time in weeks."""

    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float


class GammaGammaOut(BaseModel):
    """The fitted Gamma-Gamma: spend gamma(p, nu), nu gamma(q, gamma); money in minor units."""

    p: float
    q: float
    gamma: float
    log_likelihood: float


class FitRefusalOut(BaseModel):
    """Why the models could not be fitted to one set of customers."""

    on: str = Field(description="shop or platform")
    reason: str


class ClvCustomerOut(BaseModel):
    """A customer's history as of the end of the day, and what the models expect of them."""

    buyer_id: str
    x: int = Field(description="repeat transactions: days with a paid order after the first")
    recency_weeks: float = Field(description="from the first transaction to the last")
    age_weeks: float = Field(description="from the first transaction to `day`")
    average_spend_minor: int = Field(
        description="mean value of the repeat transactions (the first left out); 0 without any"
    )
    p_alive: float | None = Field(description="probability of still being a customer")
    expected_purchases_12_months: float | None = Field(
        description="transactions expected in the next 12 months"
    )
    expected_value_minor: int | None = Field(
        description="their expected spend over the next 12 months, rounded"
    )


class ClvOut(BaseModel):
    """A shop's customers' expected purchases and 12-month value, and a page of them."""

    shop_id: str
    day: date
    currency: str
    unit: str = Field(description="the models' time unit: weeks")
    customers: int = Field(description="every customer who paid up to the end of `day`")
    fitted_on: str | None = Field(
        description="shop: fitted to the shop's customers; platform: to every shop's "
        "customers (each shop and buyer a customer), the shop having too few; null: no fit "
        "(too few customers even on the platform) and no model figures"
    )
    fit_customers: int | None = Field(description="the customers the fit had")
    refusals: list[FitRefusalOut] = Field(description="the fits tried and refused, in order")
    bgnbd: BgNbdOut | None
    gamma_gamma: GammaGammaOut | None
    value_12_months_minor: int | None = Field(
        description="the customers' expected spend over the next 12 months, summed and "
        "rounded once; null without a fit"
    )
    limit: int
    offset: int
    items: list[ClvCustomerOut] = Field(
        description="highest expected value first (without a fit: most repeat transactions)"
    )


# ---------------------------------------------------------------- what the seed claims


class AnchorClaimOut(BaseModel):
    """One anchor's live sessions over the period and its trust score: a point of the scatter."""

    anchor_id: str
    uv: int = Field(description="distinct viewers of its sessions")
    watch_seconds: int
    buyers: int = Field(description="distinct paying buyers")
    orders: int = Field(description="paid orders")
    gmv_minor: int
    conversion_per_minute: float | None = Field(
        description="c: buyers per minute watched; null without watch time"
    )
    frequency: float | None = Field(description="F: orders per buyer; null without buyers")
    trust_score: float | None = Field(description="the anchor's reputation, 3.00 to 5.00")
    trust_day: date | None = Field(
        description="the day of that reputation: the period's last day where it was kept, "
        "else today's, computed on request"
    )


class RankCorrelationOut(BaseModel):
    """Spearman's rank correlation between a rate and the trust score across anchors."""

    n: int = Field(description="anchors with both figures")
    rho: float
    p_value: float = Field(description="two-sided, against no correlation")


class DepositOut(BaseModel):
    """Bought traffic settling into private traffic: public visitors who followed, then bought."""

    public_viewers: int = Field(description="viewers whose first visit of the period was public")
    followed: int = Field(description="of them, those who then followed that visit's anchor")
    bought: int = Field(
        description="of those, the ones who then paid for an order in that anchor's sessions"
    )
    median_seconds_to_purchase: float | None = Field(
        description="median time from the follow to that first purchase; null without any"
    )


class ConcentrationOut(BaseModel):
    """How the period's GMV spreads across the shops, those without any included."""

    shops: int = Field(description="shops opened before the period's end")
    shops_with_gmv: int
    gmv_minor: int
    top20_share: float = Field(description="the share of GMV of the top fifth of the shops")
    gini: float = Field(description="0: every shop alike; (n - 1) / n: one shop takes all")


class ClaimsOut(BaseModel):
    """The seed's claims measured over whole UTC days [start, end)."""

    start: date
    end: date
    currency: str
    anchors: list[AnchorClaimOut] = Field(description="anchors with viewers, highest GMV first")
    conversion_vs_trust: RankCorrelationOut | None = Field(
        description="c against the trust score; null for fewer than 3 anchors, or a side all alike"
    )
    frequency_vs_trust: RankCorrelationOut | None = Field(
        description="F against the trust score; null likewise"
    )
    deposit: DepositOut
    concentration: ConcentrationOut
