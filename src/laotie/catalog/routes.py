"""HTTP API of the catalog feature: shops, categories, products, SKUs and stock."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, status

from laotie.accounts.deps import ActorDep, MaybeActorDep
from laotie.catalog import service, views
from laotie.catalog.errors import CatalogError
from laotie.catalog.schemas import (
    MAX_PAGE,
    CategoryIn,
    CategoryOut,
    ProductCreateIn,
    ProductOut,
    ProductPage,
    ProductUpdateIn,
    ShopCreateIn,
    ShopOut,
    ShopUpdateIn,
    ShopVerificationIn,
    SkuIn,
    SkuOut,
    SkuUpdateIn,
    StockAdjustmentIn,
)
from laotie.core.deps import CtxDep, Offset
from laotie.core.errors import CommonError
from laotie.core.openapi import errors

router = APIRouter(prefix="/api", tags=["catalog"])

Limit = Annotated[int, Query(ge=1, le=MAX_PAGE)]
# Ids are a prefix and URL-safe base64; anything else cannot name a thing.
ID_PATTERN = r"^[A-Za-z0-9_-]{1,40}$"
IdFilter = Annotated[str | None, Query(pattern=ID_PATTERN)]
ShopId = Annotated[str, Path(pattern=ID_PATTERN)]
ProductId = Annotated[str, Path(pattern=ID_PATTERN)]
SkuId = Annotated[str, Path(pattern=ID_PATTERN)]


@router.post(
    "/shops",
    status_code=status.HTTP_201_CREATED,
    response_model=ShopOut,
    responses=errors(CommonError.FORBIDDEN, CatalogError.SHOP_NAME_TAKEN),
)
async def create_shop(body: ShopCreateIn, actor: ActorDep, ctx: CtxDep) -> ShopOut:
    """Open a shop (sellers)."""
    return await service.do_create_shop(ctx, actor, body)


@router.get("/shops", status_code=status.HTTP_200_OK, response_model=list[ShopOut])
async def list_shops(
    ctx: CtxDep,
    owner_id: IdFilter = None,
    verified: bool | None = None,
    limit: Limit = 20,
    offset: Offset = 0,
) -> list[ShopOut]:
    """List shops, optionally of one owner or by verification."""
    return await service.list_shops(
        ctx, owner_id=owner_id, verified=verified, limit=limit, offset=offset
    )


@router.get(
    "/shops/{shop_id}",
    status_code=status.HTTP_200_OK,
    response_model=ShopOut,
    responses=errors(CommonError.NOT_FOUND),
)
async def get_shop(
    shop_id: ShopId, request: Request, viewer: MaybeActorDep, ctx: CtxDep
) -> ShopOut:
    """Show a shop."""
    shop = await service.get_shop(ctx, shop_id)
    views.queue_shop_view(request, ctx, views.viewer_key(request, viewer), shop.id)
    return shop


@router.patch(
    "/shops/{shop_id}",
    status_code=status.HTTP_200_OK,
    response_model=ShopOut,
    responses=errors(CommonError.NOT_FOUND, CommonError.FORBIDDEN, CatalogError.SHOP_NAME_TAKEN),
)
async def update_shop(shop_id: ShopId, body: ShopUpdateIn, actor: ActorDep, ctx: CtxDep) -> ShopOut:
    """Rename a shop or change its description (its owner)."""
    return await service.do_update_shop(ctx, actor, shop_id, body)


@router.post(
    "/shops/{shop_id}/verification",
    status_code=status.HTTP_200_OK,
    response_model=ShopOut,
    responses=errors(CommonError.NOT_FOUND, CommonError.FORBIDDEN),
)
async def set_verification(
    shop_id: ShopId, body: ShopVerificationIn, actor: ActorDep, ctx: CtxDep
) -> ShopOut:
    """Mark a shop verified or not (operators)."""
    return await service.do_set_verification(ctx, actor, shop_id, body)


@router.get("/categories", status_code=status.HTTP_200_OK, response_model=list[CategoryOut])
async def list_categories(ctx: CtxDep) -> list[CategoryOut]:
    """List the browsing categories."""
    return await service.list_categories(ctx)


@router.post(
    "/categories",
    status_code=status.HTTP_201_CREATED,
    response_model=CategoryOut,
    responses=errors(CommonError.FORBIDDEN, CatalogError.CATEGORY_EXISTS),
)
async def create_category(body: CategoryIn, actor: ActorDep, ctx: CtxDep) -> CategoryOut:
    """Add a browsing category (operators)."""
    return await service.do_create_category(ctx, actor, body)


@router.post(
    "/shops/{shop_id}/products",
    status_code=status.HTTP_201_CREATED,
    response_model=ProductOut,
    responses=errors(
        CommonError.NOT_FOUND,
        CommonError.FORBIDDEN,
        CatalogError.CATEGORY_UNKNOWN,
        CatalogError.DUPLICATE_VARIANT,
        CatalogError.TOO_MANY_SKUS,
        CatalogError.STOCK_LIMIT,
    ),
)
async def create_product(
    shop_id: ShopId, body: ProductCreateIn, actor: ActorDep, ctx: CtxDep
) -> ProductOut:
    """List a product with its SKUs (the shop's owner)."""
    return await service.do_create_product(ctx, actor, shop_id, body)


@router.get(
    "/products",
    status_code=status.HTTP_200_OK,
    response_model=ProductPage,
    responses=errors(CatalogError.CATEGORY_UNKNOWN),
)
async def browse_products(
    ctx: CtxDep,
    viewer: MaybeActorDep,
    q: Annotated[str | None, Query(max_length=100, pattern=r"^[^\x00]*$")] = None,
    category: Annotated[str | None, Query(max_length=40)] = None,
    shop_id: IdFilter = None,
    limit: Limit = 20,
    offset: Offset = 0,
) -> ProductPage:
    """Browse and search products on sale; a shop's owner also sees its hidden ones."""
    return await service.browse_products(
        ctx, viewer, q=q, category=category, shop_id=shop_id, limit=limit, offset=offset
    )


@router.get(
    "/products/{product_id}",
    status_code=status.HTTP_200_OK,
    response_model=ProductOut,
    responses=errors(CommonError.NOT_FOUND),
)
async def get_product(
    product_id: ProductId, request: Request, viewer: MaybeActorDep, ctx: CtxDep
) -> ProductOut:
    """Show a product with its SKUs, prices, was-prices and units on hand."""
    product = await service.product_detail(ctx, product_id, viewer)
    views.queue_product_view(request, ctx, views.viewer_key(request, viewer), product)
    return product


@router.patch(
    "/products/{product_id}",
    status_code=status.HTTP_200_OK,
    response_model=ProductOut,
    responses=errors(CommonError.NOT_FOUND, CommonError.FORBIDDEN, CatalogError.CATEGORY_UNKNOWN),
)
async def update_product(
    product_id: ProductId, body: ProductUpdateIn, actor: ActorDep, ctx: CtxDep
) -> ProductOut:
    """Change a product, or hide it from buyers (the shop's owner)."""
    return await service.do_update_product(ctx, actor, product_id, body)


@router.post(
    "/products/{product_id}/skus",
    status_code=status.HTTP_201_CREATED,
    response_model=SkuOut,
    responses=errors(
        CommonError.NOT_FOUND,
        CommonError.FORBIDDEN,
        CatalogError.DUPLICATE_VARIANT,
        CatalogError.TOO_MANY_SKUS,
        CatalogError.STOCK_LIMIT,
    ),
)
async def add_sku(product_id: ProductId, body: SkuIn, actor: ActorDep, ctx: CtxDep) -> SkuOut:
    """Add a variant to a product (the shop's owner)."""
    return await service.do_add_sku(ctx, actor, product_id, body)


@router.patch(
    "/skus/{sku_id}",
    status_code=status.HTTP_200_OK,
    response_model=SkuOut,
    responses=errors(CommonError.NOT_FOUND, CommonError.FORBIDDEN),
)
async def update_sku(sku_id: SkuId, body: SkuUpdateIn, actor: ActorDep, ctx: CtxDep) -> SkuOut:
    """Change a SKU's price, per-buyer limit or whether it is on sale (the shop's owner)."""
    return await service.do_update_sku(ctx, actor, sku_id, body)


@router.post(
    "/skus/{sku_id}/stock-adjustments",
    status_code=status.HTTP_200_OK,
    response_model=SkuOut,
    responses=errors(
        CommonError.NOT_FOUND,
        CommonError.FORBIDDEN,
        CatalogError.INSUFFICIENT_STOCK,
        CatalogError.STOCK_LIMIT,
    ),
)
async def adjust_stock(
    sku_id: SkuId, body: StockAdjustmentIn, actor: ActorDep, ctx: CtxDep
) -> SkuOut:
    """Put units on hand or write them off (the shop's owner)."""
    return await service.do_adjust_stock(ctx, actor, sku_id, body.delta)
