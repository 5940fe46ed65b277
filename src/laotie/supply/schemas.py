"""Wire format of the supply feature."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from laotie.catalog.schemas import Description, Name, Price, Slug
from laotie.core import text

MAX_TIERS = 10
MAX_CATEGORIES = 20
MAX_UNITS = 10_000_000  # a run, a week's capacity: far below 2**31 in any sum
MAX_RERUN_UNITS = 1_000_000
City = Annotated[text.Name, StringConstraints(max_length=60)]
Units = Annotated[int, Field(ge=1, le=MAX_UNITS)]
LeadDays = Annotated[int, Field(ge=1, le=365, description="days from order to first units")]
Note = Annotated[text.LongText, StringConstraints(max_length=1000)]


class PriceTier(BaseModel):
    """A unit price from a quantity on."""

    model_config = ConfigDict(extra="forbid")

    min_quantity: Units
    unit_price_minor: Price


class FactoryIn(BaseModel):
    """A new factory and what it can make."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "Hangzhou Wool Works",
                    "description": "Coats and knitwear, 18 years for export brands",
                    "city": "Hangzhou",
                    "categories": ["apparel"],
                    "moq": 200,
                    "lead_time_days": 21,
                    "weekly_capacity": 1500,
                    "price_tiers": [
                        {"min_quantity": 200, "unit_price_minor": 18_000},
                        {"min_quantity": 500, "unit_price_minor": 15_500},
                        {"min_quantity": 1000, "unit_price_minor": 13_900},
                    ],
                }
            ]
        },
    )

    name: Name
    description: Description = ""
    city: City
    categories: list[Slug] = Field(min_length=1, max_length=MAX_CATEGORIES)
    moq: Units
    lead_time_days: LeadDays
    weekly_capacity: Units
    price_tiers: list[PriceTier] = Field(min_length=1, max_length=MAX_TIERS)


class FactoryUpdateIn(BaseModel):
    """Changes to a factory's profile or capabilities; omitted fields stay as they are."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"weekly_capacity": 2000, "lead_time_days": 18}]},
    )

    name: Name | None = None
    description: Description | None = None
    city: City | None = None
    categories: list[Slug] | None = Field(None, min_length=1, max_length=MAX_CATEGORIES)
    moq: Units | None = None
    lead_time_days: LeadDays | None = None
    weekly_capacity: Units | None = None
    price_tiers: list[PriceTier] | None = Field(None, min_length=1, max_length=MAX_TIERS)


class FactoryVerificationIn(BaseModel):
    """An operator's verdict on a factory (its licence and premises checked)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"verified": True}]})

    verified: bool


class FactoryOut(BaseModel):
    """A factory as anyone may see it."""

    id: str
    owner_id: str
    name: str
    description: str
    city: str
    categories: list[str]
    moq: int
    lead_time_days: int
    weekly_capacity: int
    price_tiers: list[PriceTier]
    currency: str
    verified: bool
    created_at: datetime


class PartnershipStatus(StrEnum):
    """Where a shop's partnership with a factory stands."""

    REQUESTED = "requested"
    ACTIVE = "active"
    DECLINED = "declined"
    ENDED = "ended"


class PartnershipIn(BaseModel):
    """A shop asking a factory to work with it."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"factory_id": "fac_x", "note": "Wool coats for our autumn shows"}]
        },
    )

    factory_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,40}$")]
    note: Note = ""


class PartnershipAnswer(StrEnum):
    """A factory's answer to a shop's request."""

    ACCEPT = "accept"
    DECLINE = "decline"


class PartnershipAnswerIn(BaseModel):
    """A factory's answer."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"answer": "accept"}]}
    )

    answer: PartnershipAnswer


class PartnershipOut(BaseModel):
    """A shop and a factory, and where their partnership stands."""

    shop_id: str
    shop_name: str
    factory_id: str
    factory_name: str
    status: PartnershipStatus
    note: str
    requested_at: datetime
    answered_at: datetime | None


MAX_OPTIONS = 2
MAX_VALUES = 12
MAX_COMMIT_UNITS = 20
MAX_DEPOSIT_BPS = 2_000  # a deposit is at most 20% of the highest tier's price
OptionName = Annotated[text.Name, StringConstraints(max_length=30)]
OptionValue = Annotated[text.Name, StringConstraints(max_length=30, pattern=r"^[^/]+$")]
Title = Annotated[text.Name, StringConstraints(max_length=120)]
IdText = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,40}$")]


