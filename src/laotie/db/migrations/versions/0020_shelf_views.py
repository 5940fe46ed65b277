"""shelf_views: each viewer's presence on a shop's pages, one row per UTC day

Revision ID: 0020_shelf_views
Revises: 0019_top_ups
Create Date: 2026-12-07 12:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import laotie.db.base

revision: str = "0020_shelf_views"
down_revision: str | None = "0019_top_ups"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "shelf_views",
        sa.Column("shop_id", sa.String(length=32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("viewer_key", sa.String(length=40), nullable=False),
        sa.Column("first_seen_at", laotie.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("first_product_id", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_shelf_views_shop_id_shops")
        ),
        sa.PrimaryKeyConstraint("shop_id", "day", "viewer_key", name=op.f("pk_shelf_views")),
    )
    with op.batch_alter_table("shelf_views", schema=None) as batch_op:
        batch_op.create_index("ix_shelf_views_day", ["day"], unique=False)


def downgrade() -> None:
    """Undo this revision."""
    with op.batch_alter_table("shelf_views", schema=None) as batch_op:
        batch_op.drop_index("ix_shelf_views_day")
    op.drop_table("shelf_views")
