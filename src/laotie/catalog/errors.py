"""Error codes of the catalog feature."""

from enum import StrEnum


class CatalogError(StrEnum):
    """Why a catalog request was refused."""

    SHOP_NAME_TAKEN = "shop_name_taken"
    CATEGORY_EXISTS = "category_exists"
    CATEGORY_UNKNOWN = "category_unknown"
    DUPLICATE_VARIANT = "duplicate_variant"
    TOO_MANY_SKUS = "too_many_skus"
    INSUFFICIENT_STOCK = "insufficient_stock"
    STOCK_LIMIT = "stock_limit"
