"""Wire format of the live feature."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

MAX_CART_PRODUCTS = 100


class SessionStatus(StrEnum):
    """Where a live session is."""

    SCHEDULED = "scheduled"
    LIVE = "live"
    ENDED = "ended"


class EntrySource(StrEnum):
    """Where a visit came from (DESIGN.md's list); the first five are private domain."""

    FOLLOW_FEED = "follow_feed"
    LIVE_NOTIFICATION = "live_notification"
    FAN_GROUP = "fan_group"
    PROFILE = "profile"
    PREVIEW_RSVP = "preview_rsvp"
    SHARE = "share"
    RECOMMEND_FEED = "recommend_feed"
    SEARCH = "search"
    CATEGORY = "category"
    OTHER = "other"


PRIVATE_SOURCES = frozenset(
    {
        EntrySource.FOLLOW_FEED,
        EntrySource.LIVE_NOTIFICATION,
        EntrySource.FAN_GROUP,
        EntrySource.PROFILE,
        EntrySource.PREVIEW_RSVP,
    }
)


class SessionIn(BaseModel):
    """A show to schedule."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "shop_id": "shp_x",
                    "title": "Spring tea tasting",
                    "scheduled_at": "2026-05-01T12:00:00Z",
                    "product_ids": [],
                }
            ]
        },
    )

    shop_id: str = Field(min_length=1, max_length=32)
    title: str = Field(min_length=1, max_length=120)
    cover_url: str | None = Field(default=None, max_length=500, pattern=r"^https?://")
    scheduled_at: datetime
    product_ids: list[str] = Field(default_factory=list, max_length=MAX_CART_PRODUCTS)


class CartIn(BaseModel):
    """The room's cart, in the order the anchor wants it shown."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"product_ids": ["prd_x"]}]}
    )

    product_ids: list[str] = Field(max_length=MAX_CART_PRODUCTS)


class PinIn(BaseModel):
    """The product the anchor is explaining, or none."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"product_id": "prd_x"}]}
    )

    product_id: str | None = Field(default=None, max_length=32)


class SessionOut(BaseModel):
    """A live session as anyone sees it."""

    id: str
    anchor_id: str
    shop_id: str
    title: str
    cover_url: str | None
    status: SessionStatus
    scheduled_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    pinned_product_id: str | None
    cart: list[str]
