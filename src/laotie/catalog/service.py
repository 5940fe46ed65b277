"""Use-cases of the catalog feature: shops, categories, products, SKUs, prices and stock.

Functions other features call return schemas (`ShopOut`, `ProductOut`, `SkuOut` ...),
never table rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from laotie.accounts.permissions import Actor, Role, require_role
from laotie.catalog.errors import CatalogError
from laotie.catalog.models import Category, Product, Shop, Sku, SkuPrice
from laotie.catalog.schemas import (
    MAX_PAGE,
    MAX_SKUS_PER_PRODUCT,
    MAX_STOCK,
    CategoryIn,
    CategoryOut,
    ProductCreateIn,
    ProductListItem,
    ProductOut,
    ProductPage,
    ProductStatus,
    ProductUpdateIn,
    ShopCreateIn,
    ShopOut,
    ShopUpdateIn,
    ShopVerificationIn,
    SkuIn,
    SkuOut,
    SkuUpdateIn,
)
from laotie.core.context import Ctx
from laotie.core.errors import AppError, forbidden, not_found
from laotie.core.ids import new_id
from laotie.db.bulk import dialect_insert

REGULAR = "regular"
WAS_PRICE_DAYS = 30
MAX_SEARCH_TERMS = 5

# slug, name, no-reason return window in days (None: the platform default), position.
# Food is perishable, so it has none; electronics and jade get 15 days, time enough for
# a buyer to have a device tested or a stone appraised independently.
DEFAULT_CATEGORIES: tuple[tuple[str, str, int | None, int], ...] = (
    ("apparel", "Apparel", None, 10),
    ("beauty", "Beauty", None, 20),
    ("food", "Food", 0, 30),
    ("home", "Home", None, 40),
    ("electronics", "Electronics", 15, 50),
    ("jade", "Jade & jewellery", 15, 60),
)
_DEFAULT_SLUGS = frozenset(slug for slug, *_ in DEFAULT_CATEGORIES)


# Categories


async def do_ensure_default_categories(ctx: Ctx) -> None:
    """Create the default categories that are missing; safe to run at any time, concurrently."""
    rows = [
        {"slug": slug, "name": name, "return_window_days": days, "position": position}
        for slug, name, days, position in DEFAULT_CATEGORIES
    ]
    insert = dialect_insert(ctx.db.get_bind().dialect.name, Category)
    await ctx.db.execute(insert.values(rows).on_conflict_do_nothing())


async def list_categories(ctx: Ctx) -> list[CategoryOut]:
    """Return every category in display order; a fresh deployment gets the defaults."""
    categories = await _all_categories(ctx)
    if not categories:
        await do_ensure_default_categories(ctx)
        categories = await _all_categories(ctx)
    return [_category_out(category) for category in categories]


async def do_create_category(ctx: Ctx, actor: Actor, data: CategoryIn) -> CategoryOut:
    """Add a browsing category (operators only)."""
    require_role(actor, Role.OPERATOR)
    if await ctx.db.get(Category, data.slug) is not None:
        raise AppError.of(CatalogError.CATEGORY_EXISTS, f"category {data.slug} exists")
    category = Category(
        slug=data.slug,
        name=data.name,
        return_window_days=data.return_window_days,
        position=data.position,
    )
    ctx.db.add(category)
    await ctx.db.flush()
    return _category_out(category)


async def check_category(ctx: Ctx, slug: str) -> None:
    """Refuse a category that does not exist (the defaults are created on first use)."""
    if await ctx.db.get(Category, slug) is not None:
        return
    if slug in _DEFAULT_SLUGS:
        await do_ensure_default_categories(ctx)
        return
    raise AppError.of(CatalogError.CATEGORY_UNKNOWN, f"no category {slug}")


async def _all_categories(ctx: Ctx) -> list[Category]:
    return list(await ctx.db.scalars(select(Category).order_by(Category.position, Category.slug)))


# Shops


async def do_create_shop(ctx: Ctx, actor: Actor, data: ShopCreateIn) -> ShopOut:
    """Open a shop owned by a seller, trading in the platform's currency."""
    require_role(actor, Role.SELLER)
    await check_shop_name_free(ctx, data.name)
    shop = Shop(
        id=new_id("shp"),
        owner_id=actor.id,
        name=data.name,
        description=data.description,
        verified=False,
        deposit_minor=0,
        currency=ctx.settings.currency,
        created_at=ctx.now(),
    )
    ctx.db.add(shop)
    await _flush_shop(ctx, data.name)
    return _shop_out(shop)


