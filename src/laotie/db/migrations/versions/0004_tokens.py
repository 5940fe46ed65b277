"""tokens: an id and a label for each token; API tokens expire

Revision ID: 0004_tokens
Revises: 0001
Create Date: 2026-12-03 12:00:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision: str = "0004_tokens"
down_revision: str | None = "0003_payments"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# API tokens issued before tokens expired get the default lifetime from the upgrade on.
DEFAULT_TOKEN_DAYS = 30


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("auth_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("id", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("label", sa.String(length=80), nullable=True))
    tokens = sa.table(
        "auth_tokens",
        sa.column("token_hash", sa.String),
        sa.column("id", sa.String),
        sa.column("expires_at", sa.DateTime(timezone=True)),
    )
    # The hash is unguessable and unique already; its first characters make a fine id.
    short = sa.func.substr(tokens.c.token_hash, 1, 24, type_=sa.String)
    op.execute(tokens.update().values(id=sa.literal("tok_", sa.String).concat(short)))
    until = datetime.now(UTC) + timedelta(days=DEFAULT_TOKEN_DAYS)
    op.execute(tokens.update().where(tokens.c.expires_at.is_(None)).values(expires_at=until))
    with op.batch_alter_table("auth_tokens", schema=None) as batch_op:
        batch_op.alter_column("id", existing_type=sa.String(length=32), nullable=False)
        batch_op.create_unique_constraint(op.f("uq_auth_tokens_id"), ["id"])


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("auth_tokens", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("uq_auth_tokens_id"), type_="unique")
        batch_op.drop_column("label")
        batch_op.drop_column("id")
