"""brushing: flags for operators, the orders they hold, the days detection ran

Revision ID: 0012_brushing
Revises: 0011_fingerprints
Create Date: 2026-12-06 20:59:57.646978
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import laotie.db.base

revision: str = "0012_brushing"
down_revision: str | None = "0011_fingerprints"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "brushing_runs",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("at", laotie.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_brushing_runs")),
    )
    op.create_table(
        "brushing_flags",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("shop_id", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("signals", sa.JSON(), nullable=False),
        sa.Column("buyer_ids", sa.JSON(), nullable=False),
        sa.Column("created_at", laotie.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", laotie.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", laotie.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=32), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_brushing_flags_shop_id_shops")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_brushing_flags")),
    )
    with op.batch_alter_table("brushing_flags", schema=None) as batch_op:
        batch_op.create_index("ix_brushing_flags_shop_status", ["shop_id", "status"], unique=False)
        batch_op.create_index(
            "ix_brushing_flags_status_created", ["status", "created_at"], unique=False
        )

    op.create_table(
        "flagged_orders",
        sa.Column("order_id", sa.String(length=32), nullable=False),
        sa.Column("flag_id", sa.String(length=32), nullable=False),
        sa.Column("shop_id", sa.String(length=32), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["flag_id"],
            ["brushing_flags.id"],
            name=op.f("fk_flagged_orders_flag_id_brushing_flags"),
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_flagged_orders_shop_id_shops")
        ),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_flagged_orders")),
    )
    with op.batch_alter_table("flagged_orders", schema=None) as batch_op:
        batch_op.create_index("ix_flagged_orders_flag", ["flag_id"], unique=False)
        batch_op.create_index("ix_flagged_orders_shop", ["shop_id"], unique=False)


def downgrade() -> None:
    """Undo this revision."""
    with op.batch_alter_table("flagged_orders", schema=None) as batch_op:
        batch_op.drop_index("ix_flagged_orders_shop")
        batch_op.drop_index("ix_flagged_orders_flag")

    op.drop_table("flagged_orders")
    with op.batch_alter_table("brushing_flags", schema=None) as batch_op:
        batch_op.drop_index("ix_brushing_flags_status_created")
        batch_op.drop_index("ix_brushing_flags_shop_status")

    op.drop_table("brushing_flags")
    op.drop_table("brushing_runs")
