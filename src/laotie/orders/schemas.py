"""Wire format of the orders feature."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from laotie.core.text import LongText, Name, Text


class OrderStatus(StrEnum):
    """Where an order is in its life (DESIGN.md's lifecycle)."""

    PENDING_PAYMENT = "pending_payment"
    PAID = "paid"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


class CaseKind(StrEnum):
    """What the buyer asks for."""

    REFUND_ONLY = "refund_only"
    RETURN_REFUND = "return_refund"


class ReasonCode(StrEnum):
    """Why a buyer asks for after-sales, beside the free text; trust and C2M count them."""

    QUALITY = "quality"
    NOT_AS_DESCRIBED = "not_as_described"
    SIZE_FIT = "size_fit"
    DAMAGED = "damaged"
    NO_REASON = "no_reason"  # within the no-reason return window
    OTHER = "other"


class FreightMode(StrEnum):
    """How a shop charges freight to a province."""

    FREE = "free"
    FLAT = "flat"  # amount_minor per order
    PER_UNIT = "per_unit"  # amount_minor per unit bought
    NOT_DELIVERED = "not_delivered"  # the shop does not ship there


class CaseStatus(StrEnum):
    """Where an after-sales case is; the first three keep the order from completing."""

    REQUESTED = "requested"
    REJECTED = "rejected"
    DISPUTED = "disputed"
    REFUNDED = "refunded"
    CLOSED = "closed"


OPEN_CASE_STATUSES = (CaseStatus.REQUESTED, CaseStatus.REJECTED, CaseStatus.DISPUTED)

MAX_QUANTITY = 10_000  # a hard ceiling; settings.max_quantity_per_line is the real limit


class LineIn(BaseModel):
    """A SKU and how many."""

    model_config = ConfigDict(extra="forbid")

    sku_id: Text = Field(min_length=1, max_length=32)
    quantity: int = Field(ge=1, le=MAX_QUANTITY)


class CheckoutIn(BaseModel):
    """Buy now or check out several lines; one order per shop."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"lines": [{"sku_id": "sku_x", "quantity": 1}]}]},
    )

    lines: list[LineIn] = Field(min_length=1, max_length=200)
    address_id: Text | None = Field(
        default=None, max_length=32, description="the buyer's address; the default if omitted"
    )
    coupon_claim_id: Text | None = Field(
        default=None,
        max_length=32,
        description="a claimed coupon this checkout redeems",
    )


class ShipToOut(BaseModel):
    """Where an order goes: names and codes of the divisions, and the city's tier."""

    recipient: str
    phone: str
    province_code: str
    province: str
    city_code: str
    city: str
    district_code: str | None
    district: str | None
    street: str
    city_tier: str


class CartCheckoutIn(BaseModel):
    """Where the cart's orders ship (the default address when omitted)."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"address_id": None}]}
    )

    address_id: Text | None = Field(default=None, max_length=32)


class OrderLineOut(BaseModel):
    """A line as bought."""

    id: str
    sku_id: str
    product_id: str
    title: str
    attributes: dict[str, Any]
    unit_price_minor: int
    quantity: int
    refunded_quantity: int
    anchor_id: str | None = None  # the anchor whose room sold it
    commission_bps: int = 0  # the anchor's commission on it: a pool product's rate


class OrderOut(BaseModel):
    """An order as its buyer or seller sees it."""

    id: str
    buyer_id: str
    shop_id: str
    status: OrderStatus
    currency: str
    total_minor: int
    refunded_minor: int
    channel: str
    live_session_id: str | None
    visit_id: str | None
    payment_id: str | None
    created_at: datetime
    expires_at: datetime
    paid_at: datetime | None
    ship_by: datetime | None
    shipped_at: datetime | None
    carrier: str | None
    tracking_no: str | None
    delivered_at: datetime | None
    return_deadline: datetime | None
    completed_at: datetime | None
    cancelled_at: datetime | None
    lines: list[OrderLineOut]
    # The shipping address as it was at checkout, and the freight included in total_minor.
    ship_to: ShipToOut | None = None
    freight_minor: int = 0
    city_tier: str | None = None
    # A coupon's discount, already taken off total_minor, and the claim it redeemed.
    discount_minor: int = 0
    coupon_claim_id: str | None = None


class CheckoutOut(BaseModel):
    """The orders a checkout made (or had made, when the key was used before)."""

    orders: list[OrderOut]
    replayed: bool = False


class OrderEventOut(BaseModel):
    """One entry of an order's history."""

    id: int
    kind: str = Field(description="One of the order event kinds listed in docs/events.md.")
    actor_id: str | None
    data: dict[str, Any]
    created_at: datetime


class ShipmentIn(BaseModel):
    """How the seller sent the parcel."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"carrier": "SF Express", "tracking_no": "SF1234567890"}]},
    )

    carrier: Name = Field(max_length=40)
    tracking_no: Text = Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9\-]+$")


class PaymentIn(BaseModel):
    """The orders to pay in one go."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"order_ids": ["ord_x"]}]}
    )

    order_ids: list[Text] = Field(min_length=1, max_length=50)


