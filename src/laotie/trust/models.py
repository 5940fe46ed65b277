"""Trust's tables: reviews, daily scores, and the rules: reports, violations, appeals, audit."""

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


class AnchorScore(Base):
    """An anchor's reputation as the daily job computed it, with its inputs: its history."""

    __tablename__ = "anchor_scores"

    anchor_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    score: Mapped[float] = mapped_column(Float)
    tier: Mapped[str] = mapped_column(String(16))
    new: Mapped[bool] = mapped_column(Boolean)
    buyers: Mapped[int] = mapped_column(Integer)
    dimensions: Mapped[list[Any]] = mapped_column(JSON)
    formula_version: Mapped[str] = mapped_column(String(24))
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Report(Base):
    """A buyer's report of a rule broken, from an order or a live room, awaiting an operator."""

    __tablename__ = "trust_reports"
    __table_args__ = (Index("ix_trust_reports_status_created", "status", "created_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    reporter_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id"))
    kind: Mapped[str] = mapped_column(String(32))
    order_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    session_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))  # open, confirmed, dismissed
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(32), nullable=True)
    decision_note: Mapped[str | None] = mapped_column(Text, nullable=True)


class Violation(Base):
    """A confirmed breach of a rule and the penalty points it carries until it expires.

    `dedupe_key` names what the breach is about (a report, a shop's late day), so that
    detection run twice, or by two workers at once, records it once.
    """

    __tablename__ = "trust_violations"
    __table_args__ = (
        CheckConstraint("points >= 0", name="points_not_negative"),
        Index("ix_trust_violations_shop_expires", "shop_id", "expires_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id"))
    kind: Mapped[str] = mapped_column(String(32))
    points: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(16))  # detected or report
    dedupe_key: Mapped[str] = mapped_column(String(96), unique=True)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # Set when an operator upholds the seller's appeal: the points stop counting.
    overturned_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Appeal(Base):
    """A seller's one appeal against a violation, and the operator's decision on it."""

    __tablename__ = "trust_appeals"
    __table_args__ = (Index("ix_trust_appeals_status_created", "status", "created_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    violation_id: Mapped[str] = mapped_column(ForeignKey("trust_violations.id"), unique=True)
    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id"))
    seller_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))  # open, granted, rejected
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(32), nullable=True)
    decision_note: Mapped[str | None] = mapped_column(Text, nullable=True)


class AuditEntry(Base):
    """One decision of the rules, by an operator, a seller, a buyer or detection: kept for ever."""

    __tablename__ = "trust_audit"
    __table_args__ = (Index("ix_trust_audit_shop_id", "shop_id", "id"),)

    # In the order written, which decisions made in the same instant still have.
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[str | None] = mapped_column(String(32), nullable=True)  # None: detection
    action: Mapped[str] = mapped_column(String(32))
    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id"))
    subject_id: Mapped[str] = mapped_column(String(32))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)


class LoyaltyRank(Base):
    """A shop's repurchase over the score window and its percentile in its main category.

    Computed once a day for every shop at once (a percentile compares shops); the score
    reads the shop's latest row. `percentile` is empty when the shop has too few buyers or
    no peer to be ranked against.
    """

    __tablename__ = "loyalty_ranks"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id"), primary_key=True)
    category_slug: Mapped[str] = mapped_column(String(40))
    buyers: Mapped[int] = mapped_column(Integer)
    repeat_buyers: Mapped[int] = mapped_column(Integer)
    rate: Mapped[float] = mapped_column(Float)
    peers: Mapped[int] = mapped_column(Integer)
    percentile: Mapped[float | None] = mapped_column(Float, nullable=True)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class BrushingFlag(Base):
    """A shop's orders that brushing detection found suspicious, for an operator to decide.

    One open flag a shop: each run adds what it finds to it, signal by signal, until an
    operator confirms it (its orders stop counting and the shop gets penalty points) or
    dismisses it; then new findings open a new flag.
    """

    __tablename__ = "brushing_flags"
    __table_args__ = (
        Index("ix_brushing_flags_status_created", "status", "created_at"),
        Index("ix_brushing_flags_shop_status", "shop_id", "status"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id"))
    status: Mapped[str] = mapped_column(String(16))  # open, confirmed, dismissed
    # Per signal, each finding's evidence: {"shared_fingerprint": [{"fingerprint": ...}], ...}
    signals: Mapped[dict[str, Any]] = mapped_column(JSON)
    buyer_ids: Mapped[list[Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(32), nullable=True)
    decision_note: Mapped[str | None] = mapped_column(Text, nullable=True)


class FlaggedOrder(Base):
    """An order a brushing flag holds: one flag an order, at its own shop.

    `role` says how: `brushing` (an order of the flagged shop) or `camouflage` (an order
    the same ring placed at another shop, which stops counting there too, blameless).
    """

    __tablename__ = "flagged_orders"
    __table_args__ = (
        Index("ix_flagged_orders_shop", "shop_id"),
        Index("ix_flagged_orders_flag", "flag_id"),
    )

    order_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    flag_id: Mapped[str] = mapped_column(ForeignKey("brushing_flags.id"))
    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id"))
    role: Mapped[str] = mapped_column(String(16))


class DetectionRun(Base):
    """A day brushing detection ran, so that the daily job runs it once."""

    __tablename__ = "brushing_runs"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
