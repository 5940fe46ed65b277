"""loyalty: each shop repurchase rank in its main category, day by day

Revision ID: 0008_loyalty
Revises: 0007_rules
Create Date: 2026-12-06 20:49:17.050747
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import laotie.db.base

revision: str = "0008_loyalty"
down_revision: str | None = "0007_rules"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "loyalty_ranks",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("shop_id", sa.String(length=32), nullable=False),
        sa.Column("category_slug", sa.String(length=40), nullable=False),
        sa.Column("buyers", sa.Integer(), nullable=False),
        sa.Column("repeat_buyers", sa.Integer(), nullable=False),
        sa.Column("rate", sa.Float(), nullable=False),
        sa.Column("peers", sa.Integer(), nullable=False),
        sa.Column("percentile", sa.Float(), nullable=True),
        sa.Column("computed_at", laotie.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_loyalty_ranks_shop_id_shops")
        ),
        sa.PrimaryKeyConstraint("day", "shop_id", name=op.f("pk_loyalty_ranks")),
    )


def downgrade() -> None:
    """Undo this revision."""
    op.drop_table("loyalty_ranks")
