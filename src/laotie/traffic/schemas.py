"""The wire forms of follows, the following feed, fan groups and fan prices."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


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
    shop_id: str
    title: str
    status: str
    scheduled_at: datetime
    started_at: datetime | None
    # The room's page, entered as from the following feed: `follow_feed`, signed for the room.
    url: str


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
    shop_id: str
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