async def do_update_shop(ctx: Ctx, actor: Actor, shop_id: str, data: ShopUpdateIn) -> ShopOut:
    """Change a shop's name or description (its owner only)."""
    shop = await _own_shop(ctx, actor, shop_id)
    if data.name is not None and data.name != shop.name:
        await check_shop_name_free(ctx, data.name, other_than=shop.id)
        shop.name = data.name
    if data.description is not None:
        shop.description = data.description
    await _flush_shop(ctx, shop.name)
    return _shop_out(shop)


async def do_set_verification(
    ctx: Ctx, actor: Actor, shop_id: str, data: ShopVerificationIn
) -> ShopOut:
    """Record whether a shop is verified (operators only)."""
    require_role(actor, Role.OPERATOR)
    shop = await _shop(ctx, shop_id)
    shop.verified = data.verified
    await ctx.db.flush()
    return _shop_out(shop)


async def set_shop_deposit(ctx: Ctx, shop_id: str, held_minor: int) -> None:
    """Show the security deposit the platform holds for a shop (its ledger's balance)."""
    (await _shop(ctx, shop_id)).deposit_minor = held_minor
    await ctx.db.flush()


async def check_shop_name_free(ctx: Ctx, name: str, *, other_than: str | None = None) -> None:
    """Refuse a shop name already in use, whatever its letter case."""
    query = select(Shop.id).where(func.lower(Shop.name) == name.lower())
    if other_than is not None:
        query = query.where(Shop.id != other_than)
    if await ctx.db.scalar(query) is not None:
        raise _name_taken(name)


async def get_shop(ctx: Ctx, shop_id: str) -> ShopOut:
    """Return a shop as everyone sees it."""
    return _shop_out(await _shop(ctx, shop_id))


async def shop_owner_id(ctx: Ctx, shop_id: str) -> str:
    """Return the id of the user who owns a shop."""
    owner_id = await ctx.db.scalar(select(Shop.owner_id).where(Shop.id == shop_id))
    if owner_id is None:
        raise not_found("shop")
    return owner_id


async def lock_shop(ctx: Ctx, shop_id: str) -> str:
    """Hold a shop's row until the transaction ends; return its owner's id.

    What spends a shop's released balance (a payout, a promotion's budget) takes turns on
    this row, so two of them never both read the same balance (SQLite has one writer anyway).
    On PostgreSQL the lock is FOR NO KEY UPDATE: orders inserted for the shop meanwhile
    (their foreign key's share lock) neither wait for it nor deadlock with it.
    """
    owner_id = await ctx.db.scalar(
        select(Shop.owner_id).where(Shop.id == shop_id).with_for_update(key_share=True)
    )
    if owner_id is None:
        raise not_found("shop")
    return owner_id


async def list_shops(
    ctx: Ctx,
    *,
    owner_id: str | None = None,
    verified: bool | None = None,
    limit: int = 20,
    offset: int = 0,
) -> list[ShopOut]:
    """Return shops, oldest first, optionally of one owner or by verification."""
    query = select(Shop).order_by(Shop.created_at, Shop.id)
    if owner_id is not None:
        query = query.where(Shop.owner_id == owner_id)
    if verified is not None:
        query = query.where(Shop.verified.is_(verified))
    query = query.limit(_bounded(limit)).offset(max(offset, 0))
    return [_shop_out(shop) for shop in await ctx.db.scalars(query)]


async def set_shop_suspension(ctx: Ctx, shop_id: str, until: datetime | None) -> None:
    """Suspend a shop's sales until a time, or lift the suspension (None): trust's verdict."""
    (await _shop(ctx, shop_id)).suspended_until = until


