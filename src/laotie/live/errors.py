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
