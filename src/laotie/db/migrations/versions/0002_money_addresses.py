"""64-bit money and counters

Revision ID: 0002_money_addresses
Revises: 0001
Create Date: 2026-12-03 11:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_money_addresses"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Money and counters that can outgrow 32 bits (a price of 10^9 bought three at a time).
WIDENED: dict[str, tuple[str, ...]] = {
    "shops": ("deposit_minor",),
    "skus": ("price_minor", "stock", "in_sale", "reserved", "sold", "returned_unsellable"),
    "sku_prices": ("price_minor",),
    "orders": ("total_minor", "refunded_minor"),
    "order_lines": ("unit_price_minor",),
    "payments": ("amount_minor",),
    "refunds": ("amount_minor",),
    "ledger_entries": ("amount_minor",),
    "aftersales_cases": ("amount_minor",),
    "sandbox_charges": ("amount_minor",),
    "live_sessions": ("likes",),
    "flash_sales": ("price_minor", "was_price_minor"),
    "room_minutes": ("viewers", "entries", "chats", "likes", "orders", "gmv_minor"),
}


def _retype(old: sa.types.TypeEngine[int], new: sa.types.TypeEngine[int]) -> None:
    # Batch mode: SQLite cannot ALTER a column's type, so the table is copied; PostgreSQL
    # alters in place.
    for table, columns in WIDENED.items():
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.alter_column(column, existing_type=old, type_=new, existing_nullable=False)


def upgrade() -> None:
    """Apply this revision."""
    _retype(sa.Integer(), sa.BigInteger())


def downgrade() -> None:
    """Revert this revision."""
    _retype(sa.BigInteger(), sa.Integer())