async def set_shop_badge(ctx: Ctx, shop_id: str, badge: bool) -> None:
    """Grant or withdraw a shop's trust badge: trust's verdict."""
    (await _shop(ctx, shop_id)).trust_badge = badge


async def set_shop_badges(ctx: Ctx, badges: Mapping[str, bool]) -> None:
    """Grant or withdraw many shops' trust badges at once: trust's daily verdicts."""
    shops = await ctx.db.scalars(select(Shop).where(Shop.id.in_(sorted(badges))))
    for shop in shops:
        shop.trust_badge = badges[shop.id]


async def shop_ids(ctx: Ctx, opened_before: datetime | None = None) -> list[str]:
    """Return the id of every shop (opened before a moment), oldest first (the daily jobs
    walk them)."""
    query = select(Shop.id).order_by(Shop.created_at, Shop.id)
    if opened_before is not None:
        query = query.where(Shop.created_at < opened_before)
    return list(await ctx.db.scalars(query))


async def shops_of_owner(ctx: Ctx, owner_id: str) -> list[ShopOut]:
    """Return every shop a user owns."""
    shops = await ctx.db.scalars(
        select(Shop).where(Shop.owner_id == owner_id).order_by(Shop.created_at, Shop.id)
    )
    return [_shop_out(shop) for shop in shops]


async def access_own_shop(ctx: Ctx, actor: Actor, shop_id: str) -> ShopOut:
    """Return the actor's own shop; refuse anybody else's."""
    return _shop_out(await _own_shop(ctx, actor, shop_id))


async def _shop(ctx: Ctx, shop_id: str) -> Shop:
    shop = await ctx.db.get(Shop, shop_id)
    if shop is None:
        raise not_found("shop")
    return shop


async def _own_shop(ctx: Ctx, actor: Actor, shop_id: str) -> Shop:
    require_role(actor, Role.SELLER)
    shop = await _shop(ctx, shop_id)
    _check_owner(actor, shop)
    return shop


async def _flush_shop(ctx: Ctx, name: str) -> None:
    # Two concurrent requests can both pass the name check; the unique index decides.
    try:
        await ctx.db.flush()
    except IntegrityError as error:
        raise _name_taken(name) from error


def _name_taken(name: str) -> AppError:
    return AppError.of(CatalogError.SHOP_NAME_TAKEN, f"a shop called {name!r} exists")


def _check_owner(actor: Actor, shop: Shop) -> None:
    if shop.owner_id != actor.id:
        raise forbidden("this is another seller's shop")


# Products and SKUs


async def do_create_product(
    ctx: Ctx, actor: Actor, shop_id: str, data: ProductCreateIn
) -> ProductOut:
    """List a product with its SKUs in the actor's shop; each first price opens a history."""
    return await _create_product(ctx, await _own_shop(ctx, actor, shop_id), data)


async def create_product_for(ctx: Ctx, shop_id: str, data: ProductCreateIn) -> ProductOut:
    """List a product in a shop for a feature acting on the shop's behalf (a C2M campaign's
    product, once confirmed)."""
    return await _create_product(ctx, await _shop(ctx, shop_id), data)


async def set_product_hidden(ctx: Ctx, product_id: str) -> None:
    """Take a product off sale for a feature acting on its shop's behalf."""
    await ctx.db.execute(
        update(Product)
        .where(Product.id == product_id)
        .values(status=ProductStatus.HIDDEN)
        .execution_options(synchronize_session=False)
    )


async def _create_product(ctx: Ctx, shop: Shop, data: ProductCreateIn) -> ProductOut:
    await check_category(ctx, data.category)
    check_distinct_variants(sku.attributes for sku in data.skus)
    product = Product(
        id=new_id("prd"),
        shop_id=shop.id,
        title=data.title,
        description=data.description,
        images=[str(url) for url in data.images],
        category_slug=data.category,
        status=ProductStatus.ACTIVE,
        created_at=ctx.now(),
    )
    ctx.db.add(product)
    # Flushed table by table: no relationships tell the unit of work the insert order.
    await ctx.db.flush()
    skus = [_new_sku(product, sku, i, product.created_at) for i, sku in enumerate(data.skus)]
    await _save_new_skus(ctx, skus)
    return await _product_out(ctx, product, shop, everything=True)


