"""top_ups: what a payment into a shop pays into, its balance or its security deposit

Revision ID: 0025_security_deposits
Revises: 0024_supply_factories
Create Date: 2026-12-07 17:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025_security_deposits"
down_revision: str | None = "0024_supply_factories"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision: every earlier top-up paid into the balance."""
    with op.batch_alter_table("top_ups", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("purpose", sa.String(length=16), nullable=False, server_default="balance")
        )
    with op.batch_alter_table("top_ups", schema=None) as batch_op:
        batch_op.alter_column("purpose", server_default=None)


def downgrade() -> None:
    """Undo this revision."""
    with op.batch_alter_table("top_ups", schema=None) as batch_op:
        batch_op.drop_column("purpose")
