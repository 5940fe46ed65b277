"""analytics rollups: viewer_days, sale_facts, rollup_fills; orders and visits by day

Revision ID: 0021_analytics_rollups
Revises: 0020_shelf_views
Create Date: 2026-12-07 14:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import laotie.db.base

revision: str = "0021_analytics_rollups"
down_revision: str | None = "0020_shelf_views"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MOMENT = laotie.db.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "viewer_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("session_id", sa.String(length=32), nullable=False),
        sa.Column("viewer_key", sa.String(length=40), nullable=False),
        sa.Column("shop_id", sa.String(length=32), nullable=False),
        sa.Column("anchor_id", sa.String(length=32), nullable=False),
        sa.Column("first_at", MOMENT, nullable=False),
        sa.Column("first_visit_id", sa.String(length=32), nullable=False),
        sa.Column("private", sa.Boolean(), nullable=False),
        sa.Column("watch_seconds", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "session_id", "viewer_key", name=op.f("pk_viewer_days")),
    )
    with op.batch_alter_table("viewer_days", schema=None) as batch_op:
        batch_op.create_index("ix_viewer_days_shop", ["shop_id", "day"], unique=False)
        batch_op.create_index("ix_viewer_days_anchor", ["anchor_id", "day"], unique=False)
        batch_op.create_index("ix_viewer_days_session", ["session_id", "day"], unique=False)
    op.create_table(
        "sale_facts",
        sa.Column("order_id", sa.String(length=32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("buyer_id", sa.String(length=32), nullable=False),
        sa.Column("shop_id", sa.String(length=32), nullable=False),
        sa.Column("session_id", sa.String(length=32), nullable=True),
        sa.Column("anchor_id", sa.String(length=32), nullable=True),
        sa.Column("total_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("city_tier", sa.String(length=16), nullable=True),
        sa.Column("paid_at", MOMENT, nullable=False),
        sa.Column("visit_id", sa.String(length=32), nullable=True),
        sa.Column("visit_viewer_key", sa.String(length=40), nullable=True),
        sa.Column("visit_entered_at", MOMENT, nullable=True),
        sa.Column("visit_private", sa.Boolean(), nullable=True),
        sa.Column("visit_watch_seconds", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_sale_facts")),
    )
    with op.batch_alter_table("sale_facts", schema=None) as batch_op:
        batch_op.create_index("ix_sale_facts_day", ["day"], unique=False)
        batch_op.create_index("ix_sale_facts_shop", ["shop_id", "day"], unique=False)
        batch_op.create_index("ix_sale_facts_session", ["session_id", "day"], unique=False)
        batch_op.create_index("ix_sale_facts_anchor", ["anchor_id", "day"], unique=False)
    op.create_table(
        "rollup_fills",
        sa.Column("rollup", sa.String(length=32), nullable=False),
        sa.Column("filled_through", sa.Date(), nullable=False),
        sa.Column("refreshed_at", MOMENT, nullable=False),
        sa.PrimaryKeyConstraint("rollup", name=op.f("pk_rollup_fills")),
    )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index("ix_orders_paid", ["paid_at"], unique=False)
    with op.batch_alter_table("visits", schema=None) as batch_op:
        batch_op.create_index("ix_visits_entered", ["entered_at"], unique=False)


def downgrade() -> None:
    """Undo this revision."""
    with op.batch_alter_table("visits", schema=None) as batch_op:
        batch_op.drop_index("ix_visits_entered")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_paid")
    op.drop_table("rollup_fills")
    with op.batch_alter_table("sale_facts", schema=None) as batch_op:
        for name in ("ix_sale_facts_anchor", "ix_sale_facts_session", "ix_sale_facts_shop"):
            batch_op.drop_index(name)
        batch_op.drop_index("ix_sale_facts_day")
    op.drop_table("sale_facts")
    with op.batch_alter_table("viewer_days", schema=None) as batch_op:
        for name in ("ix_viewer_days_session", "ix_viewer_days_anchor", "ix_viewer_days_shop"):
            batch_op.drop_index(name)
    op.drop_table("viewer_days")
