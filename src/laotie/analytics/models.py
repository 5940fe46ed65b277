"""Analytics' tables: the rollups that dashboards read, and how far each is filled.

Both rollups keep rows, not sums, wherever a distinct count is made from them, so that any
range of days gives exact distinct counts (DESIGN.md), not sums of daily ones:

- `viewer_days`: a viewer's visits to one session on the day they entered it (its first
  visit's moment, id and domain, and the seconds watched);
- `sale_facts`: each paid order with the visit it came from, as the GMV identity reads it.

A report of a calendar month reads the month rollups instead, counted from those rows once
the month is final (`analytics/months.py`): `month_counts`, a scope's identity of the
month, and `repurchase_months`, a shop's repurchase in it.

A day is filled once it is final (its visits ended: two days after it), by deleting its
rows and writing them again, so a refill is harmless; `rollup_fills` says how far.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Date, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from laotie.db.base import Base, UTCDateTime


class ViewerDay(Base):
    """One viewer's visits to one live session that began on one UTC day."""

    __tablename__ = "viewer_days"
    __table_args__ = (
        Index("ix_viewer_days_shop", "shop_id", "day"),
        Index("ix_viewer_days_anchor", "anchor_id", "day"),
        Index("ix_viewer_days_session", "session_id", "day"),
    )

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    session_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    viewer_key: Mapped[str] = mapped_column(String(40), primary_key=True)
    shop_id: Mapped[str] = mapped_column(String(32))
    anchor_id: Mapped[str] = mapped_column(String(32))
    first_at: Mapped[datetime] = mapped_column(UTCDateTime)
    first_visit_id: Mapped[str] = mapped_column(String(32))
    private: Mapped[bool] = mapped_column(Boolean)  # the first visit's domain
    watch_seconds: Mapped[int] = mapped_column(BigInteger)


class SaleFact(Base):
    """A paid order on the day it was paid, with the visit it came from as it was filled."""

    __tablename__ = "sale_facts"
    __table_args__ = (
        Index("ix_sale_facts_day", "day"),
        Index("ix_sale_facts_shop", "shop_id", "day"),
        Index("ix_sale_facts_session", "session_id", "day"),
        Index("ix_sale_facts_anchor", "anchor_id", "day"),
    )

    order_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    buyer_id: Mapped[str] = mapped_column(String(32))
    shop_id: Mapped[str] = mapped_column(String(32))
    session_id: Mapped[str | None] = mapped_column(String(32), nullable=True)  # None: shelf
    anchor_id: Mapped[str | None] = mapped_column(String(32), nullable=True)  # the session's
    total_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    city_tier: Mapped[str | None] = mapped_column(String(16), nullable=True)
    paid_at: Mapped[datetime] = mapped_column(UTCDateTime)
    visit_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    visit_viewer_key: Mapped[str | None] = mapped_column(String(40), nullable=True)
    visit_entered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    visit_private: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    visit_watch_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)


class RollupFill(Base):
    """How far one rollup is filled: every day up to `filled_through` is final in it."""

    __tablename__ = "rollup_fills"

    rollup: Mapped[str] = mapped_column(String(32), primary_key=True)
    filled_through: Mapped[date] = mapped_column(Date)
    refreshed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MonthCount(Base):
    """A scope's calendar month counted into the identity: one row a part (a domain, the
    live channel, the shelf, a city tier, or the orders left out in other currencies)."""

    __tablename__ = "month_counts"

    month: Mapped[date] = mapped_column(Date, primary_key=True)  # its first day
    scope: Mapped[str] = mapped_column(String(16), primary_key=True)  # shop, anchor, platform
    scope_id: Mapped[str] = mapped_column(String(32), primary_key=True)  # "" for the platform
    part: Mapped[str] = mapped_column(String(32), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3))  # the scope's, when it was counted
    uv: Mapped[int] = mapped_column(Integer)
    watch_seconds: Mapped[int] = mapped_column(BigInteger)
    buyers: Mapped[int] = mapped_column(Integer)
    orders: Mapped[int] = mapped_column(Integer)
    gmv_minor: Mapped[int] = mapped_column(BigInteger)


class RepurchaseMonth(Base):
    """A shop's repurchase in a calendar month, of its orders in one currency."""

    __tablename__ = "repurchase_months"

    shop_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)  # its first day
    buyers: Mapped[int] = mapped_column(Integer)
    repeat_buyers: Mapped[int] = mapped_column(Integer)
    repeat_orders: Mapped[int] = mapped_column(Integer)
    private_repeat_orders: Mapped[int] = mapped_column(Integer)