class PaymentOut(BaseModel):
    """A payment and where the buyer pays it."""

    id: str
    status: str
    amount_minor: int
    currency: str
    provider: str
    order_ids: list[str]
    pay_url: str


class CaseLineIn(BaseModel):
    """Part of an order line to refund."""

    model_config = ConfigDict(extra="forbid")

    line_id: Text = Field(min_length=1, max_length=32)
    quantity: int = Field(ge=1, le=MAX_QUANTITY)


class CaseIn(BaseModel):
    """A refund or return request; no lines means every unrefunded unit of the order."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"kind": "return_refund", "reason": "does not fit"}]},
    )

    kind: CaseKind
    reason_code: ReasonCode = ReasonCode.OTHER
    reason: LongText = Field(default="", max_length=500)
    lines: list[CaseLineIn] | None = Field(default=None, max_length=200)


class CaseResponseIn(BaseModel):
    """The seller's answer to a return request."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"approve": True, "note": "sorry"}]}
    )

    approve: bool
    note: LongText = Field(default="", max_length=500)


class EscalationIn(BaseModel):
    """The buyer's reason to ask an operator."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "item arrived broken"}]}
    )

    reason: LongText = Field(default="", max_length=500)


class DecisionIn(BaseModel):
    """An operator's ruling on a dispute."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"refund": True, "note": "photos"}]}
    )

    refund: bool
    note: LongText = Field(default="", max_length=500)


class RestockIn(BaseModel):
    """Whether returned units can be sold again."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"resellable": True}]}
    )

    resellable: bool


class CaseOut(BaseModel):
    """An after-sales case."""

    id: str
    order_id: str
    buyer_id: str
    shop_id: str
    kind: CaseKind
    status: CaseStatus
    reason_code: ReasonCode
    reason: str
    lines: list[dict[str, Any]]
    amount_minor: int
    # Paid to the buyer by the platform when the case opened: a trust-badge shop.
    advanced_minor: int = 0
    respond_by: datetime | None
    seller_note: str
    operator_note: str
    restock: str | None
    created_at: datetime
    closed_at: datetime | None


class CartItemIn(BaseModel):
    """How many of a SKU the cart holds."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"quantity": 2}]})

    quantity: int = Field(ge=1, le=MAX_QUANTITY)


class CartItemOut(BaseModel):
    """A cart line."""

    sku_id: str
    quantity: int


class BalanceOut(BaseModel):
    """What a shop is owed: held until orders complete, and released."""

    shop_id: str
    currency: str
    held_minor: int
    released_minor: int


Code6 = Annotated[str, Field(pattern=r"^[0-9]{6}$", description="GB/T 2260 division code")]


class AddressIn(BaseModel):
    """An address book entry; the codes must name one province, city and district."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "recipient": "张三",
                    "phone": "13800138000",
                    "province_code": "330000",
                    "city_code": "330100",
                    "district_code": "330106",
                    "street": "文三路 90 号",
                    "is_default": True,
                }
            ]
        },
    )

    recipient: Name = Field(min_length=1, max_length=40)
    phone: Text = Field(pattern=r"^\+?[0-9][0-9 -]{4,18}[0-9]$", max_length=20)
    province_code: Code6
    city_code: Code6
    district_code: Code6 | None = Field(default=None, description="none for a city without")
    street: Name = Field(min_length=1, max_length=200)
    is_default: bool = False


class AddressPatchIn(BaseModel):
    """Change some fields of an address; the codes are checked together."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"street": "2 Rd"}]})

    recipient: Name | None = Field(default=None, min_length=1, max_length=40)
    phone: Text | None = Field(default=None, pattern=r"^\+?[0-9][0-9 -]{4,18}[0-9]$")
    province_code: Code6 | None = None
    city_code: Code6 | None = None
    district_code: Code6 | None = None
    street: Name | None = Field(default=None, min_length=1, max_length=200)


class AddressOut(ShipToOut):
    """An entry of the buyer's address book."""

    id: str
    is_default: bool


class FreightRuleIn(BaseModel):
    """Freight to one province (or everywhere not listed)."""

    model_config = ConfigDict(extra="forbid")

    mode: FreightMode
    amount_minor: int = Field(default=0, ge=0, le=100_000_000)


class FreightTemplateIn(BaseModel):
    """A shop's freight: a rule for every province not listed, and rules by province code."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "default": {"mode": "flat", "amount_minor": 800},
                    "provinces": {
                        "330000": {"mode": "free"},
                        "540000": {"mode": "not_delivered"},
                    },
                }
            ]
        },
    )

    default: FreightRuleIn = Field(default_factory=lambda: FreightRuleIn(mode=FreightMode.FREE))
    provinces: dict[str, FreightRuleIn] = Field(default_factory=dict, max_length=40)


class FreightTemplateOut(FreightTemplateIn):
    """A shop's freight template (free everywhere until the shop sets one)."""

    shop_id: str


