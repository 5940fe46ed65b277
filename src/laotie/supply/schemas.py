"""Wire format of the supply feature."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from laotie.catalog.schemas import Description, Name, Price, Slug
from laotie.core import text

MAX_TIERS = 10
MAX_CATEGORIES = 20
MAX_UNITS = 10_000_000  # a run, a week's capacity: far below 2**31 in any sum
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
