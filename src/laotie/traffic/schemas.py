"""The wire forms of follows, the feeds, attribution, fan groups and fan prices, bought reach."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Target(StrEnum):
    """What can be followed."""

    ANCHOR = "anchor"
    SHOP = "shop"


class FollowOut(BaseModel):
    """Whether the caller follows a target, and how many do."""

    kind: Target
    id: str
    following: bool
    followers: int


class FollowedOut(BaseModel):
    """One anchor or shop the caller follows, and since when."""

    kind: Target
    id: str
    since: datetime


class FeedItemOut(BaseModel):
    """A live or coming session of someone the caller follows, with the link to enter by."""

    session_id: str
    anchor_id: str
    shop_id: str | None  # none: an anchor without a shop
    title: str
    status: str
    scheduled_at: datetime
    started_at: datetime | None
    # The room's page, entered as from the following feed: `follow_feed`, signed for the room.
    url: str


class FeedPolicy(StrEnum):
    """What the recommendation feed weighs rooms by (docs/traffic.md)."""

    TRUST = "trust"  # expected value times g(trust)
    GMV = "gmv"  # expected value alone: the experiment's control


class Reason(StrEnum):
    """Why a room is in someone's feed."""

    FOLLOWING = "following"  # the viewer follows its anchor or shop: private domain
    RECOMMENDED = "recommended"  # ranked for a stranger: public domain
    PROMOTED = "promoted"  # bought reach, shown as such


class WhyOut(BaseModel):
    """The parts of a recommended room's rank, so that anyone can check it (docs/traffic.md)."""

    p_enter: float  # the draw from the room's Beta posterior of entering when shown
    watch_seconds: float  # expected watch time of a visit
    orders_per_hour: float  # orders per hour of watch time
    order_value_minor: float  # average order value
    trust_multiplier: float  # g(score), or 1 under the GMV policy
    affinity: float  # the viewer's taste for the room's category
    value: float  # their product: the rank's key
    # A promoted room's bid per 1,000 impressions (the CPM price, or the price of an entry
    # × p_enter × 1,000); its slot goes to the highest bid × trust_multiplier.
    ecpm_minor: float | None = None


class RecommendedOut(BaseModel):
    """A live room in someone's recommendation feed, with the link to enter by."""

    session_id: str
    anchor_id: str
    shop_id: str | None  # none: an anchor without a shop
    title: str
    cover_url: str | None
    category: str | None
    started_at: datetime | None
    reason: Reason
    # The entry source the link records: `follow_feed` (signed) or `recommend_feed`.
    source: str
    url: str
    why: WhyOut | None = None  # for recommended and promoted rooms


class FeedOut(BaseModel):
    """A viewer's recommendation feed: the live rooms it follows first, then the ranked ones."""

    policy: FeedPolicy
    items: list[RecommendedOut]


class SegmentOut(BaseModel):
    """A segment's viewers, orders and GMV: a domain, or a source within it."""

    domain: str  # private | public
    source: str | None = None  # None for a whole domain
    uv: int
    orders: int
    gmv_minor: int


class AttributionOut(BaseModel):
    """Viewers, orders and GMV of a session or a shop's period, by domain and by source.

    A viewer belongs to the segment of its first visit in the period, and its orders
    count there (DESIGN.md); private and public UV add up to the UV.
    """

    since: datetime
    until: datetime
    session_id: str | None
    shop_id: str | None  # none: an anchor without a shop
    currency: str | None
    uv: int
    orders: int
    gmv_minor: int
    domains: list[SegmentOut]
    sources: list[SegmentOut]


class FanGroupOut(BaseModel):
    """An anchor's fan group: its size, and the caller's membership and level."""

    anchor_id: str
    members: int
    member: bool
    level: int | None
    intimacy: float | None
    next_level_at: float | None = Field(description="the intimacy the next level needs")
    formula: str


class FanOut(BaseModel):
    """A fan in an anchor's list."""

    user_id: str
    name: str
    level: int
    intimacy: float
    joined_at: datetime


class FanPriceIn(BaseModel):
    """A SKU's price for fans (of at least a level) within a session."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"price_minor": 100, "min_level": 1}]}
    )

    price_minor: int = Field(gt=0, le=10**12)
    min_level: int = Field(default=1, ge=1, le=10)


class FanPriceOut(BaseModel):
    """A SKU's fan price in a session."""

    session_id: str
    sku_id: str
    price_minor: int
    min_level: int


class RsvpOut(BaseModel):
    """Whether the caller asked to be told when a coming session goes live, and how many did."""

    session_id: str
    rsvped: bool
    rsvps: int


class MuteOut(BaseModel):
    """Whether the caller hears nothing of an anchor's shows."""

    anchor_id: str
    muted: bool


class InboxEntryOut(BaseModel):
    """A notification: a session went live (of an anchor followed, or of a show RSVPed)."""

    session_id: str
    anchor_id: str
    anchor_name: str
    title: str
    reason: str  # live_notification | preview_rsvp: the source its link records
    # The room's page, its source signed for the room.
    url: str
    created_at: datetime
    read_at: datetime | None


class InboxOut(BaseModel):
    """The caller's newest notifications and how many are unread."""

    unread: int
    entries: list[InboxEntryOut]


class Pricing(StrEnum):
    """What a promotion pays for."""

    CPM = "cpm"  # a price per 1,000 promoted impressions
    CPE = "cpe"  # a price per entry into the room from a promoted impression


class PromotionIn(BaseModel):
    """Bought reach for a live session: how it is priced, and the budget held for it."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "pricing": "cpm",
                    "price_minor": 3_000,
                    "budget_minor": 50_000,
                    "pace_minutes": 120,
                }
            ]
        },
    )

    pricing: Pricing
    price_minor: int = Field(gt=0, le=10**9)
    budget_minor: int = Field(gt=0, le=10**12)
    # The show's planned length: the budget is spent evenly over it.
    pace_minutes: int = Field(default=120, ge=10, le=24 * 60)

    @model_validator(mode="after")
    def _budget_buys_a_unit(self) -> PromotionIn:
        if self.budget_minor < self.price_minor:
            raise ValueError(
                "the budget must pay for at least one unit (1,000 impressions or an entry)"
            )
        return self


class PromotionOut(BaseModel):
    """A promotion: its terms, what it has spent and given back, and what it bought."""

    id: str
    shop_id: str
    session_id: str
    pricing: Pricing
    price_minor: int
    budget_minor: int
    spent_minor: int
    returned_minor: int
    currency: str
    pace_minutes: int
    status: str  # active | ended | refused
    end_reason: str | None  # session_ended | budget_spent | barred
    impressions: int  # promoted impressions shown
    entries: int  # entries from them, counted so far
    created_at: datetime
    ended_at: datetime | None


class PromotionReportOut(BaseModel):
    """What a promotion bought, against what the session's followers brought for nothing.

    Entries are visits from the recommendation feed after a promoted impression of the
    room (docs/traffic.md, "Bought reach"); followers, orders and GMV are those entrants'.
    """

    promotion: PromotionOut
    entries: int
    followers_gained: int  # entrants who followed the anchor after their entry
    orders: int  # paid orders placed from those entries
    gmv_minor: int
    cost_per_entry_minor: float | None
    cost_per_follower_minor: float | None
    cost_per_order_minor: float | None
    free: SegmentOut  # the session's private domain: its followers' viewers, orders, GMV
