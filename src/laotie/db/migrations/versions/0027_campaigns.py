"""supply: campaigns, the commitments to them, and the production runs they become

Revision ID: 0027_campaigns
Revises: 0026_payment_purposes
Create Date: 2026-12-07 17:33:31.358787
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import laotie.db.base

revision: str = "0027_campaigns"
down_revision: str | None = "0026_payment_purposes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "campaigns",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("shop_id", sa.String(length=32), nullable=False),
        sa.Column("factory_id", sa.String(length=32), nullable=False),
        sa.Column("opened_by", sa.String(length=32), nullable=False),
        sa.Column("session_id", sa.String(length=32), nullable=True),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("category_slug", sa.String(length=40), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("price_tiers", sa.JSON(), nullable=False),
        sa.Column("moq", sa.Integer(), nullable=False),
        sa.Column("cap_units", sa.Integer(), nullable=False),
        sa.Column("deposit_unit_minor", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("deadline", laotie.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", laotie.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", laotie.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("cap_units >= moq", name=op.f("ck_campaigns_cap_covers_moq")),
        sa.CheckConstraint("deposit_unit_minor > 0", name=op.f("ck_campaigns_deposit_positive")),
        sa.ForeignKeyConstraint(
            ["factory_id"], ["factories.id"], name=op.f("fk_campaigns_factory_id_factories")
        ),
        sa.ForeignKeyConstraint(
            ["opened_by"], ["users.id"], name=op.f("fk_campaigns_opened_by_users")
        ),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"], name=op.f("fk_campaigns_shop_id_shops")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
    )
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.create_index("ix_campaigns_due", ["status", "deadline"], unique=False)
        batch_op.create_index("ix_campaigns_session", ["session_id"], unique=False)
        batch_op.create_index("ix_campaigns_shop", ["shop_id", "status"], unique=False)

    op.create_table(
        "commitments",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("campaign_id", sa.String(length=32), nullable=False),
        sa.Column("buyer_id", sa.String(length=32), nullable=False),
        sa.Column("variant", sa.String(length=120), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("deposit_minor", sa.BigInteger(), nullable=False),
        sa.Column("payment_id", sa.String(length=32), nullable=False),
        sa.Column("idempotency_key", sa.String(length=80), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", laotie.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("paid_at", laotie.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ended_at", laotie.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("quantity >= 1", name=op.f("ck_commitments_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["buyer_id"], ["users.id"], name=op.f("fk_commitments_buyer_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name=op.f("fk_commitments_campaign_id_campaigns")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commitments")),
        sa.UniqueConstraint(
            "campaign_id", "buyer_id", "idempotency_key", name="uq_commitments_key"
        ),
        sa.UniqueConstraint("payment_id", name="uq_commitments_payment"),
    )
    with op.batch_alter_table("commitments", schema=None) as batch_op:
        batch_op.create_index("ix_commitments_buyer", ["buyer_id", "created_at"], unique=False)
        batch_op.create_index("ix_commitments_campaign", ["campaign_id", "status"], unique=False)

    op.create_table(
        "production_runs",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("campaign_id", sa.String(length=32), nullable=False),
        sa.Column("factory_id", sa.String(length=32), nullable=False),
        sa.Column("committed", sa.JSON(), nullable=False),
        sa.Column("buffer", sa.JSON(), nullable=False),
        sa.Column("unit_cost_minor", sa.Integer(), nullable=False),
        sa.Column("unit_price_minor", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("steps", sa.JSON(), nullable=False),
        sa.Column("created_at", laotie.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name=op.f("fk_production_runs_campaign_id_campaigns")
        ),
        sa.ForeignKeyConstraint(
            ["factory_id"], ["factories.id"], name=op.f("fk_production_runs_factory_id_factories")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_production_runs")),
        sa.UniqueConstraint("campaign_id", name=op.f("uq_production_runs_campaign_id")),
    )
    with op.batch_alter_table("production_runs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_production_runs_factory", ["factory_id", "created_at"], unique=False
        )


def downgrade() -> None:
    """Undo this revision."""
    with op.batch_alter_table("production_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_production_runs_factory")

    op.drop_table("production_runs")
    with op.batch_alter_table("commitments", schema=None) as batch_op:
        batch_op.drop_index("ix_commitments_campaign")
        batch_op.drop_index("ix_commitments_buyer")

    op.drop_table("commitments")
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_index("ix_campaigns_shop")
        batch_op.drop_index("ix_campaigns_session")
        batch_op.drop_index("ix_campaigns_due")

    op.drop_table("campaigns")
