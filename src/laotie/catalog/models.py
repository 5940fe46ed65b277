"""Tables of the catalog feature."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from laotie.db.base import Base, UTCDateTime


class Category(Base):
    """A browsing category; it also sets the no-reason return window of its products."""

    __tablename__ = "categories"

    slug: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    return_window_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


class Shop(Base):
    """A seller's shop."""

    __tablename__ = "shops"
    __table_args__ = (
        CheckConstraint("deposit_minor >= 0", name="deposit_not_negative"),
        Index("ix_shops_owner", "owner_id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    name: Mapped[str] = mapped_column(String(80), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    deposit_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Set by trust's penalty points (docs/trust.md): no order is taken before this time.
    suspended_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The trust badge (信任购), granted and withdrawn by trust: refunds advanced at once.
    trust_badge: Mapped[bool] = mapped_column(Boolean, default=False)


class Product(Base):
    """A product of a shop; what is bought is one of its SKUs."""

    __tablename__ = "products"
    __table_args__ = (
        Index("ix_products_shop", "shop_id"),
        Index("ix_products_category", "category_slug", "status"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id"))
    title: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    images: Mapped[list[str]] = mapped_column(JSON, default=list)
    category_slug: Mapped[str] = mapped_column(ForeignKey("categories.slug"))
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | hidden
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Sku(Base):
    """A variant of a product with its price and its units.

    Units: stocked = stock (on hand) + in_sale (held by running flash sales) + reserved
    (unpaid) + sold + returned_unsellable.
    """

    __tablename__ = "skus"
    __table_args__ = (
        CheckConstraint("stock >= 0", name="stock_not_negative"),
        CheckConstraint("in_sale >= 0", name="in_sale_not_negative"),
        CheckConstraint("reserved >= 0", name="reserved_not_negative"),
        CheckConstraint("sold >= 0", name="sold_not_negative"),
        CheckConstraint("returned_unsellable >= 0", name="returned_not_negative"),
        CheckConstraint("price_minor > 0", name="price_positive"),
        Index("ix_skus_product", "product_id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id"))
    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id"))  # copied: one join less
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    price_minor: Mapped[int] = mapped_column(BigInteger)
    stock: Mapped[int] = mapped_column(BigInteger, default=0)
    in_sale: Mapped[int] = mapped_column(BigInteger, default=0)
    reserved: Mapped[int] = mapped_column(BigInteger, default=0)
    sold: Mapped[int] = mapped_column(BigInteger, default=0)
    returned_unsellable: Mapped[int] = mapped_column(BigInteger, default=0)
    per_buyer_limit: Mapped[int | None] = mapped_column(Integer, nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The seller's order of the variants (S, M, L), kept apart from ids, which are random.
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SkuPrice(Base):
    """One span of a SKU's price, so that the lowest regular price of any window is known.

    kind is `regular`, `flash` or `fan`; only regular prices set the "was" price.
    """

    __tablename__ = "sku_prices"
    __table_args__ = (Index("ix_sku_prices_sku", "sku_id", "valid_from"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    sku_id: Mapped[str] = mapped_column(ForeignKey("skus.id"))
    kind: Mapped[str] = mapped_column(String(16), default="regular")
    price_minor: Mapped[int] = mapped_column(BigInteger)
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime)
    valid_to: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ShelfView(Base):
    """A viewer's presence on a shop's pages on one UTC day: its first view of that day.

    The shelf channel's UV is the distinct viewers of these rows over a range; one row per
    viewer and day (not per view) keeps the table small and any range's count exact.
    """

    __tablename__ = "shelf_views"
    __table_args__ = (Index("ix_shelf_views_day", "day"),)  # every shop's visitors of a range

    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    viewer_key: Mapped[str] = mapped_column(String(40), primary_key=True)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Which product page it came in by (None: the shop's own page). A note rather than a
    # foreign key: a batch of views never fails over one product.
    first_product_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
