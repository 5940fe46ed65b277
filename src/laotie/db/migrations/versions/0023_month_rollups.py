"""analytics month rollups: month_counts and repurchase_months

Revision ID: 0023_month_rollups
Revises: 0022_orders_shop_paid
Create Date: 2026-12-07 18:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023_month_rollups"
down_revision: str | None = "0022_orders_shop_paid"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "month_counts",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("scope_id", sa.String(length=32), nullable=False),
        sa.Column("part", sa.String(length=32), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("uv", sa.Integer(), nullable=False),
        sa.Column("watch_seconds", sa.BigInteger(), nullable=False),
        sa.Column("buyers", sa.Integer(), nullable=False),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.Column("gmv_minor", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("month", "scope", "scope_id", "part", name=op.f("pk_month_counts")),
    )
    op.create_table(
        "repurchase_months",
        sa.Column("shop_id", sa.String(length=32), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("buyers", sa.Integer(), nullable=False),
        sa.Column("repeat_buyers", sa.Integer(), nullable=False),
        sa.Column("repeat_orders", sa.Integer(), nullable=False),
        sa.Column("private_repeat_orders", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("shop_id", "currency", "month", name=op.f("pk_repurchase_months")),
    )


def downgrade() -> None:
    """Undo this revision."""
    op.drop_table("repurchase_months")
    op.drop_table("month_counts")