async def do_update_product(
    ctx: Ctx, actor: Actor, product_id: str, data: ProductUpdateIn
) -> ProductOut:
    """Change a product's texts, images or category, or hide it from buyers (its owner only)."""
    product, shop = await _own_product(ctx, actor, product_id)
    if data.category is not None:
        await check_category(ctx, data.category)
        product.category_slug = data.category
    if data.title is not None:
        product.title = data.title
    if data.description is not None:
        product.description = data.description
    if data.images is not None:
        product.images = [str(url) for url in data.images]
    if data.status is not None:
        product.status = data.status
    await ctx.db.flush()
    return await _product_out(ctx, product, shop, everything=True)


async def do_add_sku(ctx: Ctx, actor: Actor, product_id: str, data: SkuIn) -> SkuOut:
    """Add a variant to the actor's product."""
    product, shop = await _own_product(ctx, actor, product_id)
    existing = list(await ctx.db.scalars(select(Sku).where(Sku.product_id == product.id)))
    if len(existing) >= MAX_SKUS_PER_PRODUCT:
        raise AppError.of(
            CatalogError.TOO_MANY_SKUS,
            f"a product has at most {MAX_SKUS_PER_PRODUCT} SKUs",
        )
    check_distinct_variants([*(sku.attributes for sku in existing), data.attributes])
    position = max(sku.position for sku in existing) + 1 if existing else 0
    sku = _new_sku(product, data, position, ctx.now())
    await _save_new_skus(ctx, [sku])
    return _sku_out(sku, shop.currency, {sku.id: sku.price_minor})


async def do_update_sku(ctx: Ctx, actor: Actor, sku_id: str, data: SkuUpdateIn) -> SkuOut:
    """Change a SKU's price, per-buyer limit or whether it is on sale (its owner only)."""
    sku, shop = await _own_sku(ctx, actor, sku_id)
    if data.price_minor is not None and data.price_minor != sku.price_minor:
        await _do_reprice(ctx, sku, data.price_minor)
    if "per_buyer_limit" in data.model_fields_set:
        sku.per_buyer_limit = data.per_buyer_limit
    if data.active is not None:
        sku.active = data.active
    await ctx.db.flush()
    return await _sku_out_now(ctx, sku, shop)


async def do_adjust_stock(ctx: Ctx, actor: Actor, sku_id: str, delta: int) -> SkuOut:
    """Put units on hand or write them off; never below zero nor above the ceiling."""
    sku, shop = await _own_sku(ctx, actor, sku_id)
    # Conditional UPDATE, because SQLite ignores FOR UPDATE and a checkout may be taking
    # units at this very moment: the guard is evaluated on the row as it is when written.
    guard = Sku.stock >= -delta if delta < 0 else Sku.stock <= MAX_STOCK - delta
    stock = await ctx.db.scalar(
        update(Sku)
        .where(Sku.id == sku.id, guard)
        .values(stock=Sku.stock + delta)
        .returning(Sku.stock)
        .execution_options(synchronize_session=False)
    )
    if stock is None:
        if delta < 0:
            raise AppError.of(
                CatalogError.INSUFFICIENT_STOCK,
                f"cannot remove {-delta} units: fewer are on hand",
            )
        raise AppError.of(CatalogError.STOCK_LIMIT, f"a SKU holds at most {MAX_STOCK} units")
    set_committed_value(sku, "stock", stock)
    return await _sku_out_now(ctx, sku, shop)


async def access_own_sku(ctx: Ctx, actor: Actor, sku_id: str) -> SkuOut:
    """Return a SKU of the actor's shop; refuse anybody else's."""
    sku, shop = await _own_sku(ctx, actor, sku_id)
    return await _sku_out_now(ctx, sku, shop)


