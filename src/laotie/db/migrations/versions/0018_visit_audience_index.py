"""visits: an index that covers the feed's read of the live rooms' audience

Revision ID: 0018_visit_audience_index
Revises: 0017_promotions
Create Date: 2026-12-07 08:05:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0018_visit_audience_index"
down_revision: str | None = "0017_promotions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("visits", schema=None) as batch_op:
        batch_op.create_index(
            "ix_visits_session_audience", ["session_id", "source", "watch_seconds"], unique=False
        )


def downgrade() -> None:
    """Undo this revision."""
    with op.batch_alter_table("visits", schema=None) as batch_op:
        batch_op.drop_index("ix_visits_session_audience")
