"""ledger: each leg carries its transaction's kind, order and time; no table of transactions

Revision ID: 0005_ledger_legs
Revises: 0004_tokens
Create Date: 2026-12-03 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import laotie.db.base

revision: str = "0005_ledger_legs"
down_revision: str | None = "0004_tokens"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COPIED = ("kind", "order_id", "created_at")


def _ledger_table(name: str, key: str) -> sa.TableClause:
    """Return a lightweight table of the columns copied between the two tables."""
    return sa.table(
        name,
        sa.column(key, sa.String),
        sa.column("kind", sa.String),
        sa.column("order_id", sa.String),
        sa.column("created_at", laotie.db.base.UTCDateTime(timezone=True)),
    )


def _transactions() -> sa.TableClause:
    return _ledger_table("ledger_transactions", "id")


def _entries() -> sa.TableClause:
    return _ledger_table("ledger_entries", "txn_id")


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=24), nullable=True))
        batch_op.add_column(sa.Column("order_id", sa.String(length=32), nullable=True))
        batch_op.add_column(
            sa.Column("created_at", laotie.db.base.UTCDateTime(timezone=True), nullable=True)
        )
    txns, entries = _transactions(), _entries()
    op.execute(
        entries.update().values(
            {
                name: sa.select(txns.c[name]).where(txns.c.id == entries.c.txn_id).scalar_subquery()
                for name in _COPIED
            }
        )
    )
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.drop_constraint("fk_ledger_entries_txn_id_ledger_transactions", type_="foreignkey")
        batch_op.alter_column("kind", existing_type=sa.String(length=24), nullable=False)
        batch_op.alter_column(
            "created_at", existing_type=laotie.db.base.UTCDateTime(timezone=True), nullable=False
        )
        batch_op.create_index("ix_ledger_entries_order", ["order_id"], unique=False)
    op.drop_table("ledger_transactions")


def downgrade() -> None:
    """Revert this revision."""
    op.create_table(
        "ledger_transactions",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("order_id", sa.String(length=32), nullable=True),
        sa.Column("created_at", laotie.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_transactions")),
    )
    txns, entries = _transactions(), _entries()
    legs = sa.select(
        entries.c.txn_id,
        sa.func.min(entries.c.kind),
        sa.func.min(entries.c.order_id),
        sa.func.min(entries.c.created_at),
    ).group_by(entries.c.txn_id)
    op.execute(txns.insert().from_select(["id", *_COPIED], legs))
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_ledger_entries_order")
        batch_op.drop_column("created_at")
        batch_op.drop_column("order_id")
        batch_op.drop_column("kind")
        batch_op.create_foreign_key(
            op.f("fk_ledger_entries_txn_id_ledger_transactions"),
            "ledger_transactions",
            ["txn_id"],
            ["id"],
        )
