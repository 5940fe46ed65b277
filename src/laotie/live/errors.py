"""Error codes of the live feature, and the HTTP status each answers.

The Idempotency-Key's codes are shared with checkout and live in
`laotie.core.errors.IdempotencyError`.
"""

from enum import StrEnum

from laotie.core.errors import status_table


class LiveError(StrEnum):
    """Why a live-room request was refused."""

    NOT_YOUR_SHOP = "not_your_shop"
    SHOW_WITHOUT_SHOP = "show_without_shop"
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
    TICKET_INVALID = "ticket_invalid"  # a WebSocket ticket forged, for another room, or lapsed
    BAD_FRAME = "bad_frame"
    SALE_RUNNING = "sale_running"
    SALE_NOT_RUNNING = "sale_not_running"
    PRICE_NOT_BELOW_WAS = "price_not_below_was"
    INSUFFICIENT_STOCK = "insufficient_stock"
    FLASH_SALES_NOT_ALLOWED = "flash_sales_not_allowed"
    SOLD_OUT = "sold_out"
    PER_BUYER_LIMIT = "per_buyer_limit"
    SALE_CLOSED = "sale_closed"
    # A fan price or a coupon asked on a flash sale's units: its price is everyone's.
    SALE_PRICE_ONLY = "sale_price_only"
    VISIT_NOT_YOURS = "visit_not_yours"


STATUS = status_table(
    LiveError,
    {
        LiveError.SHOW_WITHOUT_SHOP: 409,
        LiveError.NOT_YOUR_SHOP: 403,
        LiveError.ALREADY_LIVE: 409,
        LiveError.NOT_LIVE: 409,
        LiveError.INVALID_STATE: 409,
        LiveError.PRODUCT_NOT_IN_SHOP: 422,
        LiveError.PRODUCT_NOT_IN_CART: 422,
        LiveError.CART_FULL: 409,
        LiveError.BAD_SOURCE: 422,
        LiveError.CHAT_EMPTY: 422,
        LiveError.CHAT_TOO_LONG: 422,
        LiveError.CHAT_BLOCKED_WORD: 422,
        LiveError.CHAT_RATE_LIMITED: 429,
        LiveError.MUTED: 403,
        LiveError.BANNED: 403,
        LiveError.BAD_FRAME: 422,
        LiveError.SALE_RUNNING: 409,
        LiveError.SALE_NOT_RUNNING: 409,
        LiveError.PRICE_NOT_BELOW_WAS: 422,
        LiveError.INSUFFICIENT_STOCK: 409,
        LiveError.FLASH_SALES_NOT_ALLOWED: 403,
        LiveError.SOLD_OUT: 409,
        LiveError.PER_BUYER_LIMIT: 409,
        LiveError.SALE_CLOSED: 409,
        LiveError.SALE_PRICE_ONLY: 409,
        LiveError.TICKET_INVALID: 401,
        LiveError.VISIT_NOT_YOURS: 403,
    },
)
