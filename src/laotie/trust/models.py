"""Trust's tables: the reviews of order lines, and each shop's score day by day."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from laotie.db.base import Base, UTCDateTime


class Review(Base):
    """A buyer's stars and words on one line of a delivered order, its follow-up and the reply.

    The shop, product and buyer are copied from the order so that scores read one table.
    """

    __tablename__ = "reviews"
    __table_args__ = (
        CheckConstraint("product_stars BETWEEN 1 AND 5", name="product_stars_range"),
        CheckConstraint("logistics_stars BETWEEN 1 AND 5", name="logistics_stars_range"),
        CheckConstraint("service_stars BETWEEN 1 AND 5", name="service_stars_range"),
        Index("ix_reviews_shop_created", "shop_id", "created_at"),
        Index("ix_reviews_product_created", "product_id", "created_at"),
        Index("ix_reviews_order", "order_id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    # One review a line: the unique key refuses a second even under a race.
    order_line_id: Mapped[str] = mapped_column(ForeignKey("order_lines.id"), unique=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"))
    buyer_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id"))
    product_id: Mapped[str] = mapped_column(String(32))
    sku_id: Mapped[str] = mapped_column(String(32))
    # The order's value when reviewed: reviews of orders under the minimum do not count.
    order_value_minor: Mapped[int] = mapped_column(BigInteger)
    product_stars: Mapped[int] = mapped_column(SmallInteger)
    logistics_stars: Mapped[int] = mapped_column(SmallInteger)
    service_stars: Mapped[int] = mapped_column(SmallInteger)
    text: Mapped[str] = mapped_column(Text)
    images: Mapped[list[Any]] = mapped_column(JSON)
    # When the order was delivered: the review and its follow-up are due within a window of it.
    delivered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    follow_up_text: Mapped[str | None] = mapped_column(Text, nullable=True)
    follow_up_images: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True)
    follow_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reply_text: Mapped[str | None] = mapped_column(Text, nullable=True)
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ShopScore(Base):
    """A shop's score as the daily job computed it, with the inputs it was computed from.

    One row a shop and day: the history the seller's chart draws, each row recomputable
    from its own `dimensions` and the formula of `formula_version` (docs/trust.md).
    """

    __tablename__ = "shop_scores"

    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    score: Mapped[float] = mapped_column(Float)
    tier: Mapped[str] = mapped_column(String(16))
    new: Mapped[bool] = mapped_column(Boolean)
    buyers: Mapped[int] = mapped_column(Integer)
    dimensions: Mapped[list[Any]] = mapped_column(JSON)
    formula_version: Mapped[str] = mapped_column(String(24))
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)
