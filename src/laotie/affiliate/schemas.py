"""Wire format of affiliate selling."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from laotie.core import text

Note = Annotated[text.LongText, StringConstraints(max_length=500)]
Bps = Annotated[int, Field(ge=1, le=10_000, description="basis points: 100 is 1.00%")]
Reputation = Annotated[float, Field(ge=3.0, le=5.0, description="3.00 to 5.00")]


class OfferStatus(StrEnum):
    """Whether anchors can find an offer in the pool."""

    OPEN = "open"
    WITHDRAWN = "withdrawn"


class ApplicationStatus(StrEnum):
    """Where an anchor's application stands."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    REVOKED = "revoked"  # approved once, then ended by the shop


class Decision(StrEnum):
    """A shop's answer to an application, or its ending an approval."""

    APPROVE = "approve"
    REJECT = "reject"
    REVOKE = "revoke"


class OfferIn(BaseModel):
    """A shop's terms for a product in the selection pool."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "commission_bps": 1500,
                    "min_reputation": 4.2,
                    "auto_approve": True,
                    "flash_sales": True,
                }
            ]
        },
    )

    commission_bps: Bps
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    min_reputation: Reputation | None = None
    auto_approve: bool = False
    flash_sales: bool = False


class OfferOut(BaseModel):
    """An offer as its shop sees it: every term, and how many anchors sell it."""

    id: str
    shop_id: str
    product_id: str
    product_title: str
    status: str
    commission_bps: int
    starts_at: datetime | None
    ends_at: datetime | None
    min_reputation: float | None
    auto_approve: bool
    flash_sales: bool
    approved_anchors: int
    pending_applications: int
    updated_at: datetime


class PoolItemOut(BaseModel):
    """An offer as an anchor finds it in the pool: the product, the shop and its trust, the
    commission and what it asks of anchors; the shop's own rules stay the shop's."""

    offer_id: str
    product_id: str
    title: str
    category: str
    image_url: str | None
    price_minor: int  # the lowest price of its variants
    currency: str
    shop_id: str
    shop_name: str
    shop_tier: str | None  # the shop's kept trust tier; none before its first score
    commission_bps: int
    commission_minor: int  # what one unit at `price_minor` earns
    starts_at: datetime | None
    ends_at: datetime | None
    min_reputation: float | None
    flash_sales: bool
    application: str | None  # the viewing anchor's application, if it applied


class ApplicationIn(BaseModel):
    """An anchor asking to sell an offer's product."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"note": "Tea shows every evening"}]}
    )

    note: Note = ""


class DecisionIn(BaseModel):
    """A shop's answer to an application."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"decision": "approve"}]}
    )

    decision: Decision


class ApplicationOut(BaseModel):
    """An application, as its anchor and the offering shop see it."""

    id: str
    offer_id: str
    product_id: str
    product_title: str
    shop_id: str
    anchor_id: str
    anchor_name: str
    reputation: float | None  # the anchor's kept reputation when it applied
    status: str
    decided_by: str | None  # "shop", or "rule" (the offer's own approval)
    note: str
    commission_bps: int  # the offer's rate now
    created_at: datetime
    decided_at: datetime | None
