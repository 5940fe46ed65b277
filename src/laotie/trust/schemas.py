"""The wire forms of reviews."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from laotie.catalog.schemas import ImageUrl
from laotie.core import text

MAX_REVIEW_CHARS = 2_000
MAX_REPLY_CHARS = 1_000
MAX_REVIEW_IMAGES = 9

Stars = Annotated[int, Field(ge=1, le=5, description="1 (worst) to 5 (best)")]
# Field types named here: a model's own `text` field would hide the module in its body.
LineId = Annotated[text.Text, StringConstraints(min_length=1, max_length=32)]
ReviewText = Annotated[text.LongText, StringConstraints(max_length=MAX_REVIEW_CHARS)]
FollowUpText = Annotated[
    text.LongText, StringConstraints(min_length=1, max_length=MAX_REVIEW_CHARS)
]
ReplyText = Annotated[text.LongText, StringConstraints(min_length=1, max_length=MAX_REPLY_CHARS)]
Images = Annotated[list[ImageUrl], Field(max_length=MAX_REVIEW_IMAGES)]


class ReviewIn(BaseModel):
    """A buyer's review of one line of a delivered order."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "line_id": "oln_x",
                    "product_stars": 5,
                    "logistics_stars": 4,
                    "service_stars": 5,
                    "text": "Tastes as the anchor said; the box was a little dented.",
                    "images": [],
                }
            ]
        },
    )

    line_id: LineId
    product_stars: Stars
    logistics_stars: Stars
    service_stars: Stars
    text: ReviewText = ""
    images: Images = Field(default_factory=list)


class FollowUpIn(BaseModel):
    """The one follow-up a buyer adds to a review, within the follow-up window."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"text": "Three weeks on, still the best I have had."}]},
    )

    text: FollowUpText
    images: Images = Field(default_factory=list)


class ReplyIn(BaseModel):
    """The shop's one public answer to a review."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"text": "Thank you; we pack the boxes better now."}]},
    )

    text: ReplyText


class ReviewOut(BaseModel):
    """A review as anyone sees it: no buyer identity, so that reviews do not list purchases."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    order_id: str
    line_id: str = Field(validation_alias="order_line_id")
    shop_id: str
    product_id: str
    sku_id: str
    product_stars: int
    logistics_stars: int
    service_stars: int
    text: str
    images: list[str]
    created_at: datetime
    follow_up_text: str | None
    follow_up_images: list[str] | None
    follow_up_at: datetime | None
    reply_text: str | None
    replied_at: datetime | None


class DimensionOut(BaseModel):
    """A dimension with its inputs: value = (weighted_sum + prior × m) / (weight + m)."""

    dimension: str
    weight_in_score: float
    weighted_sum: float
    weight: float
    count: int
    value: float


class FormulaOut(BaseModel):
    """The constants of the formula a score was computed with (docs/trust.md)."""

    version: str
    window_days: int
    half_life_days: float
    pair_days: int
    prior: float
    prior_weight: float
    new_shop_buyers: int
    lowest: float
    highest: float
    min_order_minor: int


class ShopTrustOut(BaseModel):
    """A shop's experience score with every input needed to recompute it by hand."""

    shop_id: str
    as_of: datetime
    score: float
    tier: str
    new: bool
    buyers: int
    # Units delivered, past the return window and not refunded: the sales figure buyers see.
    verified_sales: int
    dimensions: list[DimensionOut]
    formula: FormulaOut


class VerifiedSalesOut(BaseModel):
    """A product's verified sales: units delivered, past the return window, not refunded."""

    product_id: str
    units: int
    skus: dict[str, int]


class ScoreDayOut(BaseModel):
    """A shop's score on one day of its history, as the daily job computed it."""

    model_config = ConfigDict(from_attributes=True)

    day: date
    score: float
    tier: str
    new: bool
    buyers: int
    formula_version: str
