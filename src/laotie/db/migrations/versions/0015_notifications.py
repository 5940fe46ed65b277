"""notifications: RSVPs, mutes, the inbox and its fan-outs

Revision ID: 0015_notifications
Revises: 0014_fan_groups
Create Date: 2026-12-07 04:06:21.999627
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import laotie.db.base

revision: str = "0015_notifications"
down_revision: str | None = "0014_fan_groups"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "inbox",
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("session_id", sa.String(length=32), nullable=False),
        sa.Column("anchor_id", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=24), nullable=False),
        sa.Column("created_at", laotie.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("read_at", laotie.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("user_id", "session_id", name=op.f("pk_inbox")),
    )
    with op.batch_alter_table("inbox", schema=None) as batch_op:
        batch_op.create_index("ix_inbox_user_created", ["user_id", "created_at"], unique=False)

    op.create_table(
        "notification_fanouts",
        sa.Column("session_id", sa.String(length=32), nullable=False),
        sa.Column("anchor_id", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("cursor", sa.String(length=32), nullable=False),
        sa.Column("written", sa.Integer(), nullable=False),
        sa.Column("claimed_until", laotie.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", laotie.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", laotie.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("session_id", name=op.f("pk_notification_fanouts")),
    )
    with op.batch_alter_table("notification_fanouts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_notification_fanouts_state", ["state", "claimed_until"], unique=False
        )

    op.create_table(
        "notification_mutes",
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("anchor_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", laotie.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_notification_mutes_user_id_users")
        ),
        sa.PrimaryKeyConstraint("user_id", "anchor_id", name=op.f("pk_notification_mutes")),
    )
    op.create_table(
        "rsvps",
        sa.Column("session_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", laotie.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_rsvps_user_id_users")),
        sa.PrimaryKeyConstraint("session_id", "user_id", name=op.f("pk_rsvps")),
    )
    with op.batch_alter_table("follows", schema=None) as batch_op:
        batch_op.drop_index("ix_follows_target")
        batch_op.create_index(
            "ix_follows_target_user", ["target_kind", "target_id", "user_id"], unique=False
        )


def downgrade() -> None:
    """Undo this revision."""
    with op.batch_alter_table("follows", schema=None) as batch_op:
        batch_op.drop_index("ix_follows_target_user")
        batch_op.create_index("ix_follows_target", ["target_kind", "target_id"], unique=False)

    op.drop_table("rsvps")
    op.drop_table("notification_mutes")
    with op.batch_alter_table("notification_fanouts", schema=None) as batch_op:
        batch_op.drop_index("ix_notification_fanouts_state")

    op.drop_table("notification_fanouts")
    with op.batch_alter_table("inbox", schema=None) as batch_op:
        batch_op.drop_index("ix_inbox_user_created")

    op.drop_table("inbox")
