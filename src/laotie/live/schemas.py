"""Wire format of the live feature."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from laotie.core.text import Name, Text

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

    # The anchor's own shop; left out by an anchor without one, whose cart holds only the
    # selection pool's products it is approved to sell.
    shop_id: Text | None = Field(default=None, min_length=1, max_length=32)
    title: Name = Field(max_length=120)
    cover_url: Text | None = Field(default=None, max_length=500, pattern=r"^https?://")
    scheduled_at: datetime
    product_ids: list[Text] = Field(default_factory=list, max_length=MAX_CART_PRODUCTS)


class CartIn(BaseModel):
    """The room's cart, in the order the anchor wants it shown."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"product_ids": ["prd_x"]}]}
    )

    product_ids: list[Text] = Field(max_length=MAX_CART_PRODUCTS)


class PinIn(BaseModel):
    """The product the anchor is explaining, or none."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"product_id": "prd_x"}]}
    )

    product_id: Text | None = Field(default=None, max_length=32)


class SessionOut(BaseModel):
    """A live session as anyone sees it."""

    id: str
    anchor_id: str
    shop_id: str | None  # none: an anchor without a shop, selling the pool's products
    title: str
    cover_url: str | None
    status: SessionStatus
    scheduled_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    pinned_product_id: str | None
    cart: list[str]


class FlashSaleIn(BaseModel):
    """A flash sale to start now."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "sku_id": "sku_x",
                    "price_minor": 100,
                    "quantity": 5,
                    "per_buyer_limit": 1,
                    "duration_s": 300,
                }
            ]
        },
    )

    sku_id: Text = Field(min_length=1, max_length=32)
    price_minor: int = Field(gt=0, le=100_000_000)
    quantity: int = Field(ge=1, le=1_000_000)
    per_buyer_limit: int = Field(default=1, ge=1, le=1_000)
    duration_s: int = Field(default=300, ge=10, le=7_200)


class FlashSaleOut(BaseModel):
    """A flash sale as the room shows it."""

    sale_id: str
    session_id: str
    sku_id: str
    product_id: str
    title: str
    price_minor: int
    was_price_minor: int
    currency: str
    quantity: int
    per_buyer_limit: int
    ends_at: datetime


class FlashSaleNowOut(FlashSaleOut):
    """A flash sale's terms and the units it has left, as its gate counts them."""

    status: Literal["running", "ended"]
    left: int = Field(description="Units still to be had; 0 once sold out or ended.")
    version: int = Field(description="Grows with every change of `left`; the newest wins.")


class RoomOrderIn(BaseModel):
    """Buy a SKU from the room's cart (through the flash sale when one runs)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"sku_id": "sku_x", "quantity": 1, "visit_id": None}]},
    )

    sku_id: Text = Field(min_length=1, max_length=32)
    quantity: int = Field(ge=1, le=10_000)
    visit_id: Text | None = Field(default=None, max_length=32)
    address_id: Text | None = Field(
        default=None, max_length=32, description="the buyer's address; the default if omitted"
    )
    fan_price: bool = Field(
        default=False, description="pay the SKU's fan price in this session (fans only)"
    )
    coupon_claim_id: Text | None = Field(
        default=None,
        max_length=32,
        description="a claimed coupon this order redeems",
    )


class ModerationIn(BaseModel):
    """The anchor's action on a chat line or a viewer."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"action": "mute", "user_id": "usr_x", "minutes": 10}]},
    )

    action: Text = Field(pattern="^(delete|mute|ban|unban)$")
    message_id: Text | None = Field(default=None, min_length=1, max_length=32)
    user_id: Text | None = Field(default=None, max_length=32)
    minutes: int | None = Field(default=None, ge=1, le=10_080)


class MinuteOut(BaseModel):
    """One minute of a session, for its review."""

    minute: datetime
    viewers: int
    entries: int
    chats: int
    likes: int
    orders: int
    gmv_minor: int


class PinOut(BaseModel):
    """A pin in a session's review: the product pinned then, or none (unpinned)."""

    product_id: str | None
    at: datetime


class SaleReviewOut(BaseModel):
    """A flash sale in a session's review: its terms and what it sold."""

    sale_id: str
    sku_id: str
    product_id: str
    price_minor: int
    was_price_minor: int
    quantity: int
    per_buyer_limit: int
    status: str
    started_at: datetime
    ends_at: datetime
    ended_at: datetime | None
    orders: int  # orders placed through the sale and not cancelled
    units_ordered: int
    returned_units: int  # units that went back to the SKU's stock when the sale ended


class SessionReviewOut(BaseModel):
    """What happened in a session, for its anchor (or an operator) to review."""

    session: SessionOut
    entries: int
    viewers: int  # distinct viewers: signed-in users and anonymous visitors
    watch_seconds: int
    likes: int
    chat_lines: int
    chat_deleted: int
    orders: int  # placed in the room and not cancelled
    gmv_minor: int
    pins: list[PinOut]
    sales: list[SaleReviewOut]


class ChatLineOut(BaseModel):
    """A saved chat line, deleted ones included, for the session's review."""

    id: str
    user_id: str
    author: str
    text: str
    deleted: bool
    created_at: datetime


class TicketIn(BaseModel):
    """The room a WebSocket ticket is for."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"session_id": "liv_x"}]}
    )

    session_id: Text = Field(min_length=1, max_length=32)


class TicketOut(BaseModel):
    """A short-lived ticket: `?ticket=` in the room's WebSocket URL."""

    ticket: str
    expires_at: datetime
