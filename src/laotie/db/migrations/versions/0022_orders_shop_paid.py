"""orders: an index of a shop's orders by when they were paid

Revision ID: 0022_orders_shop_paid
Revises: 0021_analytics_rollups
Create Date: 2026-12-07 16:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0022_orders_shop_paid"
down_revision: str | None = "0021_analytics_rollups"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index("ix_orders_shop_paid", ["shop_id", "paid_at"], unique=False)


def downgrade() -> None:
    """Undo this revision."""
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_shop_paid")
