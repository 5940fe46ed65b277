"""supply: a confirmed campaign's product and its committers' balance orders, deposits
applied to orders, and the sandbox's transfers to payers

Revision ID: 0028_c2m_balances
Revises: 0027_campaigns
Create Date: 2026-12-07 20:34:16.063733
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028_c2m_balances"
down_revision: str | None = "0027_campaigns"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ONE_DECISION = "uq_sandbox_charges_one_decision"


def _one_decision_index(outside: str) -> None:
    where = sa.text(f"kind NOT IN ({outside})")
    op.drop_index(_ONE_DECISION, table_name="sandbox_charges")
    op.create_index(
        _ONE_DECISION,
        "sandbox_charges",
        ["payment_id"],
        unique=True,
        sqlite_where=where,
        postgresql_where=where,
    )


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.add_column(sa.Column("product_id", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("sku_ids", sa.JSON(), nullable=True))

    with op.batch_alter_table("commitments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("order_id", sa.String(length=32), nullable=True))

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("prepaid_payment_id", sa.String(length=32), nullable=True))

    _one_decision_index("'refund', 'transfer'")


def downgrade() -> None:
    """Undo this revision."""
    _one_decision_index("'refund'")

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("prepaid_payment_id")

    with op.batch_alter_table("commitments", schema=None) as batch_op:
        batch_op.drop_column("order_id")

    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_column("sku_ids")
        batch_op.drop_column("product_id")
