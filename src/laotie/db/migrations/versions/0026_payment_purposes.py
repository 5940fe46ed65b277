"""payments: a purpose for a payment of no orders; refunds of such payments have no order

Revision ID: 0026_payment_purposes
Revises: 0025_security_deposits
Create Date: 2026-12-07 17:30:33.042825
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026_payment_purposes"
down_revision: str | None = "0025_security_deposits"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("purpose", sa.String(length=24), nullable=True))
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.alter_column("order_id", existing_type=sa.VARCHAR(length=32), nullable=True)


def downgrade() -> None:
    """Undo this revision (the refunds of payments with a purpose go with it)."""
    op.execute("DELETE FROM refunds WHERE order_id IS NULL")
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.alter_column("order_id", existing_type=sa.VARCHAR(length=32), nullable=False)
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_column("purpose")
