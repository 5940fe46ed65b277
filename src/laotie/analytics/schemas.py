"""Wire format of analytics: the GMV identity of a period and the attribution of a change."""

from __future__ import annotations

from datetime import date
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
        "(buyers per second watched), frequency, order_value (minor units); shelf: uv, "
        "conversion (orders per visitor), order_value. None without GMV."
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
