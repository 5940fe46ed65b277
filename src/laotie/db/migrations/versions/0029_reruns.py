"""supply: a campaign's production runs numbered, the first and its reruns, and where
each shipped

Revision ID: 0029_reruns
Revises: 0028_c2m_balances
Create Date: 2026-12-07 21:02:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0029_reruns"
down_revision: str | None = "0028_c2m_balances"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("production_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("number", sa.Integer(), server_default="1", nullable=False))
        batch_op.drop_constraint(batch_op.f("uq_production_runs_campaign_id"), type_="unique")
        batch_op.create_unique_constraint("uq_production_runs_number", ["campaign_id", "number"])
        batch_op.add_column(sa.Column("shipment", sa.JSON(), nullable=True))


def downgrade() -> None:
    """Undo this revision."""
    with op.batch_alter_table("production_runs", schema=None) as batch_op:
        batch_op.drop_column("shipment")
        batch_op.drop_constraint("uq_production_runs_number", type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_production_runs_campaign_id"), ["campaign_id"]
        )
        batch_op.drop_column("number")
