"""Tables of affiliate selling: the shops' offers in the selection pool, and the anchors'
applications to sell them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from laotie.db.base import Base, UTCDateTime


class PoolOffer(Base):
    """A shop's product in the selection pool: the commission it pays an anchor, and its terms.

    One offer a product, edited in place: an order copies the rate in force when it is
    placed, so a later change moves no order already placed.
    """

    __tablename__ = "affiliate_offers"
    __table_args__ = (
        CheckConstraint(
            "commission_bps > 0 AND commission_bps <= 10000", name="commission_in_range"
        ),
        Index("ix_affiliate_offers_shop", "shop_id"),
        Index("ix_affiliate_offers_pool", "status", "commission_bps"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id"))
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id"), unique=True)
    status: Mapped[str] = mapped_column(String(16))  # open | withdrawn
    commission_bps: Mapped[int] = mapped_column(Integer)  # of what the buyer keeps
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Anchors whose kept reputation is at least this may apply; none: every anchor.
    min_reputation: Mapped[float | None] = mapped_column(Float, nullable=True)
    # The shop's rule: an anchor who meets the terms is approved at once, without waiting.
    auto_approve: Mapped[bool] = mapped_column(Boolean, default=False)
    # The shop's consent to flash sales of the product in approved anchors' rooms.
    flash_sales: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AffiliateApplication(Base):
    """An anchor's asking to sell an offer's product, and the shop's (or its rule's) answer."""

    __tablename__ = "affiliate_applications"
    __table_args__ = (
        Index("ix_affiliate_applications_anchor", "anchor_id", "status"),
        Index("uq_affiliate_applications_offer_anchor", "offer_id", "anchor_id", unique=True),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    offer_id: Mapped[str] = mapped_column(ForeignKey("affiliate_offers.id"))
    anchor_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(16))  # pending | approved | rejected | revoked
    note: Mapped[str] = mapped_column(Text, default="")  # the anchor's words to the shop
    # The anchor's kept reputation when it applied, for the shop to weigh (none: not scored).
    reputation: Mapped[float | None] = mapped_column(Float, nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(16), nullable=True)  # shop | rule
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