async def sku_detail(ctx: Ctx, sku_id: str) -> SkuOut:
    """Return any shop's SKU as it is now; an unknown one is a 404."""
    return await _sku_out_now(ctx, *await _sku_and_shop(ctx, sku_id))


def check_distinct_variants(variants: Iterable[Mapping[str, Any]]) -> None:
    """Refuse two SKUs of one product with the same attributes."""
    seen: set[frozenset[tuple[str, Any]]] = set()
    for attributes in variants:
        key = frozenset(attributes.items())
        if key in seen:
            raise AppError.of(
                CatalogError.DUPLICATE_VARIANT,
                f"two SKUs have the same attributes {dict(attributes)}",
            )
        seen.add(key)


async def product_detail(ctx: Ctx, product_id: str, viewer: Actor | None) -> ProductOut:
    """Return a product as the viewer may see it: hidden things only for the owner."""
    row = (
        await ctx.db.execute(
            select(Product, Shop)
            .join(Shop, Shop.id == Product.shop_id)
            .where(Product.id == product_id)
        )
    ).first()
    if row is None:
        raise not_found("product")
    product, shop = row
    everything = _sees_everything(viewer, shop)
    if product.status != ProductStatus.ACTIVE and not everything:
        raise not_found("product")
    return await _product_out(ctx, product, shop, everything=everything)


async def browse_products(
    ctx: Ctx,
    viewer: Actor | None,
    *,
    q: str | None = None,
    category: str | None = None,
    shop_id: str | None = None,
    limit: int = 20,
    offset: int = 0,
) -> ProductPage:
    """List products, newest first, by category, shop and words of the title or description.

    Buyers see active products with at least one active SKU; a shop's owner listing that
    shop also sees its hidden products.
    """
    limit, offset = _bounded(limit), max(offset, 0)
    owner_view = False
    if shop_id is not None and viewer is not None:
        owner_id = await ctx.db.scalar(select(Shop.owner_id).where(Shop.id == shop_id))
        owner_view = viewer.id == owner_id or viewer.has(Role.OPERATOR)
    on_sale = [Sku.product_id == Product.id]
    conditions = []
    if not owner_view:
        on_sale.append(Sku.active.is_(True))
        conditions += [Product.status == ProductStatus.ACTIVE, exists().where(*on_sale)]
    if shop_id is not None:
        conditions.append(Product.shop_id == shop_id)
    if category is not None:
        conditions.append(Product.category_slug == category)
    for term in (q or "").split()[:MAX_SEARCH_TERMS]:
        pattern = f"%{_escape_like(term)}%"
        conditions.append(
            or_(
                Product.title.ilike(pattern, escape="\\"),
                Product.description.ilike(pattern, escape="\\"),
            )
        )
    lowest = select(func.min(Sku.price_minor)).where(*on_sale).scalar_subquery()
    total = await ctx.db.scalar(select(func.count(Product.id)).where(*conditions))
    rows = await ctx.db.execute(
        select(Product, Shop.name, Shop.currency, lowest)
        .join(Shop, Shop.id == Product.shop_id)
        .where(*conditions)
        .order_by(Product.created_at.desc(), Product.id)
        .limit(limit)
        .offset(offset)
    )
    items = [_list_item(*row) for row in rows]
    return ProductPage(items=items, total=total or 0, limit=limit, offset=offset)


async def product_cards(ctx: Ctx, product_ids: Iterable[str]) -> dict[str, ProductListItem]:
    """Return the listing card of each of these products that is on sale, in one read."""
    wanted = sorted(set(product_ids))
    if not wanted:
        return {}
    on_sale = [Sku.product_id == Product.id, Sku.active.is_(True)]
    lowest = select(func.min(Sku.price_minor)).where(*on_sale).scalar_subquery()
    rows = await ctx.db.execute(
        select(Product, Shop.name, Shop.currency, lowest)
        .join(Shop, Shop.id == Product.shop_id)
        .where(
            Product.id.in_(wanted),
            Product.status == ProductStatus.ACTIVE,
            exists().where(*on_sale),
        )
    )
    return {row[0].id: _list_item(*row) for row in rows}


