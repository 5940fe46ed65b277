"""Traffic's tables: follows, fan groups and fan prices, RSVPs to coming shows, mutes,
the inbox and its fan-outs, the recommendation feed's impressions, bought reach."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from laotie.db.base import Base, UTCDateTime


class Follow(Base):
    """A user following an anchor or a shop: the private domain's first tie."""

    __tablename__ = "follows"
    # With the user last, an anchor's followers are read in user order (the fan-out's keyset).
    __table_args__ = (Index("ix_follows_target_user", "target_kind", "target_id", "user_id"),)

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


class Rsvp(Base):
    """A user asking to be told when a scheduled session goes live."""

    __tablename__ = "rsvps"

    # The session first: its RSVPs are read in user order, like the followers.
    session_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class NotificationMute(Base):
    """A user who wants no notifications from an anchor."""

    __tablename__ = "notification_mutes"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    anchor_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class InboxEntry(Base):
    """One notification of a user: a session went live. One a user and session, at most."""

    __tablename__ = "inbox"
    __table_args__ = (Index("ix_inbox_user_created", "user_id", "created_at"),)

    # The key is what makes a retried batch insert nothing twice.
    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    session_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    anchor_id: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(String(24))  # live_notification | fan_group | preview_rsvp
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class NotificationFanout(Base):
    """The go-live fan-out of one session: how far it got, so a crash resumes there."""

    __tablename__ = "notification_fanouts"
    __table_args__ = (Index("ix_notification_fanouts_state", "state", "claimed_until"),)

    session_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    anchor_id: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(8))  # running | done
    # The last recipient done, in user id order ("" before the first batch).
    cursor: Mapped[str] = mapped_column(String(32))
    written: Mapped[int] = mapped_column(Integer)  # inbox rows this fan-out wrote
    # A runner holds the fan-out until then; past it, the sweep hands it to another.
    claimed_until: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class FeedImpression(Base):
    """A room shown in someone's recommendation feed: the log the feed learns from."""

    __tablename__ = "feed_impressions"
    __table_args__ = (Index("ix_feed_impressions_session", "session_id", "shown_at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    viewer_key: Mapped[str] = mapped_column(String(40))
    session_id: Mapped[str] = mapped_column(String(32))
    position: Mapped[int] = mapped_column(Integer)
    promoted: Mapped[bool] = mapped_column(Boolean, default=False)
    shown_at: Mapped[datetime] = mapped_column(UTCDateTime)


class FeedRoomCount(Base):
    """How often the feed has shown a session: what its entries are divided by.

    Kept beside the log so that ranking reads one row a room, never the log itself.
    """

    __tablename__ = "feed_room_counts"

    session_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    impressions: Mapped[int] = mapped_column(BigInteger, default=0)
    promoted: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Promotion(Base):
    """Bought reach for one live session: a budget spent per 1,000 promoted impressions or
    per entry, paced over the show (docs/traffic.md, "Bought reach")."""

    __tablename__ = "promotions"
    __table_args__ = (
        CheckConstraint("price_minor > 0", name="price_positive"),
        CheckConstraint("budget_minor >= price_minor", name="budget_covers_a_unit"),
        CheckConstraint("spent_minor >= 0 AND spent_minor <= budget_minor", name="spent_in_budget"),
        # One running campaign a session, held by the database as one live show an anchor.
        Index(
            "uq_promotions_one_active_per_session",
            "session_id",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
        Index("ix_promotions_shop", "shop_id", "created_at"),
        Index("ix_promotions_status", "status"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id"))
    session_id: Mapped[str] = mapped_column(ForeignKey("live_sessions.id"))
    pricing: Mapped[str] = mapped_column(String(8))  # cpm | cpe
    price_minor: Mapped[int] = mapped_column(BigInteger)  # per 1,000 impressions, or an entry
    budget_minor: Mapped[int] = mapped_column(BigInteger)
    spent_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    returned_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    currency: Mapped[str] = mapped_column(String(3))
    # The show's planned length, over which the budget is paced.
    pace_minutes: Mapped[int] = mapped_column(Integer)
    # The session's promoted impressions (`feed_room_counts.promoted`) when bought: this
    # campaign's are those counted since.
    impressions_base: Mapped[int] = mapped_column(BigInteger)
    impressions: Mapped[int] = mapped_column(BigInteger, default=0)
    # Entries from promoted impressions, counted up to `entries_until`.
    entries: Mapped[int] = mapped_column(BigInteger, default=0)
    entries_until: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(8))  # active | ended | refused
    # session_ended | budget_spent | barred (the shop's points came to bar public traffic)
    end_reason: Mapped[str | None] = mapped_column(String(16), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
