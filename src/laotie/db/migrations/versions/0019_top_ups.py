"""top_ups: a seller's payments to its shop's balance

Revision ID: 0019_top_ups
Revises: 0018_visit_audience_index
Create Date: 2026-12-07 10:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import laotie.db.base

revision: str = "0019_top_ups"
down_revision: str | None = "0018_visit_audience_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "top_ups",
        sa.Column("payment_id", sa.String(length=32), nullable=False),
        sa.Column("shop_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", laotie.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("credited_at", laotie.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_top_ups_payment_id_payments")
        ),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"], name=op.f("fk_top_ups_shop_id_shops")),
        sa.PrimaryKeyConstraint("payment_id", name=op.f("pk_top_ups")),
    )
    with op.batch_alter_table("top_ups", schema=None) as batch_op:
        batch_op.create_index("ix_top_ups_shop", ["shop_id", "created_at"], unique=False)


def downgrade() -> None:
    """Undo this revision."""
    with op.batch_alter_table("top_ups", schema=None) as batch_op:
        batch_op.drop_index("ix_top_ups_shop")
    op.drop_table("top_ups")