def _list_item(
    product: Product, shop_name: str, currency: str, lowest_price: int | None
) -> ProductListItem:
    """Return a product's card in a listing."""
    return ProductListItem(
        id=product.id,
        shop_id=product.shop_id,
        shop_name=shop_name,
        title=product.title,
        image=product.images[0] if product.images else None,
        category=product.category_slug,
        status=ProductStatus(product.status),
        lowest_price_minor=lowest_price,
        currency=currency,
    )


async def products_on_sale_in(ctx: Ctx, shop_id: str, product_ids: Iterable[str]) -> set[str]:
    """Return those of the products that the shop has on sale (active), in one read."""
    rows = await ctx.db.scalars(
        select(Product.id).where(
            Product.id.in_(sorted(set(product_ids))),
            Product.shop_id == shop_id,
            Product.status == ProductStatus.ACTIVE,
        )
    )
    return set(rows)


async def product_categories(ctx: Ctx, product_ids: Iterable[str]) -> dict[str, str]:
    """Return the category slug of each of these products."""
    wanted = sorted(set(product_ids))
    if not wanted:
        return {}
    rows = await ctx.db.execute(_CATEGORIES_OF_PRODUCTS, {"ids": wanted})
    return {product_id: slug for product_id, slug in rows}


# Built once: the feed reads its rooms' categories every few seconds.
_CATEGORIES_OF_PRODUCTS = select(Product.id, Product.category_slug).where(
    Product.id.in_(bindparam("ids", expanding=True))
)


async def lowest_regular_price(ctx: Ctx, sku_id: str, days: int = WAS_PRICE_DAYS) -> int | None:
    """Return the SKU's lowest regular price of the last `days` days (flash and fan excluded)."""
    return (await _lowest_regular_prices(ctx, [sku_id], days)).get(sku_id)


async def _lowest_regular_prices(
    ctx: Ctx, sku_ids: list[str], days: int = WAS_PRICE_DAYS
) -> dict[str, int]:
    """Return the lowest regular price of each SKU over the spans overlapping the window."""
    if not sku_ids:
        return {}
    now = ctx.now()
    start = now - timedelta(days=days)
    rows = await ctx.db.execute(
        select(SkuPrice.sku_id, func.min(SkuPrice.price_minor))
        .where(
            SkuPrice.sku_id.in_(sku_ids),
            SkuPrice.kind == REGULAR,
            SkuPrice.valid_from <= now,
            or_(
                SkuPrice.valid_to.is_(None),
                # A span replaced in the instant it began was never a price anyone paid.
                and_(SkuPrice.valid_to > start, SkuPrice.valid_to > SkuPrice.valid_from),
            ),
        )
        .group_by(SkuPrice.sku_id)
    )
    return {sku_id: lowest for sku_id, lowest in rows}


async def _do_reprice(ctx: Ctx, sku: Sku, price_minor: int) -> None:
    """Close the open regular price span now and open one at the new price."""
    now = ctx.now()
    await ctx.db.execute(
        update(SkuPrice)
        .where(SkuPrice.sku_id == sku.id, SkuPrice.kind == REGULAR, SkuPrice.valid_to.is_(None))
        .values(valid_to=now)
        .execution_options(synchronize_session=False)
    )
    ctx.db.add(SkuPrice(sku_id=sku.id, kind=REGULAR, price_minor=price_minor, valid_from=now))
    sku.price_minor = price_minor


def _new_sku(product: Product, data: SkuIn, position: int, now: datetime) -> Sku:
    return Sku(
        id=new_id("sku"),
        product_id=product.id,
        shop_id=product.shop_id,
        attributes=dict(data.attributes),
        price_minor=data.price_minor,
        stock=data.stock,
        reserved=0,
        sold=0,
        returned_unsellable=0,
        per_buyer_limit=data.per_buyer_limit,
        active=True,
        position=position,
        created_at=now,
    )


