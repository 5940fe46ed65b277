"""rules: reports, violations with penalty points, appeals, audit; shop suspension

Revision ID: 0007_rules
Revises: 0006_trust
Create Date: 2026-12-06 20:43:59.941304
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import laotie.db.base

revision: str = "0007_rules"
down_revision: str | None = "0006_trust"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "trust_audit",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("at", laotie.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.String(length=32), nullable=True),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("shop_id", sa.String(length=32), nullable=False),
        sa.Column("subject_id", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_trust_audit_shop_id_shops")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trust_audit")),
    )
    with op.batch_alter_table("trust_audit", schema=None) as batch_op:
        batch_op.create_index("ix_trust_audit_shop_id", ["shop_id", "id"], unique=False)

    op.create_table(
        "trust_reports",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("reporter_id", sa.String(length=32), nullable=False),
        sa.Column("shop_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("order_id", sa.String(length=32), nullable=True),
        sa.Column("session_id", sa.String(length=32), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", laotie.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", laotie.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=32), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["reporter_id"], ["users.id"], name=op.f("fk_trust_reports_reporter_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_trust_reports_shop_id_shops")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trust_reports")),
    )
    with op.batch_alter_table("trust_reports", schema=None) as batch_op:
        batch_op.create_index(
            "ix_trust_reports_status_created", ["status", "created_at"], unique=False
        )

    op.create_table(
        "trust_violations",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("shop_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("dedupe_key", sa.String(length=96), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("created_at", laotie.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", laotie.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=32), nullable=True),
        sa.Column("overturned_at", laotie.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("points >= 0", name=op.f("ck_trust_violations_points_not_negative")),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_trust_violations_shop_id_shops")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trust_violations")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_trust_violations_dedupe_key")),
    )
    with op.batch_alter_table("trust_violations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_trust_violations_shop_expires", ["shop_id", "expires_at"], unique=False
        )

    op.create_table(
        "trust_appeals",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("violation_id", sa.String(length=32), nullable=False),
        sa.Column("shop_id", sa.String(length=32), nullable=False),
        sa.Column("seller_id", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", laotie.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", laotie.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=32), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["seller_id"], ["users.id"], name=op.f("fk_trust_appeals_seller_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_trust_appeals_shop_id_shops")
        ),
        sa.ForeignKeyConstraint(
            ["violation_id"],
            ["trust_violations.id"],
            name=op.f("fk_trust_appeals_violation_id_trust_violations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trust_appeals")),
        sa.UniqueConstraint("violation_id", name=op.f("uq_trust_appeals_violation_id")),
    )
    with op.batch_alter_table("trust_appeals", schema=None) as batch_op:
        batch_op.create_index(
            "ix_trust_appeals_status_created", ["status", "created_at"], unique=False
        )

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index("ix_orders_ship_by", ["ship_by"], unique=False)

    with op.batch_alter_table("shops", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("suspended_until", laotie.db.base.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    """Undo this revision."""
    with op.batch_alter_table("shops", schema=None) as batch_op:
        batch_op.drop_column("suspended_until")

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_ship_by")

    with op.batch_alter_table("trust_appeals", schema=None) as batch_op:
        batch_op.drop_index("ix_trust_appeals_status_created")

    op.drop_table("trust_appeals")
    with op.batch_alter_table("trust_violations", schema=None) as batch_op:
        batch_op.drop_index("ix_trust_violations_shop_expires")

    op.drop_table("trust_violations")
    with op.batch_alter_table("trust_reports", schema=None) as batch_op:
        batch_op.drop_index("ix_trust_reports_status_created")

    op.drop_table("trust_reports")
    with op.batch_alter_table("trust_audit", schema=None) as batch_op:
        batch_op.drop_index("ix_trust_audit_shop_id")

    op.drop_table("trust_audit")
