"""anchors: reputation day by day, sessions by anchor

Revision ID: 0009_anchor_scores
Revises: 0008_loyalty
Create Date: 2026-12-06 20:51:22.240378
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import laotie.db.base

revision: str = "0009_anchor_scores"
down_revision: str | None = "0008_loyalty"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "anchor_scores",
        sa.Column("anchor_id", sa.String(length=32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("tier", sa.String(length=16), nullable=False),
        sa.Column("new", sa.Boolean(), nullable=False),
        sa.Column("buyers", sa.Integer(), nullable=False),
        sa.Column("dimensions", sa.JSON(), nullable=False),
        sa.Column("formula_version", sa.String(length=24), nullable=False),
        sa.Column("computed_at", laotie.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["anchor_id"], ["users.id"], name=op.f("fk_anchor_scores_anchor_id_users")
        ),
        sa.PrimaryKeyConstraint("anchor_id", "day", name=op.f("pk_anchor_scores")),
    )
    with op.batch_alter_table("live_sessions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_live_sessions_anchor_started", ["anchor_id", "started_at"], unique=False
        )


def downgrade() -> None:
    """Undo this revision."""
    with op.batch_alter_table("live_sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_live_sessions_anchor_started")

    op.drop_table("anchor_scores")