async def _save_new_skus(ctx: Ctx, skus: list[Sku]) -> None:
    """Insert new SKUs, then the span of each one's first regular price."""
    ctx.db.add_all(skus)
    await ctx.db.flush()
    ctx.db.add_all(
        SkuPrice(
            sku_id=sku.id, kind=REGULAR, price_minor=sku.price_minor, valid_from=sku.created_at
        )
        for sku in skus
    )
    await ctx.db.flush()


async def _own_product(ctx: Ctx, actor: Actor, product_id: str) -> tuple[Product, Shop]:
    require_role(actor, Role.SELLER)
    row = (
        await ctx.db.execute(
            select(Product, Shop)
            .join(Shop, Shop.id == Product.shop_id)
            .where(Product.id == product_id)
        )
    ).first()
    if row is None:
        raise not_found("product")
    product, shop = row
    _check_owner(actor, shop)
    return product, shop


async def _own_sku(ctx: Ctx, actor: Actor, sku_id: str) -> tuple[Sku, Shop]:
    require_role(actor, Role.SELLER)
    sku, shop = await _sku_and_shop(ctx, sku_id)
    _check_owner(actor, shop)
    return sku, shop


async def _sku_and_shop(ctx: Ctx, sku_id: str) -> tuple[Sku, Shop]:
    """Return a SKU with its shop; an unknown one is a 404."""
    row = (
        await ctx.db.execute(
            select(Sku, Shop).join(Shop, Shop.id == Sku.shop_id).where(Sku.id == sku_id)
        )
    ).first()
    if row is None:
        raise not_found("SKU")
    sku, shop = row
    return sku, shop


def _sees_everything(viewer: Actor | None, shop: Shop) -> bool:
    """Tell whether the viewer sees hidden products and inactive SKUs: the owner, operators."""
    return viewer is not None and (viewer.id == shop.owner_id or viewer.has(Role.OPERATOR))


async def _product_out(ctx: Ctx, product: Product, shop: Shop, *, everything: bool) -> ProductOut:
    query = select(Sku).where(Sku.product_id == product.id).order_by(Sku.position, Sku.id)
    if not everything:
        query = query.where(Sku.active.is_(True))
    skus = list(await ctx.db.scalars(query))
    was = await _lowest_regular_prices(ctx, [sku.id for sku in skus])
    return ProductOut(
        id=product.id,
        shop_id=shop.id,
        shop_name=shop.name,
        title=product.title,
        description=product.description,
        images=list(product.images),
        category=product.category_slug,
        status=ProductStatus(product.status),
        created_at=product.created_at,
        skus=[_sku_out(sku, shop.currency, was) for sku in skus],
    )


async def _sku_out_now(ctx: Ctx, sku: Sku, shop: Shop) -> SkuOut:
    return _sku_out(sku, shop.currency, await _lowest_regular_prices(ctx, [sku.id]))


def _sku_out(sku: Sku, currency: str, was: Mapping[str, int]) -> SkuOut:
    return SkuOut(
        id=sku.id,
        product_id=sku.product_id,
        shop_id=sku.shop_id,
        attributes={str(k): str(v) for k, v in sku.attributes.items()},
        price_minor=sku.price_minor,
        # Without any recorded span (rows made outside this service) the price is all we know.
        was_price_minor=was.get(sku.id, sku.price_minor),
        currency=currency,
        stock=sku.stock,
        per_buyer_limit=sku.per_buyer_limit,
        active=sku.active,
    )


def _shop_out(shop: Shop) -> ShopOut:
    return ShopOut(
        id=shop.id,
        owner_id=shop.owner_id,
        name=shop.name,
        description=shop.description,
        verified=shop.verified,
        deposit_minor=shop.deposit_minor,
        currency=shop.currency,
        created_at=shop.created_at,
        trust_badge=bool(shop.trust_badge),
    )


def _category_out(category: Category) -> CategoryOut:
    return CategoryOut(
        slug=category.slug,
        name=category.name,
        return_window_days=category.return_window_days,
        position=category.position,
    )


def _escape_like(text: str) -> str:
    """Make LIKE's wildcards literal, so that a search for `50%` means fifty percent."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _bounded(limit: int) -> int:
    return min(max(limit, 1), MAX_PAGE)