class FreightQuoteOut(BaseModel):
    """What a cart would cost shipped to an address, per shop, before anything is reserved."""

    address_id: str
    currency: str
    goods_minor: int
    freight_minor: int
    total_minor: int
    shops: list[dict[str, Any]]


class PayoutAccountIn(BaseModel):
    """Where a shop's payouts go."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"holder_name": "Old Iron Tea", "account_no": "6222-0001"}]
        },
    )

    holder_name: Name = Field(min_length=1, max_length=80)
    account_no: Text = Field(min_length=4, max_length=64, pattern=r"^[A-Za-z0-9-]+$")


class PayoutAccountOut(BaseModel):
    """A shop's or an anchor's payout account."""

    shop_id: str | None = None
    anchor_id: str | None = None
    holder_name: str
    account_no: str
    updated_at: datetime


class PayoutIn(BaseModel):
    """How much of the released balance to withdraw, in minor units."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"amount_minor": 1}]})

    amount_minor: int = Field(ge=1, le=9_000_000_000_000_000)


# A top-up is at least 1.00 and at most 100,000.00 (in minor units).
MIN_TOP_UP_MINOR = 100
MAX_TOP_UP_MINOR = 10_000_000


class TopUpIn(BaseModel):
    """How much to pay into the shop's released balance, in minor units."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"amount_minor": 50_000}]}
    )

    amount_minor: int = Field(ge=MIN_TOP_UP_MINOR, le=MAX_TOP_UP_MINOR)


class TopUpOut(BaseModel):
    """A payment into a shop's balance: paid at `pay_url`, credited once it succeeds."""

    payment_id: str
    shop_id: str
    purpose: str  # balance | deposit: what it pays into
    amount_minor: int
    currency: str
    status: str  # the payment's: pending | succeeded | failed
    created_at: datetime
    credited_at: datetime | None
    pay_url: str


class PayoutOut(BaseModel):
    """A withdrawal: requested, then paid or failed (its money back in the balance)."""

    id: str
    shop_id: str | None  # a shop's balance, or
    anchor_id: str | None = None  # an anchor's commissions
    status: str
    amount_minor: int
    currency: str
    account_no: str
    failure_reason: str | None
    created_at: datetime
    settled_at: datetime | None


class Funder(StrEnum):
    """Who pays a coupon's discount: the shop, or the platform (issued by an operator)."""

    SHOP = "shop"
    PLATFORM = "platform"


class CouponIn(BaseModel):
    """A batch of coupons for an anchor's fans, good at one shop until it expires."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "shop_id": "shp_x",
                    "title": "Fans' thank-you",
                    "amount_off_minor": 1_000,
                    "min_spend_minor": 0,
                    "quantity": 100,
                    "min_fan_level": 1,
                    "expires_at": "2099-01-01T00:00:00Z",
                }
            ]
        },
    )

    shop_id: Text = Field(min_length=1, max_length=32)
    title: Name = Field(min_length=1, max_length=80)
    amount_off_minor: int = Field(gt=0, le=10**12)
    min_spend_minor: int = Field(default=0, ge=0, le=10**12)
    quantity: int = Field(gt=0, le=1_000_000)
    min_fan_level: int = Field(default=1, ge=1, le=10)
    expires_at: datetime
    funder: Funder = Funder.SHOP
    anchor_id: Text | None = Field(
        default=None,
        max_length=32,
        description="whose fans may claim (default: the issuer)",
    )


class CouponOut(BaseModel):
    """A coupon batch: what it takes off, for whom, how many are left."""

    id: str
    shop_id: str
    anchor_id: str
    title: str
    amount_off_minor: int
    min_spend_minor: int
    currency: str
    min_fan_level: int
    quantity: int
    claimed: int
    funder: Funder
    expires_at: datetime


class ClaimOut(BaseModel):
    """A fan's coupon, and the order that redeemed it, if any."""

    id: str
    coupon: CouponOut
    claimed_at: datetime
    order_id: str | None
    redeemed_at: datetime | None


class CommissionLineOut(BaseModel):
    """A line an anchor sold for another shop, and what it earns or earned."""

    order_id: str
    order_status: str
    shop_id: str
    title: str
    quantity: int
    refunded_quantity: int
    unit_price_minor: int
    commission_bps: int
    commission_minor: int  # on the units kept; final once the order completed
    state: str  # pending (the order is still open), released, or none (all refunded)
    created_at: datetime


class CommissionsOut(BaseModel):
    """An anchor's commissions: pending on open orders, released into its balance, and
    what it can withdraw."""

    anchor_id: str
    currency: str
    pending_minor: int
    released_minor: int
    balance_minor: int  # released, less what was withdrawn or is on its way
    lines: list[CommissionLineOut]
