"""Traffic's tables: who follows which anchor or shop, fan groups, fan prices."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from laotie.db.base import Base, UTCDateTime


class Follow(Base):
    """A user following an anchor or a shop: the private domain's first tie."""

    __tablename__ = "follows"
    __table_args__ = (Index("ix_follows_target", "target_kind", "target_id"),)

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    target_kind: Mapped[str] = mapped_column(String(8), primary_key=True)  # anchor | shop
    target_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class FanMember(Base):
    """A fan in an anchor's fan group, with the level its intimacy last scored."""

    __tablename__ = "fan_members"
    __table_args__ = (Index("ix_fan_members_user", "user_id"),)

    anchor_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Kept by the daily scoring (docs/traffic.md, "Fan levels"): chat badges read them.
    intimacy: Mapped[float] = mapped_column(Float, default=0.0)
    level: Mapped[int] = mapped_column(Integer, default=1)
    scored_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class FanPrice(Base):
    """A SKU's price for the anchor's fans within one live session (never a flash sale's)."""

    __tablename__ = "fan_prices"
    __table_args__ = (CheckConstraint("price_minor > 0", name="fan_price_positive"),)

    session_id: Mapped[str] = mapped_column(ForeignKey("live_sessions.id"), primary_key=True)
    sku_id: Mapped[str] = mapped_column(ForeignKey("skus.id"), primary_key=True)
    price_minor: Mapped[int] = mapped_column(BigInteger)
    min_level: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
