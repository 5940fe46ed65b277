"""Error codes of the live feature."""

from enum import StrEnum


class LiveError(StrEnum):
    """Why a live-room request was refused."""

    NOT_YOUR_SHOP = "not_your_shop"
    ALREADY_LIVE = "already_live"
    NOT_LIVE = "not_live"
    INVALID_STATE = "invalid_state"
    PRODUCT_NOT_IN_SHOP = "product_not_in_shop"
    PRODUCT_NOT_IN_CART = "product_not_in_cart"
    CART_FULL = "cart_full"
    BAD_SOURCE = "bad_source"
    CHAT_EMPTY = "chat_empty"
    CHAT_TOO_LONG = "chat_too_long"
    CHAT_BLOCKED_WORD = "chat_blocked_word"
    CHAT_RATE_LIMITED = "chat_rate_limited"
    MUTED = "muted"
    BANNED = "banned"
    BAD_FRAME = "bad_frame"
    SALE_RUNNING = "sale_running"
    SALE_NOT_RUNNING = "sale_not_running"
    PRICE_NOT_BELOW_WAS = "price_not_below_was"
    INSUFFICIENT_STOCK = "insufficient_stock"
    FLASH_SALES_NOT_ALLOWED = "flash_sales_not_allowed"
    SOLD_OUT = "sold_out"
    PER_BUYER_LIMIT = "per_buyer_limit"
    SALE_CLOSED = "sale_closed"
    KEY_RELEASED = "idempotency_key_released"
    KEY_MISMATCH = "idempotency_key_reused"
    VISIT_NOT_YOURS = "visit_not_yours"
