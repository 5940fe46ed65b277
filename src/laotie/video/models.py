"""Tables of live video: the anchors' stream keys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from laotie.db.base import Base, UTCDateTime


class StreamKey(Base):
    """An anchor's key to publish video: one an anchor, kept only as its hash.

    The key is shown once, when made; rotating makes a new one and the old one stops
    working, revoking stops it without a new one.
    """

    __tablename__ = "stream_keys"

    anchor_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The key's first characters, to tell keys apart on the console without the key.
    hint: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
