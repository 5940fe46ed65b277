"""The wire forms of trust: reviews, scores, and the rules with their penalty points."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

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


class LoyaltyOut(BaseModel):
    """The repurchase rank the loyalty dimension read: its day, category, rate and percentile."""

    model_config = ConfigDict(from_attributes=True)

    day: date
    category_slug: str
    buyers: int
    repeat_buyers: int
    rate: float
    peers: int
    percentile: float | None


class ProductionRunOut(BaseModel):
    """A partner factory's production run the logistics dimension read (docs/trust.md)."""

    model_config = ConfigDict(from_attributes=True)

    campaign_id: str
    factory_id: str
    due_by: datetime
    shipped_at: datetime | None
    on_time: bool
    at: datetime  # when the observation was made: the shipping, or the due date passing
    units: int  # the observation's weight before its age: the units its buyers committed to


class ScoreOut(BaseModel):
    """A score with every input needed to recompute it by hand (docs/trust.md)."""

    as_of: datetime
    score: float
    tier: str
    new: bool
    buyers: int
    dimensions: list[DimensionOut]
    formula: FormulaOut


class ShopTrustOut(ScoreOut):
    """A shop's experience score, its verified sales and the loyalty rank it read."""

    shop_id: str
    # Units delivered, past the return window and not refunded: the sales figure buyers see.
    verified_sales: int
    # The latest rank among the shops of its main category; none: loyalty is the prior.
    loyalty: LoyaltyOut | None = None
    # The runs of its partner factories that count in logistics: on time a 5, late a 1.
    production_runs: list[ProductionRunOut] = []
    # Whether the shop holds the trust badge (granted daily, withdrawn by a serious violation).
    badge: bool = False


class AnchorTrustOut(ScoreOut):
    """An anchor's reputation: the shop formula over the orders placed in its sessions."""

    anchor_id: str
    sessions: int


class HintOut(BaseModel):
    """Something the seller can do that would raise the score, and by how much."""

    dimension: str
    action: str
    gain: float  # score points, before rounding


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


# ---------------------------------------------------------------- rules and penalty points

ReportText = Annotated[text.LongText, StringConstraints(min_length=1, max_length=MAX_REVIEW_CHARS)]
NoteText = Annotated[text.LongText, StringConstraints(max_length=MAX_REPLY_CHARS)]


class ReportKind(StrEnum):
    """What a buyer may report; late shipping is not reported, the deadline detects it."""

    COUNTERFEIT = "counterfeit"
    MISDESCRIPTION = "misdescription"
    FAKE_DISCOUNT = "fake_discount"
    OFF_PLATFORM_TRADING = "off_platform_trading"
    FAKE_ENGAGEMENT = "fake_engagement"


class ReportIn(BaseModel):
    """A buyer's report of a broken rule, from one of their orders or from a live room."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"kind": "misdescription", "text": "Listed as silk; the label says polyester."}
            ]
        },
    )

    kind: ReportKind
    text: ReportText


class ReportOut(BaseModel):
    """A report and what became of it."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    shop_id: str
    kind: str
    order_id: str | None
    session_id: str | None
    text: str
    status: str
    created_at: datetime
    decided_at: datetime | None
    decision_note: str | None


class ReportDecisionIn(BaseModel):
    """An operator's verdict on a report: confirmed, it becomes a violation with its points."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"confirm": True, "note": "The label in the photo"}]},
    )

    confirm: bool
    note: NoteText = ""


class AppealIn(BaseModel):
    """A seller's one appeal against a violation of its shop."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"text": "The courier's scan shows pick-up on time."}]},
    )

    text: ReportText


class AppealDecisionIn(BaseModel):
    """An operator's verdict on an appeal: granted, the violation's points stop counting."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"grant": True, "note": "The courier confirmed it"}]},
    )

    grant: bool
    note: NoteText = ""


class AppealOut(BaseModel):
    """An appeal and its decision."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    violation_id: str
    shop_id: str
    text: str
    status: str
    created_at: datetime
    decided_at: datetime | None
    decision_note: str | None


class ViolationOut(BaseModel):
    """A confirmed violation: its points count from `created_at` until `expires_at`."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    shop_id: str
    kind: str
    points: int
    source: str
    evidence: dict[str, Any]
    created_at: datetime
    expires_at: datetime
    overturned_at: datetime | None
    active: bool = False
    appeal: AppealOut | None = None


class ThresholdsOut(BaseModel):
    """The penalty points at which each step applies (settings, docs/trust.md)."""

    warning: int
    no_flash_sales: int
    no_public_traffic: int
    suspension: int


class PenaltiesOut(BaseModel):
    """A shop's penalty points now, the step they put it on, and its violations."""

    shop_id: str
    as_of: datetime
    points: int
    standing: str
    suspended_until: datetime | None
    thresholds: ThresholdsOut
    violations: list[ViolationOut]


class FlagDecisionIn(BaseModel):
    """An operator's verdict on a brushing flag: confirmed, its orders stop counting."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"confirm": True, "note": "One device, thirty accounts"}]},
    )

    confirm: bool
    note: NoteText = ""


class FlagOut(BaseModel):
    """A brushing flag: its shop, each signal's evidence, the ring and the orders it holds."""

    id: str
    shop_id: str
    status: str
    signals: dict[str, list[dict[str, Any]]]
    buyer_ids: list[str]
    order_ids: list[str]
    # The ring's orders at other shops: they stop counting there too, without blame.
    camouflage_order_ids: list[str]
    created_at: datetime
    updated_at: datetime
    decided_at: datetime | None
    decision_note: str | None


class AuditOut(BaseModel):
    """One decision of the rules, as the audit trail keeps it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor_id: str | None
    action: str
    shop_id: str
    subject_id: str
    detail: dict[str, Any]
