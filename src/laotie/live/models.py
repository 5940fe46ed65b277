"""Tables of the live feature: sessions, their cart, flash sales, visits, chat, moderation."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from laotie.db.base import Base, UTCDateTime


class LiveSession(Base):
    """An anchor's show for one shop: scheduled, then live, then ended."""

    __tablename__ = "live_sessions"
    __table_args__ = (
        # One live session per anchor at a time, enforced by the database itself.
        Index(
            "uq_live_sessions_one_live_per_anchor",
            "anchor_id",
            unique=True,
            sqlite_where=text("status = 'live'"),
            postgresql_where=text("status = 'live'"),
        ),
        Index("ix_live_sessions_status", "status", "scheduled_at"),
        Index("ix_live_sessions_shop", "shop_id"),
        Index("ix_live_sessions_anchor_started", "anchor_id", "started_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    anchor_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    # The anchor's own shop, whose products its cart sells beside the pool's; none for an
    # anchor without a shop, whose cart holds pool products only.
    shop_id: Mapped[str | None] = mapped_column(ForeignKey("shops.id"), nullable=True)
    title: Mapped[str] = mapped_column(String(120))
    cover_url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    status: Mapped[str] = mapped_column(String(16))  # scheduled | live | ended
    scheduled_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    pinned_product_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    likes: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LiveCartItem(Base):
    """A product in a session's cart (小黄车), in the anchor's order; planned ones too."""

    __tablename__ = "live_cart_items"

    session_id: Mapped[str] = mapped_column(ForeignKey("live_sessions.id"), primary_key=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)


class LivePin(Base):
    """A pin or an unpin in a session, kept for its review: the pin itself is on the session."""

    __tablename__ = "live_pins"
    __table_args__ = (Index("ix_live_pins_session", "session_id", "pinned_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("live_sessions.id"))
    product_id: Mapped[str | None] = mapped_column(String(32), nullable=True)  # None: unpinned
    pinned_at: Mapped[datetime] = mapped_column(UTCDateTime)


class FlashSale(Base):
    """A limited number of a SKU's units at a flash price for a limited time, in one session."""

    __tablename__ = "flash_sales"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("price_minor > 0", name="price_positive"),
        CheckConstraint("price_minor < was_price_minor", name="below_was_price"),
        Index("ix_flash_sales_session", "session_id", "status"),
        Index("ix_flash_sales_status_ends", "status", "ends_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("live_sessions.id"))
    sku_id: Mapped[str] = mapped_column(ForeignKey("skus.id"))
    product_id: Mapped[str] = mapped_column(String(32))
    price_minor: Mapped[int] = mapped_column(BigInteger)
    was_price_minor: Mapped[int] = mapped_column(BigInteger)
    quantity: Mapped[int] = mapped_column(Integer)
    per_buyer_limit: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))  # running | ended
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    returned_units: Mapped[int] = mapped_column(Integer, default=0)
    # A pool product's commission in force when the sale started, which its orders carry.
    commission_bps: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Visit(Base):
    """One entry of a viewer into a room, with where it came from and how long it watched."""

    __tablename__ = "visits"
    __table_args__ = (
        CheckConstraint("watch_seconds >= 0", name="watch_not_negative"),
        Index("ix_visits_session", "session_id", "entered_at"),
        Index("ix_visits_viewer", "viewer_key", "entered_at"),
        # Covers the recommendation feed's read of every live room's audience (its visits,
        # watch time and feed entries), which would otherwise visit each visit's row.
        Index("ix_visits_session_audience", "session_id", "source", "watch_seconds"),
        # The rollups' read of a day's visits, of every session.
        Index("ix_visits_entered", "entered_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("live_sessions.id"))
    # A signed-in user's id, or an anonymous visitor's signed id: "usr_..." or "vis_...".
    viewer_key: Mapped[str] = mapped_column(String(40))
    user_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    source: Mapped[str] = mapped_column(String(24))
    # Whether the viewer followed the anchor at entry (then the visit is private domain).
    follows_anchor: Mapped[bool] = mapped_column(Boolean, default=False)
    private: Mapped[bool] = mapped_column(Boolean)
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    watch_seconds: Mapped[int] = mapped_column(Integer, default=0)


class ChatMessage(Base):
    """A chat line in a room; deleted ones stay for the session's review."""

    __tablename__ = "chat_messages"
    __table_args__ = (Index("ix_chat_messages_session", "session_id", "id"),)

    # Made before the line is saved (lines are saved in batches); ids sort in time order.
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("live_sessions.id"))
    user_id: Mapped[str] = mapped_column(String(32))
    author: Mapped[str] = mapped_column(String(80))
    text: Mapped[str] = mapped_column(Text)
    # The speaker's level in the anchor's fan group when it spoke (its badge), or none.
    fan_level: Mapped[int | None] = mapped_column(Integer, nullable=True)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RoomPenalty(Base):
    """An anchor's moderation: a mute in one session, or a ban from the anchor's rooms."""

    __tablename__ = "room_penalties"
    __table_args__ = (Index("ix_room_penalties_anchor_user", "anchor_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    anchor_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    user_id: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(8))  # mute | ban
    session_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RoomMinute(Base):
    """Per-minute counters of a session, saved in batches for its review."""

    __tablename__ = "room_minutes"

    session_id: Mapped[str] = mapped_column(ForeignKey("live_sessions.id"), primary_key=True)
    minute: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    viewers: Mapped[int] = mapped_column(BigInteger, default=0)
    entries: Mapped[int] = mapped_column(BigInteger, default=0)
    chats: Mapped[int] = mapped_column(BigInteger, default=0)
    likes: Mapped[int] = mapped_column(BigInteger, default=0)
    orders: Mapped[int] = mapped_column(BigInteger, default=0)
    gmv_minor: Mapped[int] = mapped_column(BigInteger, default=0)