class CampaignIn(BaseModel):
    """A campaign for a product its partner factory will make if enough buyers commit."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "shop_id": "shp_x",
                    "factory_id": "fac_x",
                    "title": "Double-faced wool coat",
                    "description": "Made to order by our partner mill",
                    "category": "apparel",
                    "options": {"colour": ["black", "camel"], "size": ["S", "M", "L"]},
                    "price_tiers": [
                        {"min_quantity": 100, "unit_price_minor": 59_900},
                        {"min_quantity": 300, "unit_price_minor": 49_900},
                    ],
                    "moq": 100,
                    "cap_units": 500,
                    "deposit_bps": 1_000,
                    "deadline": "2026-01-06T20:00:00Z",
                }
            ]
        },
    )

    shop_id: IdText
    factory_id: IdText
    session_id: IdText | None = None
    title: Title
    description: Description = ""
    category: Slug
    options: dict[OptionName, list[OptionValue]] = Field(min_length=1, max_length=MAX_OPTIONS)
    price_tiers: list[PriceTier] = Field(min_length=1, max_length=MAX_TIERS)
    moq: Units
    cap_units: Units
    deposit_bps: int = Field(ge=1, le=MAX_DEPOSIT_BPS, description="of the highest price")
    deadline: datetime


class VariantOut(BaseModel):
    """A variant and the units committed to it (paid deposits)."""

    variant: str
    committed: int


class CampaignOut(BaseModel):
    """A campaign and its progress toward the MOQ."""

    id: str
    shop_id: str
    factory_id: str
    session_id: str | None
    title: str
    description: str
    category: str
    options: dict[str, list[str]]
    price_tiers: list[PriceTier]
    moq: int
    cap_units: int
    deposit_unit_minor: int
    currency: str
    deadline: datetime
    status: str
    committed: int  # units held by paid deposits
    reserved: int  # units held or awaiting their deposit, against the cap
    price_reached_minor: int | None  # the tier the committed units reach (None below MOQ)
    variants: list[VariantOut]
    created_at: datetime
    closed_at: datetime | None
    production: ProductionOut | None = None  # once confirmed: the factory's run
    product_id: str | None = None  # once confirmed: the product listed for it


class CommitIn(BaseModel):
    """Units of one variant, held by a deposit."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"variant": "black/M", "quantity": 1}]}
    )

    variant: Annotated[str, StringConstraints(min_length=1, max_length=120)]
    quantity: int = Field(ge=1, le=MAX_COMMIT_UNITS)


class CommitmentOut(BaseModel):
    """A buyer's commitment: its units, its deposit and where it stands; `pay_url` is where
    the deposit is paid while it is pending."""

    id: str
    campaign_id: str
    buyer_id: str
    variant: str
    quantity: int
    deposit_minor: int
    currency: str
    status: str
    payment_id: str
    pay_url: str | None
    created_at: datetime
    paid_at: datetime | None
    ended_at: datetime | None
    order_id: str | None = None  # once confirmed: the order of the balance


class BalanceIn(BaseModel):
    """Where a confirmed commitment's units go (the default address when omitted)."""

    model_config = ConfigDict(extra="forbid")

    address_id: str | None = Field(default=None, max_length=32)


class RunOut(BaseModel):
    """A production run as its factory sees it: the purchase order of a confirmed campaign."""

    id: str
    campaign_id: str
    campaign_title: str
    shop_id: str
    committed: dict[str, int]  # units by variant
    buffer: dict[str, int]  # units beyond, by variant
    units: int  # all of them
    unit_cost_minor: int
    currency: str
    status: str
    steps: dict[str, datetime]  # when each step was reached
    created_at: datetime
    due_by: datetime  # the last unit made, from the lead time and the weekly capacity
    late: bool  # not shipped, and past its due date
    number: int = 1  # 1 for the campaign's run, 2, 3, ... for its reruns
    shipment: dict[str, Any] | None = None  # once shipped: to whom, carrier, waybill, parcels


class VariantSalesOut(BaseModel):
    """A variant's units sold since a run, those returned for a refund, their share, and
    the returns by reason code (`size_fit`, `quality`, ...)."""

    variant: str
    sold: int
    returned: int
    return_rate: float
    reasons: dict[str, int]


class CampaignSalesOut(BaseModel):
    """What a confirmed campaign's product sold since its first run, by variant, and the
    mix a rerun would have now: the net sales since the last run."""

    campaign_id: str
    since: datetime
    variants: list[VariantSalesOut]
    since_last_run: datetime
    rerun_mix: dict[str, int]


class RerunIn(BaseModel):
    """A rerun's units: by default the net sales since the last run; the mix follows them."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"units": 120}]})

    units: int | None = Field(default=None, ge=1, le=MAX_RERUN_UNITS)


class RunStep(StrEnum):
    """A production run's steps, in order: the factory reports each as it is reached."""

    ORDERED = "ordered"
    ACCEPTED = "accepted"
    MATERIALS = "materials"
    PRODUCING = "producing"
    QUALITY_CHECK = "quality_check"
    SHIPPED = "shipped"


class RunStepIn(BaseModel):
    """The step a factory's run has reached: the one after its current step."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"step": "accepted"}]}
    )

    step: RunStep


class ProductionOut(BaseModel):
    """A confirmed campaign's production, as its buyers follow it."""

    status: str
    steps: dict[str, datetime]
    due_by: datetime
    late: bool


class ForecastOut(BaseModel):
    """A running campaign's expected final units (docs/supply.md, "Forecasts")."""

    campaign_id: str
    committed: int  # units of paid deposits now
    moq: int
    forecast_units: int
    reaches_moq: bool
    method: str  # bass (the diffusion curve fitted) | pace (too few commitments to fit)
    elapsed: float  # the share of the campaign's time gone
    made_at: datetime


CampaignOut.model_rebuild()


class ShipTo(StrEnum):
    """Where a run's goods go: to the shop, or straight to the buyers of its paid orders."""

    SELLER = "seller"
    BUYERS = "buyers"


class RunShipmentIn(BaseModel):
    """How a run shipped: its carrier and master waybill; to the buyers, each parcel under a
    child of it (`<tracking_no>-1`, `-2`, ...)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"to": "buyers", "carrier": "SF Express", "tracking_no": "SF7001"}]
        },
    )

    to: ShipTo = ShipTo.SELLER
    carrier: Name = Field(max_length=40)
    tracking_no: str = Field(min_length=3, max_length=48, pattern=r"^[A-Za-z0-9\-]+$")
