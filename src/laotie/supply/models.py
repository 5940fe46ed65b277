"""Tables of the supply feature: factories, their partnerships with shops, campaigns and
the commitments to them, and the production runs they become."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from laotie.db.base import Base, UTCDateTime


class Factory(Base):
    """A factory that makes what live rooms pool demand for, and what it can make."""

    __tablename__ = "factories"
    __table_args__ = (
        CheckConstraint("moq >= 1", name="moq_positive"),
        CheckConstraint("lead_time_days >= 1", name="lead_time_positive"),
        CheckConstraint("weekly_capacity >= 1", name="capacity_positive"),
        Index("ix_factories_owner", "owner_id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    name: Mapped[str] = mapped_column(String(80), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    city: Mapped[str] = mapped_column(String(60))
    categories: Mapped[list[str]] = mapped_column(JSON)  # category slugs it makes
    moq: Mapped[int] = mapped_column(Integer)  # units of one run, at least
    lead_time_days: Mapped[int] = mapped_column(Integer)  # from order to the first units
    weekly_capacity: Mapped[int] = mapped_column(Integer)  # units a week
    # [[min_quantity, unit_price_minor], ...], quantities rising and prices falling; the
    # first tier starts at the MOQ.
    price_tiers: Mapped[list[Any]] = mapped_column(JSON)
    currency: Mapped[str] = mapped_column(String(3))
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Partnership(Base):
    """A shop and a factory working together: asked by the shop, answered by the factory."""

    __tablename__ = "partnerships"
    __table_args__ = (Index("ix_partnerships_factory", "factory_id"),)

    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id"), primary_key=True)
    factory_id: Mapped[str] = mapped_column(ForeignKey("factories.id"), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))  # requested | active | declined | ended
    note: Mapped[str] = mapped_column(Text, default="")  # the shop's words to the factory
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Campaign(Base):
    """A product that does not exist yet, offered in a live room: buyers commit with a
    deposit, and at the deadline it becomes a production run at the factory, or fails."""

    __tablename__ = "campaigns"
    __table_args__ = (
        CheckConstraint("cap_units >= moq", name="cap_covers_moq"),
        CheckConstraint("deposit_unit_minor > 0", name="deposit_positive"),
        Index("ix_campaigns_shop", "shop_id", "status"),
        Index("ix_campaigns_due", "status", "deadline"),
        Index("ix_campaigns_session", "session_id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id"))
    factory_id: Mapped[str] = mapped_column(ForeignKey("factories.id"))
    opened_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    session_id: Mapped[str | None] = mapped_column(String(32), nullable=True)  # opened live
    title: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    category_slug: Mapped[str] = mapped_column(String(40))
    options: Mapped[dict[str, Any]] = mapped_column(JSON)  # {"colour": ["black", ...], ...}
    price_tiers: Mapped[list[Any]] = mapped_column(JSON)  # [[min_quantity, price_minor]]
    moq: Mapped[int] = mapped_column(Integer)
    cap_units: Mapped[int] = mapped_column(Integer)  # what the shop's deposit stands behind
    deposit_unit_minor: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    deadline: Mapped[datetime] = mapped_column(UTCDateTime)
    # open | confirmed | failed (below the MOQ) | defaulted (the shop or the factory backed
    # out after confirmation)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Once confirmed: the product listed for it, and its SKU of each variant.
    product_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    sku_ids: Mapped[dict[str, str] | None] = mapped_column(JSON, nullable=True)


class Commitment(Base):
    """A buyer's units of one variant of a campaign, held by the deposit it paid."""

    __tablename__ = "commitments"
    __table_args__ = (
        CheckConstraint("quantity >= 1", name="quantity_positive"),
        Index("ix_commitments_campaign", "campaign_id", "status"),
        Index("ix_commitments_buyer", "buyer_id", "created_at"),
        UniqueConstraint("payment_id", name="uq_commitments_payment"),
        UniqueConstraint("campaign_id", "buyer_id", "idempotency_key", name="uq_commitments_key"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id"))
    buyer_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    variant: Mapped[str] = mapped_column(String(120))
    quantity: Mapped[int] = mapped_column(Integer)
    deposit_minor: Mapped[int] = mapped_column(BigInteger)
    payment_id: Mapped[str] = mapped_column(String(32))
    idempotency_key: Mapped[str] = mapped_column(String(80))
    # pending (its deposit not paid yet) | held | withdrawn | released (never paid in
    # time) | refunded (the campaign failed, or the deposit came too late) | confirmed
    # (the campaign was: the balance is due) | applied (the balance order was paid, with
    # the deposit in it) | forfeited (the balance was not paid in time) | returned_double
    # (the shop or the factory defaulted)
    status: Mapped[str] = mapped_column(String(16))
    order_id: Mapped[str | None] = mapped_column(String(32), nullable=True)  # the balance
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ProductionRun(Base):
    """What a confirmed campaign asks its factory to make: the purchase order."""

    __tablename__ = "production_runs"
    __table_args__ = (
        Index("ix_production_runs_factory", "factory_id", "created_at"),
        UniqueConstraint("campaign_id", "number", name="uq_production_runs_number"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id"))
    # 1 for the run the campaign's commitments made; 2, 3, ... for the reruns its sales
    # asked for afterwards (`supply/reruns.py`).
    number: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    factory_id: Mapped[str] = mapped_column(ForeignKey("factories.id"))
    committed: Mapped[dict[str, int]] = mapped_column(JSON)  # units committed, by variant
    buffer: Mapped[dict[str, int]] = mapped_column(JSON)  # units beyond, by variant
    unit_cost_minor: Mapped[int] = mapped_column(Integer)  # the factory's tier reached
    unit_price_minor: Mapped[int] = mapped_column(Integer)  # the retail tier reached
    status: Mapped[str] = mapped_column(String(16))  # ordered, then the factory's steps
    steps: Mapped[dict[str, str]] = mapped_column(JSON)  # when each step was reached (ISO)
    # Once shipped: {"to": "seller" | "buyers", "carrier", "tracking_no", "parcels"}.
    shipment: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
