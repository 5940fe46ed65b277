"""64-bit money and counters; shipping addresses, freight templates, after-sales reasons

Revision ID: 0002_money_addresses
Revises: 0001
Create Date: 2026-12-03 11:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import laotie.db.base

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
    op.create_table(
        "addresses",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("recipient", sa.String(length=40), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("province_code", sa.String(length=6), nullable=False),
        sa.Column("city_code", sa.String(length=6), nullable=False),
        sa.Column("district_code", sa.String(length=6), nullable=True),
        sa.Column("street", sa.String(length=200), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("created_at", laotie.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_addresses_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_addresses")),
    )
    op.create_index("ix_addresses_user", "addresses", ["user_id"])
    op.create_index(
        "uq_addresses_one_default",
        "addresses",
        ["user_id"],
        unique=True,
        sqlite_where=sa.text("is_default"),
        postgresql_where=sa.text("is_default"),
    )
    op.create_table(
        "freight_templates",
        sa.Column("shop_id", sa.String(length=32), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("updated_at", laotie.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_freight_templates_shop_id_shops")
        ),
        sa.PrimaryKeyConstraint("shop_id", name=op.f("pk_freight_templates")),
    )
    # Existing rows get the defaults the models give new ones.
    with op.batch_alter_table("aftersales_cases") as batch:
        batch.add_column(
            sa.Column("reason_code", sa.String(length=24), nullable=False, server_default="other")
        )
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("ship_to", sa.JSON(), nullable=True))
        batch.add_column(
            sa.Column("freight_minor", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("city_tier", sa.String(length=16), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("city_tier")
        batch.drop_column("freight_minor")
        batch.drop_column("ship_to")
    with op.batch_alter_table("aftersales_cases") as batch:
        batch.drop_column("reason_code")
    op.drop_table("freight_templates")
    op.drop_index("uq_addresses_one_default", table_name="addresses")
    op.drop_index("ix_addresses_user", table_name="addresses")
    op.drop_table("addresses")
    _retype(sa.BigInteger(), sa.Integer())
