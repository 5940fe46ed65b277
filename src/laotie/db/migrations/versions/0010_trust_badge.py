"""trust badge: the shop holds it, a case carries the refund advanced

Revision ID: 0010_trust_badge
Revises: 0009_anchor_scores
Create Date: 2026-12-06 20:53:31.298375
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_trust_badge"
down_revision: str | None = "0009_anchor_scores"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("aftersales_cases", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("advanced_minor", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("advance_refund_id", sa.String(length=32), nullable=True))

    with op.batch_alter_table("shops", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("trust_badge", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    """Undo this revision."""
    with op.batch_alter_table("shops", schema=None) as batch_op:
        batch_op.drop_column("trust_badge")

    with op.batch_alter_table("aftersales_cases", schema=None) as batch_op:
        batch_op.drop_column("advance_refund_id")
        batch_op.drop_column("advanced_minor")
