"""Error codes of the catalog feature, and the HTTP status each answers."""

from enum import StrEnum

from laotie.core.errors import status_table


class CatalogError(StrEnum):
    """Why a catalog request was refused."""

    SHOP_NAME_TAKEN = "shop_name_taken"
    CATEGORY_EXISTS = "category_exists"
    CATEGORY_UNKNOWN = "category_unknown"
    DUPLICATE_VARIANT = "duplicate_variant"
    TOO_MANY_SKUS = "too_many_skus"
    INSUFFICIENT_STOCK = "insufficient_stock"
    STOCK_LIMIT = "stock_limit"


STATUS = status_table(
    CatalogError,
    {
        CatalogError.SHOP_NAME_TAKEN: 409,
        CatalogError.CATEGORY_EXISTS: 409,
        CatalogError.CATEGORY_UNKNOWN: 422,
        CatalogError.DUPLICATE_VARIANT: 409,
        CatalogError.TOO_MANY_SKUS: 422,
        CatalogError.INSUFFICIENT_STOCK: 409,
        CatalogError.STOCK_LIMIT: 409,
    },
)
