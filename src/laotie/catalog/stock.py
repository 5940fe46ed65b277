"""Units of a SKU: each move between on hand, reserved, sold and returned is one conditional UPDATE.

stocked = stock (on hand) + reserved (unpaid) + sold + returned_unsellable. A move takes
units from one bucket only if they are there (`WHERE bucket >= n`), because SQLite ignores
SELECT ... FOR UPDATE and a read-then-write would oversell under concurrency.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Select, Update, select, update

from laotie.catalog.models import Category, Product, Shop, Sku
from laotie.core.context import Ctx


class Bucket(StrEnum):
    """Where a unit of a SKU is."""

    ON_HAND = "stock"
    IN_SALE = "in_sale"
    RESERVED = "reserved"
    SOLD = "sold"
    RETURNED = "returned_unsellable"


@dataclass(frozen=True, slots=True)
class SkuForSale:
    """What checkout needs to know of a SKU, read in one statement."""

    sku_id: str
    product_id: str
    shop_id: str
    title: str
    attributes: dict[str, object]
    price_minor: int
    currency: str
    per_buyer_limit: int | None
    return_window_days: int | None
    on_sale: bool
    # Penalty points suspend a shop until this time: its SKUs are not sold before it.
    shop_suspended_until: datetime | None = None


async def load_for_sale(ctx: Ctx, sku_ids: list[str]) -> dict[str, SkuForSale]:
    """Read the SKUs with their product, shop and category in one statement."""
    return skus_for_sale(await ctx.db.execute(for_sale_query(sku_ids)))


def load_for_sale_sync(connection: Connection, sku_ids: list[str]) -> dict[str, SkuForSale]:
    """`load_for_sale` on a synchronous connection (a batch run in one go)."""
    return skus_for_sale(connection.execute(for_sale_query(sku_ids)))


# The columns `for_sale_query` selects first, in this order; a caller may add its own after.
FOR_SALE_COLUMNS = 12


def for_sale_query(sku_ids: list[str]) -> Select[Any]:
    """Select what `SkuForSale` holds of these SKUs: `FOR_SALE_COLUMNS` columns a row."""
    return (
        select(
            Sku.id,
            Sku.product_id,
            Sku.shop_id,
            Product.title,
            Sku.attributes,
            Sku.price_minor,
            Shop.currency,
            Sku.per_buyer_limit,
            Category.return_window_days,
            Sku.active,
            Product.status,
            Shop.suspended_until,
        )
        .join(Product, Product.id == Sku.product_id)
        .join(Shop, Shop.id == Sku.shop_id)
        .join(Category, Category.slug == Product.category_slug)
        .where(Sku.id.in_(sku_ids))
    )


def skus_for_sale(rows: Iterable[Any]) -> dict[str, SkuForSale]:
    """Return the SKUs of rows that begin with the columns of `for_sale_query`."""
    return {
        row[0]: SkuForSale(
            sku_id=row[0],
            product_id=row[1],
            shop_id=row[2],
            title=row[3],
            attributes=dict(row[4] or {}),
            price_minor=row[5],
            currency=row[6],
            per_buyer_limit=row[7],
            return_window_days=row[8],
            on_sale=bool(row[9]) and row[10] == "active",
            shop_suspended_until=row[11],
        )
        for row in rows
    }


async def move_units(ctx: Ctx, sku_id: str, quantity: int, source: Bucket, target: Bucket) -> bool:
    """Move units between buckets if the source holds them; tell whether it did."""
    result = await ctx.db.execute(_move(sku_id, quantity, source, target))
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def move_units_sync(
    connection: Connection, sku_id: str, quantity: int, source: Bucket, target: Bucket
) -> bool:
    """`move_units` on a synchronous connection (a batch run in one go)."""
    return connection.execute(_move(sku_id, quantity, source, target)).rowcount == 1


def _move(sku_id: str, quantity: int, source: Bucket, target: Bucket) -> Update:
    if quantity <= 0:
        raise ValueError("a move takes a positive quantity")
    src = getattr(Sku, source.value)
    dst = getattr(Sku, target.value)
    return (
        update(Sku)
        .where(Sku.id == sku_id, src >= quantity)
        .values({source.value: src - quantity, target.value: dst + quantity})
        .execution_options(synchronize_session=False)
    )


async def reserve(ctx: Ctx, sku_id: str, quantity: int) -> bool:
    """Take units on hand for an unpaid order; False when there are not enough."""
    return await move_units(ctx, sku_id, quantity, Bucket.ON_HAND, Bucket.RESERVED)


async def put_on_hand(ctx: Ctx, sku_id: str, quantity: int) -> None:
    """Add units on hand that a feature kept apart until now (a C2M commitment's units)."""
    await ctx.db.execute(
        update(Sku)
        .where(Sku.id == sku_id)
        .values(stock=Sku.stock + quantity)
        .execution_options(synchronize_session=False)
    )


async def must_take_back(ctx: Ctx, sku_id: str, quantity: int, source: Bucket) -> None:
    """Take units out of the SKU that a feature keeps apart (a C2M commitment's, whose
    order lapsed); they must be there."""
    column = getattr(Sku, source.value)
    taken = await ctx.db.execute(
        update(Sku)
        .where(Sku.id == sku_id, column >= quantity)
        .values({source.value: column - quantity})
        .execution_options(synchronize_session=False)
    )
    if not getattr(taken, "rowcount", 0):
        raise RuntimeError(f"sku {sku_id}: {quantity} units not in {source} (invariant broken)")


async def release(ctx: Ctx, sku_id: str, quantity: int) -> None:
    """Give an unpaid order's units back (expired or cancelled)."""
    await must_move(ctx, sku_id, quantity, Bucket.RESERVED, Bucket.ON_HAND)


async def confirm_sold(ctx: Ctx, sku_id: str, quantity: int) -> None:
    """Turn a paid order's reserved units into sold ones."""
    await must_move(ctx, sku_id, quantity, Bucket.RESERVED, Bucket.SOLD)


async def confirm_sold_lines(ctx: Ctx, lines: Select[str, int]) -> int:
    """Turn the reserved units of several SKUs into sold ones in one UPDATE; return how many moved.

    `lines` selects a SKU id and a quantity, one row a SKU (the caller's order lines).
    """
    source = lines.subquery()
    sku_id, quantity = source.c[0], source.c[1]
    result = await ctx.db.execute(
        update(Sku)
        .where(Sku.id == sku_id, Sku.reserved >= quantity)
        .values(reserved=Sku.reserved - quantity, sold=Sku.sold + quantity)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def unsell(ctx: Ctx, sku_id: str, quantity: int) -> None:
    """Put units back on hand: refunded before they were shipped."""
    await must_move(ctx, sku_id, quantity, Bucket.SOLD, Bucket.ON_HAND)


async def take_back(ctx: Ctx, sku_id: str, quantity: int) -> None:
    """Count returned units apart until the seller says whether they can be sold again."""
    await must_move(ctx, sku_id, quantity, Bucket.SOLD, Bucket.RETURNED)


async def restock_returned(ctx: Ctx, sku_id: str, quantity: int) -> None:
    """Put returned units back on hand: the seller marked them resellable."""
    await must_move(ctx, sku_id, quantity, Bucket.RETURNED, Bucket.ON_HAND)


async def must_move(ctx: Ctx, sku_id: str, quantity: int, source: Bucket, target: Bucket) -> None:
    """Move units that the caller's records say are there; a miss is a broken invariant."""
    if not await move_units(ctx, sku_id, quantity, source, target):
        raise RuntimeError(f"sku {sku_id}: {quantity} units not in {source} (invariant broken)")


async def return_sale_units(ctx: Ctx, sku_id: str) -> int:
    """Put every unit held for a flash sale back on hand; return how many."""
    held = await ctx.db.scalar(select(Sku.in_sale).where(Sku.id == sku_id).with_for_update())
    if held:
        await must_move(ctx, sku_id, int(held), Bucket.IN_SALE, Bucket.ON_HAND)
    return int(held or 0)


async def skus_holding_sale_units(ctx: Ctx) -> list[str]:
    """Return the SKUs with units held for flash sales."""
    return list(await ctx.db.scalars(select(Sku.id).where(Sku.in_sale > 0)))
