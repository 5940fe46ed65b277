"""trust: reviews of delivered order lines, and each shop's score day by day

Revision ID: 0006_trust
Revises: 0005_ledger_legs
Create Date: 2026-12-03 18:43:30.536383
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import laotie.db.base

revision: str = "0006_trust"
down_revision: str | None = "0005_ledger_legs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "reviews",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("order_line_id", sa.String(length=32), nullable=False),
        sa.Column("order_id", sa.String(length=32), nullable=False),
        sa.Column("buyer_id", sa.String(length=32), nullable=False),
        sa.Column("shop_id", sa.String(length=32), nullable=False),
        sa.Column("product_id", sa.String(length=32), nullable=False),
        sa.Column("sku_id", sa.String(length=32), nullable=False),
        sa.Column("order_value_minor", sa.BigInteger(), nullable=False),
        sa.Column("product_stars", sa.SmallInteger(), nullable=False),
        sa.Column("logistics_stars", sa.SmallInteger(), nullable=False),
        sa.Column("service_stars", sa.SmallInteger(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("images", sa.JSON(), nullable=False),
        sa.Column("delivered_at", laotie.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", laotie.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("follow_up_text", sa.Text(), nullable=True),
        sa.Column("follow_up_images", sa.JSON(), nullable=True),
        sa.Column("follow_up_at", laotie.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reply_text", sa.Text(), nullable=True),
        sa.Column("replied_at", laotie.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "logistics_stars BETWEEN 1 AND 5", name=op.f("ck_reviews_logistics_stars_range")
        ),
        sa.CheckConstraint(
            "product_stars BETWEEN 1 AND 5", name=op.f("ck_reviews_product_stars_range")
        ),
        sa.CheckConstraint(
            "service_stars BETWEEN 1 AND 5", name=op.f("ck_reviews_service_stars_range")
        ),
        sa.ForeignKeyConstraint(["buyer_id"], ["users.id"], name=op.f("fk_reviews_buyer_id_users")),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_reviews_order_id_orders")
        ),
        sa.ForeignKeyConstraint(
            ["order_line_id"], ["order_lines.id"], name=op.f("fk_reviews_order_line_id_order_lines")
        ),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"], name=op.f("fk_reviews_shop_id_shops")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reviews")),
        sa.UniqueConstraint("order_line_id", name=op.f("uq_reviews_order_line_id")),
    )
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.create_index("ix_reviews_order", ["order_id"], unique=False)
        batch_op.create_index(
            "ix_reviews_product_created", ["product_id", "created_at"], unique=False
        )
        batch_op.create_index("ix_reviews_shop_created", ["shop_id", "created_at"], unique=False)

    op.create_table(
        "shop_scores",
        sa.Column("shop_id", sa.String(length=32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("tier", sa.String(length=16), nullable=False),
        sa.Column("new", sa.Boolean(), nullable=False),
        sa.Column("buyers", sa.Integer(), nullable=False),
        sa.Column("dimensions", sa.JSON(), nullable=False),
        sa.Column("formula_version", sa.String(length=24), nullable=False),
        sa.Column("computed_at", laotie.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_shop_scores_shop_id_shops")
        ),
        sa.PrimaryKeyConstraint("shop_id", "day", name=op.f("pk_shop_scores")),
    )


def downgrade() -> None:
    """Undo this revision."""
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.drop_index("ix_reviews_shop_created")
        batch_op.drop_index("ix_reviews_product_created")
        batch_op.drop_index("ix_reviews_order")

    op.drop_table("reviews")
    op.drop_table("shop_scores")
