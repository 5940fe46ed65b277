"""Error codes of the orders feature."""

from enum import StrEnum


class OrderError(StrEnum):
    """Why an order, payment or after-sales request was refused."""

    EMPTY_CHECKOUT = "empty_checkout"
    TOO_MANY_LINES = "too_many_lines"
    QUANTITY_INVALID = "quantity_invalid"
    SKU_NOT_FOUND = "sku_not_found"
    NOT_ON_SALE = "not_on_sale"
    OUT_OF_STOCK = "out_of_stock"
    PER_BUYER_LIMIT = "per_buyer_limit"
    OWN_SHOP = "own_shop"
    IDEMPOTENCY_KEY_MISSING = "idempotency_key_missing"
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
    INVALID_STATE = "invalid_state"
    CURRENCY_MISMATCH = "currency_mismatch"
    BAD_SIGNATURE = "bad_signature"
    UNKNOWN_PROVIDER = "unknown_provider"
    RETURN_WINDOW_CLOSED = "return_window_closed"
    CASE_OPEN = "case_open"
    REFUND_EXCEEDS_PAID = "refund_exceeds_paid"
    LINE_NOT_IN_ORDER = "line_not_in_order"
    PAYMENT_DECIDED = "payment_decided"
    PAYOUT_ACCOUNT_MISSING = "payout_account_missing"
    BALANCE_TOO_LOW = "balance_too_low"
