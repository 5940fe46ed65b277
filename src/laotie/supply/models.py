"""Tables of the supply feature: factories and their partnerships with shops."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text
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
