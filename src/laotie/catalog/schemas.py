"""Wire format of the catalog feature."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AnyUrl, BaseModel, ConfigDict, Field, StringConstraints, UrlConstraints

from laotie.core import text

# Integer columns are 32-bit on PostgreSQL; these ceilings keep every sum far below 2**31.
MAX_PRICE_MINOR = 1_000_000_000
MAX_STOCK = 10_000_000
MAX_STOCK_DELTA = 1_000_000
MAX_PER_BUYER_LIMIT = 10_000
MAX_SKUS_PER_PRODUCT = 50
MAX_PAGE = 100

# Texts are the shared request type (core/text.py): no control characters, trimmed.
Name = Annotated[text.Name, StringConstraints(max_length=80)]
Title = Annotated[text.Name, StringConstraints(max_length=120)]
Description = Annotated[text.LongText, StringConstraints(max_length=5000)]
Slug = Annotated[text.Text, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")]
AttributeName = Annotated[text.Name, StringConstraints(max_length=30)]
AttributeValue = Annotated[text.Name, StringConstraints(max_length=60)]
ImageUrl = Annotated[AnyUrl, UrlConstraints(max_length=500, allowed_schemes=["http", "https"])]
Price = Annotated[int, Field(gt=0, le=MAX_PRICE_MINOR, description="minor units, e.g. fen")]
PerBuyerLimit = Annotated[int, Field(ge=1, le=MAX_PER_BUYER_LIMIT)]


class ProductStatus(StrEnum):
    """Whether buyers can see a product."""

    ACTIVE = "active"
    HIDDEN = "hidden"


# Requests


class ShopCreateIn(BaseModel):
    """A new shop."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"name": "Old Iron Tea House", "description": "Yunnan pu'er since 1998"}]
        },
    )

    name: Name
    description: Description = ""


class ShopUpdateIn(BaseModel):
    """Changes to a shop's public face; omitted fields stay as they are."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"description": "Pu'er, white tea and oolong"}]},
    )

    name: Name | None = None
    description: Description | None = None


class ShopVerificationIn(BaseModel):
    """An operator's verdict on a shop: verified or not. (Its security deposit is money it
    pays in, `POST /api/shops/{shop_id}/deposit-payments`, not a number typed here.)"""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"verified": True}]})

    verified: bool


class CategoryIn(BaseModel):
    """A new browsing category."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"slug": "tea", "name": "Tea", "return_window_days": 7, "position": 70}]
        },
    )

    slug: Slug
    name: Name
    return_window_days: int | None = Field(
        default=None, ge=0, le=90, description="no-reason return window; null: platform default"
    )
    position: int = Field(default=0, ge=0, le=10_000)


class SkuIn(BaseModel):
    """A variant of a product: its attributes, price, units on hand and per-buyer limit."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "attributes": {"colour": "red", "size": "M"},
                    "price_minor": 12_900,
                    "stock": 50,
                    "per_buyer_limit": 5,
                }
            ]
        },
    )

    attributes: dict[AttributeName, AttributeValue] = Field(default_factory=dict, max_length=8)
    price_minor: Price
    stock: int = Field(default=0, ge=0, le=MAX_STOCK)
    per_buyer_limit: PerBuyerLimit | None = None


class ProductCreateIn(BaseModel):
    """A new product with its SKUs."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "title": "Linen shirt",
                    "description": "Washed linen, relaxed fit",
                    "images": ["https://img.example.com/shirt.jpg"],
                    "category": "apparel",
                    "skus": [
                        {"attributes": {"size": "M"}, "price_minor": 12_900, "stock": 20},
                        {"attributes": {"size": "L"}, "price_minor": 12_900, "stock": 10},
                    ],
                }
            ]
        },
    )

    title: Title
    description: Description = ""
    images: list[ImageUrl] = Field(default_factory=list, max_length=12)
    category: Slug
    skus: list[SkuIn] = Field(min_length=1, max_length=MAX_SKUS_PER_PRODUCT)


class ProductUpdateIn(BaseModel):
    """Changes to a product; omitted fields stay as they are. `hidden` takes it off sale."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"title": "Washed linen shirt", "status": "hidden"}]},
    )

    title: Title | None = None
    description: Description | None = None
    images: list[ImageUrl] | None = Field(default=None, max_length=12)
    category: Slug | None = None
    status: ProductStatus | None = None


class SkuUpdateIn(BaseModel):
    """Changes to a SKU; omitted fields stay as they are, `per_buyer_limit: null` removes it."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"price_minor": 9_900, "per_buyer_limit": 2}]},
    )

    price_minor: Price | None = None
    per_buyer_limit: PerBuyerLimit | None = None
    active: bool | None = None


class StockAdjustmentIn(BaseModel):
    """Units put on hand (positive) or written off (negative)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"delta": 25}]})

    delta: int = Field(ge=-MAX_STOCK_DELTA, le=MAX_STOCK_DELTA)


# Answers


class ShopOut(BaseModel):
    """A shop as everyone sees it."""

    id: str
    owner_id: str
    name: str
    description: str
    verified: bool
    deposit_minor: int  # its security deposit, paid in and held by the platform
    currency: str
    created_at: datetime
    # The trust badge (信任购): the platform pays a refund request at once (docs/trust.md).
    trust_badge: bool = False


class CategoryOut(BaseModel):
    """A browsing category."""

    slug: str
    name: str
    return_window_days: int | None
    position: int


class SkuOut(BaseModel):
    """A SKU with its price, the lowest regular price of the last 30 days and units on hand."""

    id: str
    product_id: str
    shop_id: str
    attributes: dict[str, str]
    price_minor: int
    was_price_minor: int = Field(description="lowest regular price of the last 30 days")
    currency: str
    stock: int
    per_buyer_limit: int | None
    active: bool


class ProductOut(BaseModel):
    """A product with its SKUs (inactive ones only for the owner)."""

    id: str
    shop_id: str
    shop_name: str
    title: str
    description: str
    images: list[str]
    category: str
    status: ProductStatus
    created_at: datetime
    skus: list[SkuOut]


class ProductListItem(BaseModel):
    """A product in a listing: what a card in a grid shows."""

    id: str
    shop_id: str
    shop_name: str
    title: str
    image: str | None
    category: str
    status: ProductStatus
    lowest_price_minor: int | None
    currency: str


class ProductPage(BaseModel):
    """One page of a product listing."""

    items: list[ProductListItem]
    total: int
    limit: int
    offset: int
