"""Tables of the orders feature: orders, their events, payments, the ledger, after-sales."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from laotie.db.base import Base, UTCDateTime


class Order(Base):
    """One shop's part of a checkout; the unit of payment release and after-sales."""

    __tablename__ = "orders"
    __table_args__ = (
        # Same checkout key from the same buyer: the same orders, never a second reservation.
        UniqueConstraint("buyer_id", "checkout_key", "shop_id"),
        CheckConstraint("total_minor >= 0", name="total_not_negative"),
        CheckConstraint(
            "refunded_minor >= 0 AND refunded_minor <= total_minor", name="refund_within_total"
        ),
        Index("ix_orders_buyer", "buyer_id", "created_at"),
        Index("ix_orders_shop", "shop_id", "status"),
        Index("ix_orders_status_expires", "status", "expires_at"),
        Index("ix_orders_payment", "payment_id"),
        # A live session's orders: its counters, its minutes and its review.
        Index("ix_orders_live_session", "live_session_id", "created_at"),
        Index("ix_orders_ship_by", "ship_by"),
        # The GMV identity's and the rollups' reads: the orders paid in a range of days.
        Index("ix_orders_paid", "paid_at"),
        # A shop's orders paid in a range of days: its repurchase, cohorts and RFM, and its
        # GMV identity read raw (otherwise every order of the shop, ever, is read).
        Index("ix_orders_shop_paid", "shop_id", "paid_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    buyer_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id"))
    status: Mapped[str] = mapped_column(String(24))
    currency: Mapped[str] = mapped_column(String(3))
    total_minor: Mapped[int] = mapped_column(BigInteger)
    refunded_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    checkout_key: Mapped[str] = mapped_column(String(80))
    # Channel: "shelf", or "live" with the live session and the visit the order came from.
    channel: Mapped[str] = mapped_column(String(16), default="shelf")
    live_session_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    visit_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # Where the checkout came from: the client's address and device, for brushing detection.
    client_ip: Mapped[str | None] = mapped_column(String(64), nullable=True)
    device_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    payment_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    return_window_days: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ship_by: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    carrier: Mapped[str | None] = mapped_column(String(40), nullable=True)
    tracking_no: Mapped[str | None] = mapped_column(String(64), nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    return_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # A copy of the shipping address as it was at checkout (later edits do not move it),
    # the freight (part of total_minor) and the destination city's tier.
    ship_to: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    freight_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    city_tier: Mapped[str | None] = mapped_column(String(16), nullable=True)
    # A coupon's discount (taken off total_minor, which is what the buyer pays), its claim,
    # and the ledger account that pays it: the shop's own, or the platform's promotions.
    discount_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    coupon_claim_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    discount_account: Mapped[str | None] = mapped_column(String(48), nullable=True)
    # When the discount is a deposit the buyer paid earlier (a C2M balance): its payment,
    # through which the deposit goes back when the units are refunded.
    prepaid_payment_id: Mapped[str | None] = mapped_column(String(32), nullable=True)


class OrderLine(Base):
    """A SKU and quantity in an order, with the title and price as they were when bought."""

    __tablename__ = "order_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint(
            "refunded_quantity >= 0 AND refunded_quantity <= quantity", name="refund_within_qty"
        ),
        CheckConstraint("unit_price_minor >= 0", name="price_not_negative"),
        Index("ix_order_lines_order", "order_id"),
        Index("ix_order_lines_sku", "sku_id"),
        # A flash sale's orders, which its reconciler reads every few seconds while it runs.
        Index("ix_order_lines_flash_sale", "flash_sale_id"),
        # An anchor's commissions: the lines it sold for other shops.
        Index("ix_order_lines_anchor", "anchor_id", "commission_bps"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"))
    sku_id: Mapped[str] = mapped_column(ForeignKey("skus.id"))
    product_id: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(200))
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    unit_price_minor: Mapped[int] = mapped_column(BigInteger)
    quantity: Mapped[int] = mapped_column(Integer)
    refunded_quantity: Mapped[int] = mapped_column(Integer, default=0)
    # Set when the units came through a flash sale's gate rather than the SKU's stock.
    flash_sale_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # The anchor whose room sold the line, and the commission it earns on what the buyer
    # keeps (a pool product's rate in force when the order was placed; 0 for its own shop's).
    anchor_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    commission_bps: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class OrderEvent(Base):
    """An append-only record of every state change of an order; trust and analytics read it."""

    __tablename__ = "order_events"
    __table_args__ = (Index("ix_order_events_order", "order_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"))
    kind: Mapped[str] = mapped_column(String(40))
    actor_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Payment(Base):
    """A buyer's payment for one or more orders of a checkout, through a provider."""

    __tablename__ = "payments"
    __table_args__ = (CheckConstraint("amount_minor > 0", name="amount_positive"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    buyer_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    provider: Mapped[str] = mapped_column(String(24))
    status: Mapped[str] = mapped_column(String(16))  # pending | succeeded | failed | void
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    provider_ref: Mapped[str | None] = mapped_column(String(64), nullable=True)
    order_ids: Mapped[list[str]] = mapped_column(JSON)
    # What a payment of no orders pays for, settled by its feature (`orders/purposes.py`);
    # None for orders and for a shop's top-ups.
    purpose: Mapped[str | None] = mapped_column(String(24), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class TopUp(Base):
    """A payment a seller makes into its own shop's money: its balance, to buy reach with,
    or its security deposit. The payment (with no orders) says what was paid; this row says
    for which shop and into what, and when it was credited (once, on the provider's word
    that it was paid)."""

    __tablename__ = "top_ups"
    __table_args__ = (Index("ix_top_ups_shop", "shop_id", "created_at"),)

    payment_id: Mapped[str] = mapped_column(ForeignKey("payments.id"), primary_key=True)
    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id"))
    purpose: Mapped[str] = mapped_column(String(16), default="balance")  # balance | deposit
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    credited_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class WebhookReceipt(Base):
    """A provider event already applied, so that a replayed webhook takes effect once."""

    __tablename__ = "webhook_receipts"

    event_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    provider: Mapped[str] = mapped_column(String(24))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Refund(Base):
    """Money sent back to a buyer through the provider: of an order, or of a payment with
    a purpose (no order)."""

    __tablename__ = "refunds"
    __table_args__ = (
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        Index("ix_refunds_order", "order_id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    order_id: Mapped[str | None] = mapped_column(ForeignKey("orders.id"), nullable=True)
    payment_id: Mapped[str] = mapped_column(ForeignKey("payments.id"))
    case_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    provider_ref: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LedgerEntry(Base):
    """One leg of a ledger transaction: debits positive, credits negative; a transaction sums to 0.

    Each leg carries its transaction's id, kind, order and time, so that a transaction is
    written in one statement (a table of transactions beside would take a second).
    """

    __tablename__ = "ledger_entries"
    __table_args__ = (
        Index("ix_ledger_entries_account", "account"),
        Index("ix_ledger_entries_txn", "txn_id"),
        Index("ix_ledger_entries_order", "order_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    txn_id: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(24))
    order_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    account: Mapped[str] = mapped_column(String(80))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AfterSalesCase(Base):
    """A buyer's refund or return request, the seller's answer, and a dispute if escalated."""

    __tablename__ = "aftersales_cases"
    __table_args__ = (
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        Index("ix_aftersales_order", "order_id"),
        Index("ix_aftersales_shop_status", "shop_id", "status"),
        Index("ix_aftersales_status_respond", "status", "respond_by"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"))
    buyer_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id"))
    kind: Mapped[str] = mapped_column(String(16))  # refund_only | return_refund
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")
    reason_code: Mapped[str] = mapped_column(String(24), default="other")
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # [{"line_id", "quantity"}]
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    # Paid to the buyer by the platform when the case opened (a badge shop), and the
    # refund that paid it: closing the case recovers it or has the platform bear it.
    advanced_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    advance_refund_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    respond_by: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    seller_note: Mapped[str] = mapped_column(Text, default="")
    operator_note: Mapped[str] = mapped_column(Text, default="")
    # Returned units wait for the seller: "pending", then "resellable" or "unsellable".
    restock: Mapped[str | None] = mapped_column(String(16), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class CartItem(Base):
    """A SKU a buyer has put in the cart; checkout turns the cart into one order per shop."""

    __tablename__ = "cart_items"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    sku_id: Mapped[str] = mapped_column(ForeignKey("skus.id"), primary_key=True)
    quantity: Mapped[int] = mapped_column(Integer)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SandboxCharge(Base):
    """The sandbox provider's own record of a charge, a refund or a transfer to a payer
    (what a real provider keeps)."""

    __tablename__ = "sandbox_charges"
    __table_args__ = (
        # One decision (charge or decline) per payment: a second submit charges nothing.
        Index(
            "uq_sandbox_charges_one_decision",
            "payment_id",
            unique=True,
            sqlite_where=text("kind NOT IN ('refund', 'transfer')"),
            postgresql_where=text("kind NOT IN ('refund', 'transfer')"),
        ),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    payment_id: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))  # charge | decline | refund
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    # Who paid, as the provider knows them (brushing detection reads shared accounts).
    payer_account: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WebhookOutbox(Base):
    """A provider's webhook written with the charge, sent after commit and again until it lands."""

    __tablename__ = "webhook_outbox"
    __table_args__ = (Index("ix_webhook_outbox_due", "sent_at", "next_attempt_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    provider: Mapped[str] = mapped_column(String(24))
    path: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    # Fixed headers; the signature is made at each attempt, so a late retry still verifies.
    headers: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    attempts: Mapped[int] = mapped_column(BigInteger, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PayoutAccount(Base):
    """Where a shop's withdrawals go: one account per shop, at the payout provider."""

    __tablename__ = "payout_accounts"

    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id"), primary_key=True)
    holder_name: Mapped[str] = mapped_column(String(80))
    account_no: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AnchorPayoutAccount(Base):
    """Where an anchor's withdrawals of its commissions go: one account per anchor."""

    __tablename__ = "anchor_payout_accounts"

    anchor_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    holder_name: Mapped[str] = mapped_column(String(80))
    account_no: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Payout(Base):
    """A withdrawal of a released balance, a shop's or an anchor's commissions: requested,
    then paid or failed."""

    __tablename__ = "payouts"
    __table_args__ = (
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        CheckConstraint("(shop_id IS NULL) <> (anchor_id IS NULL)", name="one_payee"),
        Index("ix_payouts_shop", "shop_id", "created_at"),
        Index("ix_payouts_anchor", "anchor_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    # Whose balance it comes from: a shop's, or an anchor's commissions.
    shop_id: Mapped[str | None] = mapped_column(ForeignKey("shops.id"), nullable=True)
    anchor_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    provider: Mapped[str] = mapped_column(String(24))
    status: Mapped[str] = mapped_column(String(16))  # requested | paid | failed
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    # The account as it was when the seller asked.
    account_no: Mapped[str] = mapped_column(String(64))
    failure_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Address(Base):
    """An entry of a buyer's address book; at most one is the default."""

    __tablename__ = "addresses"
    __table_args__ = (
        Index("ix_addresses_user", "user_id"),
        Index(
            "uq_addresses_one_default",
            "user_id",
            unique=True,
            sqlite_where=text("is_default"),
            postgresql_where=text("is_default"),
        ),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    recipient: Mapped[str] = mapped_column(String(40))
    phone: Mapped[str] = mapped_column(String(20))
    # GB/T 2260 codes; a city without districts has none.
    province_code: Mapped[str] = mapped_column(String(6))
    city_code: Mapped[str] = mapped_column(String(6))
    district_code: Mapped[str | None] = mapped_column(String(6), nullable=True)
    street: Mapped[str] = mapped_column(String(200))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class FreightTemplate(Base):
    """A shop's freight by province: free, a flat fee, per unit, or not delivered there."""

    __tablename__ = "freight_templates"

    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id"), primary_key=True)
    # {"default": {"mode", "amount_minor"}, "provinces": {"330000": {"mode", "amount_minor"}}}
    rules: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Coupon(Base):
    """A batch of coupons an anchor (or an operator) issues to an anchor's fans for one shop."""

    __tablename__ = "coupons"
    __table_args__ = (
        CheckConstraint("amount_off_minor > 0", name="amount_off_positive"),
        CheckConstraint("claimed >= 0 AND claimed <= quantity", name="claimed_within_quantity"),
        Index("ix_coupons_anchor", "anchor_id", "expires_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id"))
    anchor_id: Mapped[str] = mapped_column(ForeignKey("users.id"))  # whose fans may claim
    issuer_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    title: Mapped[str] = mapped_column(String(80))
    amount_off_minor: Mapped[int] = mapped_column(BigInteger)
    min_spend_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    currency: Mapped[str] = mapped_column(String(3))
    min_fan_level: Mapped[int] = mapped_column(Integer, default=1)
    quantity: Mapped[int] = mapped_column(Integer)
    claimed: Mapped[int] = mapped_column(Integer, default=0)
    funder: Mapped[str] = mapped_column(String(8))  # shop | platform
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CouponClaim(Base):
    """A fan's coupon: claimed once, redeemed by at most one order (given back if it lapses)."""

    __tablename__ = "coupon_claims"
    __table_args__ = (
        UniqueConstraint("coupon_id", "user_id"),
        Index("ix_coupon_claims_user", "user_id", "claimed_at"),
        Index("ix_coupon_claims_order", "order_id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    coupon_id: Mapped[str] = mapped_column(ForeignKey("coupons.id"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    order_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    redeemed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
