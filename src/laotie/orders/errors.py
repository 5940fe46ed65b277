"""Error codes of the orders feature, and the HTTP status each answers.

The Idempotency-Key's codes are shared with the live rooms' orders and live in
`laotie.core.errors.IdempotencyError`.
"""

from enum import StrEnum

from laotie.core.errors import status_table


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
    INVALID_STATE = "invalid_state"
    CURRENCY_MISMATCH = "currency_mismatch"
    BAD_SIGNATURE = "bad_signature"
    WEBHOOK_MISMATCH = "webhook_mismatch"
    UNKNOWN_PROVIDER = "unknown_provider"
    RETURN_WINDOW_CLOSED = "return_window_closed"
    CASE_OPEN = "case_open"
    REFUND_EXCEEDS_PAID = "refund_exceeds_paid"
    LINE_NOT_IN_ORDER = "line_not_in_order"
    UNKNOWN_PROVINCE = "unknown_province"
    UNKNOWN_CITY = "unknown_city"
    UNKNOWN_DISTRICT = "unknown_district"
    ADDRESS_NOT_FOUND = "address_not_found"
    ADDRESS_REQUIRED = "address_required"
    ADDRESS_BOOK_FULL = "address_book_full"
    NOT_DELIVERED_THERE = "not_delivered_there"
    PAYMENT_DECIDED = "payment_decided"
    PAYOUT_ACCOUNT_MISSING = "payout_account_missing"
    BALANCE_TOO_LOW = "balance_too_low"
    SHOP_SUSPENDED = "shop_suspended"
    COUPON_NOT_FOUND = "coupon_not_found"
    COUPON_USED = "coupon_used"
    COUPON_EXPIRED = "coupon_expired"
    COUPONS_GONE = "coupons_gone"
    COUPON_MIN_SPEND = "coupon_min_spend"
    COUPON_WRONG_SHOP = "coupon_wrong_shop"


STATUS = status_table(
    OrderError,
    {
        OrderError.EMPTY_CHECKOUT: 422,
        OrderError.TOO_MANY_LINES: 422,
        OrderError.QUANTITY_INVALID: 422,
        OrderError.SKU_NOT_FOUND: 404,
        OrderError.NOT_ON_SALE: 409,
        OrderError.SHOP_SUSPENDED: 409,
        OrderError.OUT_OF_STOCK: 409,
        OrderError.PER_BUYER_LIMIT: 409,
        OrderError.OWN_SHOP: 403,
        OrderError.INVALID_STATE: 409,
        OrderError.CURRENCY_MISMATCH: 422,
        OrderError.BAD_SIGNATURE: 400,
        OrderError.WEBHOOK_MISMATCH: 400,
        OrderError.UNKNOWN_PROVIDER: 404,
        OrderError.RETURN_WINDOW_CLOSED: 409,
        OrderError.CASE_OPEN: 409,
        OrderError.REFUND_EXCEEDS_PAID: 409,
        OrderError.LINE_NOT_IN_ORDER: 422,
        OrderError.UNKNOWN_PROVINCE: 422,
        OrderError.UNKNOWN_CITY: 422,
        OrderError.UNKNOWN_DISTRICT: 422,
        OrderError.ADDRESS_NOT_FOUND: 404,
        OrderError.ADDRESS_REQUIRED: 422,
        OrderError.ADDRESS_BOOK_FULL: 409,
        OrderError.NOT_DELIVERED_THERE: 422,
        OrderError.PAYMENT_DECIDED: 409,
        OrderError.PAYOUT_ACCOUNT_MISSING: 409,
        OrderError.BALANCE_TOO_LOW: 409,
        OrderError.COUPON_NOT_FOUND: 404,
        OrderError.COUPON_USED: 409,
        OrderError.COUPON_EXPIRED: 409,
        OrderError.COUPONS_GONE: 409,
        OrderError.COUPON_MIN_SPEND: 422,
        OrderError.COUPON_WRONG_SHOP: 422,
    },
)

# What redeeming a coupon at checkout may answer, in a shelf or a room order.
COUPON_ERRORS = (
    OrderError.COUPON_NOT_FOUND,
    OrderError.COUPON_USED,
    OrderError.COUPON_EXPIRED,
    OrderError.COUPON_MIN_SPEND,
    OrderError.COUPON_WRONG_SHOP,
)
