"""promotions: bought reach for live sessions

Revision ID: 0017_promotions
Revises: 0016_feed
Create Date: 2026-12-07 07:12:47.844946
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import laotie.db.base

revision: str = "0017_promotions"
down_revision: str | None = "0016_feed"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "promotions",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("shop_id", sa.String(length=32), nullable=False),
        sa.Column("session_id", sa.String(length=32), nullable=False),
        sa.Column("pricing", sa.String(length=8), nullable=False),
        sa.Column("price_minor", sa.BigInteger(), nullable=False),
        sa.Column("budget_minor", sa.BigInteger(), nullable=False),
        sa.Column("spent_minor", sa.BigInteger(), nullable=False),
        sa.Column("returned_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("pace_minutes", sa.Integer(), nullable=False),
        sa.Column("impressions_base", sa.BigInteger(), nullable=False),
        sa.Column("impressions", sa.BigInteger(), nullable=False),
        sa.Column("entries", sa.BigInteger(), nullable=False),
        sa.Column("entries_until", laotie.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("end_reason", sa.String(length=16), nullable=True),
        sa.Column("created_at", laotie.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", laotie.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "budget_minor >= price_minor", name=op.f("ck_promotions_budget_covers_a_unit")
        ),
        sa.CheckConstraint("price_minor > 0", name=op.f("ck_promotions_price_positive")),
        sa.CheckConstraint(
            "spent_minor >= 0 AND spent_minor <= budget_minor",
            name=op.f("ck_promotions_spent_in_budget"),
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["live_sessions.id"],
            name=op.f("fk_promotions_session_id_live_sessions"),
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_promotions_shop_id_shops")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promotions")),
    )
    with op.batch_alter_table("promotions", schema=None) as batch_op:
        batch_op.create_index("ix_promotions_shop", ["shop_id", "created_at"], unique=False)
        batch_op.create_index("ix_promotions_status", ["status"], unique=False)
        batch_op.create_index(
            "uq_promotions_one_active_per_session",
            ["session_id"],
            unique=True,
            sqlite_where=sa.text("status = 'active'"),
            postgresql_where=sa.text("status = 'active'"),
        )


def downgrade() -> None:
    """Undo this revision."""
    with op.batch_alter_table("promotions", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_promotions_one_active_per_session",
            sqlite_where=sa.text("status = 'active'"),
            postgresql_where=sa.text("status = 'active'"),
        )
        batch_op.drop_index("ix_promotions_status")
        batch_op.drop_index("ix_promotions_shop")

    op.drop_table("promotions")
