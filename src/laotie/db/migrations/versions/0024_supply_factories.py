"""supply: factories and their partnerships with shops

Revision ID: 0024_supply_factories
Revises: 0023_month_rollups
Create Date: 2026-12-07 17:19:58.113949
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import laotie.db.base

revision: str = "0024_supply_factories"
down_revision: str | None = "0023_month_rollups"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "factories",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("owner_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("city", sa.String(length=60), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("moq", sa.Integer(), nullable=False),
        sa.Column("lead_time_days", sa.Integer(), nullable=False),
        sa.Column("weekly_capacity", sa.Integer(), nullable=False),
        sa.Column("price_tiers", sa.JSON(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("created_at", laotie.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("lead_time_days >= 1", name=op.f("ck_factories_lead_time_positive")),
        sa.CheckConstraint("moq >= 1", name=op.f("ck_factories_moq_positive")),
        sa.CheckConstraint("weekly_capacity >= 1", name=op.f("ck_factories_capacity_positive")),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_factories_owner_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_factories")),
        sa.UniqueConstraint("name", name=op.f("uq_factories_name")),
    )
    with op.batch_alter_table("factories", schema=None) as batch_op:
        batch_op.create_index("ix_factories_owner", ["owner_id"], unique=False)

    op.create_table(
        "partnerships",
        sa.Column("shop_id", sa.String(length=32), nullable=False),
        sa.Column("factory_id", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("requested_at", laotie.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("answered_at", laotie.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["factory_id"], ["factories.id"], name=op.f("fk_partnerships_factory_id_factories")
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_partnerships_shop_id_shops")
        ),
        sa.PrimaryKeyConstraint("shop_id", "factory_id", name=op.f("pk_partnerships")),
    )
    with op.batch_alter_table("partnerships", schema=None) as batch_op:
        batch_op.create_index("ix_partnerships_factory", ["factory_id"], unique=False)


def downgrade() -> None:
    """Undo this revision."""
    with op.batch_alter_table("partnerships", schema=None) as batch_op:
        batch_op.drop_index("ix_partnerships_factory")

    op.drop_table("partnerships")
    with op.batch_alter_table("factories", schema=None) as batch_op:
        batch_op.drop_index("ix_factories_owner")

    op.drop_table("factories")
