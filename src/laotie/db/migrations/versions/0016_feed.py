"""feed: the recommendation feed's impressions and their counts per room

Revision ID: 0016_feed
Revises: 0015_notifications
Create Date: 2026-12-07 07:02:58.625196
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import laotie.db.base

revision: str = "0016_feed"
down_revision: str | None = "0015_notifications"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "feed_impressions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("viewer_key", sa.String(length=40), nullable=False),
        sa.Column("session_id", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("promoted", sa.Boolean(), nullable=False),
        sa.Column("shown_at", laotie.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feed_impressions")),
    )
    with op.batch_alter_table("feed_impressions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_feed_impressions_session", ["session_id", "shown_at"], unique=False
        )

    op.create_table(
        "feed_room_counts",
        sa.Column("session_id", sa.String(length=32), nullable=False),
        sa.Column("impressions", sa.BigInteger(), nullable=False),
        sa.Column("promoted", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", laotie.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("session_id", name=op.f("pk_feed_room_counts")),
    )


def downgrade() -> None:
    """Undo this revision."""
    op.drop_table("feed_room_counts")
    with op.batch_alter_table("feed_impressions", schema=None) as batch_op:
        batch_op.drop_index("ix_feed_impressions_session")

    op.drop_table("feed_impressions")
