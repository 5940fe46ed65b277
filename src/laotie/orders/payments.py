"""Payments: a provider interface, the built-in sandbox provider, and signed webhooks.

The sandbox behaves like a hosted-checkout provider: the buyer pays on its page, it keeps
its own record of the charge, and it tells laotie by an HMAC-signed webhook. laotie marks
orders paid only from a webhook whose signature checks out, and applies each event once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
from sqlalchemy import literal, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from laotie.accounts.permissions import Actor
from laotie.core.context import Ctx
from laotie.core.errors import AppError, not_found
from laotie.core.ids import new_id
from laotie.orders import balance, events, ledger
from laotie.orders.errors import OrderError
from laotie.orders.models import Order, Payment, Refund, SandboxCharge, WebhookReceipt
from laotie.orders.purposes import Settlement, settler_of
from laotie.orders.queries import load_order
from laotie.orders.schemas import OrderStatus, PaymentOut
from laotie.orders.service import do_mark_paid, do_return_discount, record
from laotie.orders.webhooks import Kick, WebhookSender, do_write_webhook

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "x-laotie-signature"
SIGNATURE_TOLERANCE_S = 300

Providers = dict[str, "PaymentProvider"]
WEBHOOK_PATH = "/api/payments/webhooks/sandbox"
# Sandbox payer accounts: letters, digits and a few separators; empty for the buyer's own.
PAYER_ACCOUNT_PATTERN = r"^[A-Za-z0-9_.@:-]{0,64}$"

__all__ = ["WebhookSender"]


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    """A provider's verified notice about a payment."""

    id: str
    type: str  # payment.succeeded | payment.failed
    payment_id: str
    amount_minor: int
    currency: str


class PaymentProvider(Protocol):
    """What laotie needs of a payment provider."""

    name: str

    def pay_url(self, payment_id: str) -> str:
        """Return where the buyer pays."""
        ...

    def verify(self, body: bytes, headers: dict[str, str], now_s: float) -> WebhookEvent:
        """Check a webhook's signature and read its event; raise AppError if it is not genuine."""
        ...

    async def refund(self, ctx: Ctx, payment_id: str, amount_minor: int) -> str:
        """Send money back to the buyer; return the provider's reference."""
        ...

    async def transfer(self, ctx: Ctx, payment_id: str, amount_minor: int) -> str:
        """Send the payer of a payment money beyond what it paid (a compensation, which no
        refund may carry); return the provider's reference."""
        ...

    async def lookup(self, ctx: Ctx, payment_id: str) -> WebhookEvent | None:
        """Ask what became of a payment; None while the buyer has not decided."""
        ...


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """Return the signature header value for a webhook body."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


class SandboxProvider:
    """A provider that lives inside laotie, with a hosted pay page and signed webhooks."""

    name = "sandbox"

    def __init__(self, secret: str) -> None:
        self._secret = secret

    def pay_url(self, payment_id: str) -> str:
        """Return the hosted pay page of a payment."""
        return f"/sandbox/pay/{payment_id}"

    def verify(self, body: bytes, headers: dict[str, str], now_s: float) -> WebhookEvent:
        """Check the HMAC and the timestamp, then parse the event."""
        check_signature(self._secret, body, headers, now_s)
        try:
            data = json.loads(body)
            return WebhookEvent(
                id=str(data["id"]),
                type=str(data["type"]),
                payment_id=str(data["payment_id"]),
                amount_minor=int(data["amount_minor"]),
                currency=str(data["currency"]),
            )
        except (ValueError, KeyError, TypeError):
            raise AppError.of(OrderError.BAD_SIGNATURE, "malformed webhook body") from None

    def event_body(self, event_type: str, payment: Payment) -> bytes:
        """Return the JSON body of a webhook about a payment."""
        return self.body_of(event_type, payment.id, payment.amount_minor, payment.currency)

    def body_of(self, event_type: str, payment_id: str, amount_minor: int, currency: str) -> bytes:
        """Return the JSON body of a webhook about a payment of this amount."""
        return json.dumps(
            {
                "id": new_id("evt"),
                "type": event_type,
                "payment_id": payment_id,
                "amount_minor": amount_minor,
                "currency": currency,
            }
        ).encode()

    def headers_for(self, body: bytes, now_s: float) -> dict[str, str]:
        """Return the headers of a signed webhook."""
        return {
            SIGNATURE_HEADER: sign(self._secret, int(now_s), body),
            "content-type": "application/json",
        }

    async def lookup(self, ctx: Ctx, payment_id: str) -> WebhookEvent | None:
        """Answer from the sandbox's own books: the payment's charge or decline, if any."""
        charge = await decision_of(ctx, payment_id)
        if charge is None:
            return None
        return WebhookEvent(
            id=f"lookup_{charge.id}",
            type="payment.succeeded" if charge.kind == "charge" else "payment.failed",
            payment_id=payment_id,
            amount_minor=charge.amount_minor,
            currency=(await load_payment(ctx, payment_id)).currency,
        )

    async def refund(self, ctx: Ctx, payment_id: str, amount_minor: int) -> str:
        """Record the refund in the sandbox's own books."""
        return await self._pay_out(ctx, payment_id, amount_minor, "refund")

    async def transfer(self, ctx: Ctx, payment_id: str, amount_minor: int) -> str:
        """Record the transfer to the payment's payer in the sandbox's own books."""
        return await self._pay_out(ctx, payment_id, amount_minor, "transfer")

    async def _pay_out(self, ctx: Ctx, payment_id: str, amount_minor: int, kind: str) -> str:
        charge_id = new_id("sbx")
        ctx.db.add(
            SandboxCharge(
                id=charge_id,
                payment_id=payment_id,
                kind=kind,
                amount_minor=amount_minor,
                created_at=ctx.now(),
            )
        )
        await ctx.db.flush()
        return charge_id


def _insert_or_nothing(ctx: Ctx, table: Any) -> Any:
    """Return an INSERT of the session's dialect, which can skip rows that conflict."""
    if ctx.db.get_bind().dialect.name == "postgresql":
        return postgresql_insert(table)
    return sqlite_insert(table)


def check_signature(secret: str, body: bytes, headers: dict[str, str], now_s: float) -> None:
    """Refuse a webhook whose HMAC does not verify or whose time is too far from now."""
    header = headers.get(SIGNATURE_HEADER, "")
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(parts.get("t", ""))
    except ValueError:
        raise _bad_signature() from None
    expected = sign(secret, timestamp, body)
    if not hmac.compare_digest(expected, header) or abs(now_s - timestamp) > SIGNATURE_TOLERANCE_S:
        raise _bad_signature()


def _bad_signature() -> AppError:
    return AppError.of(OrderError.BAD_SIGNATURE, "webhook signature does not verify")


# ---------------------------------------------------------------- starting a payment


async def do_start_payment(
    ctx: Ctx, buyer: Actor, order_ids: list[str], provider: PaymentProvider
) -> PaymentOut:
    """Open one payment for some of the buyer's unpaid orders.

    Two statements when it succeeds: one UPDATE ties the buyer's unpaid orders to the
    payment and returns their totals, then the payment's INSERT. A refusal rolls both back
    and reads the orders once to say why.
    """
    unique_ids = list(dict.fromkeys(order_ids))
    payment_id = new_id("pay")
    tied = (
        await ctx.db.execute(
            update(Order)
            .where(
                Order.id.in_(unique_ids),
                Order.buyer_id == buyer.id,
                Order.status == OrderStatus.PENDING_PAYMENT,
            )
            .values(payment_id=payment_id)
            .returning(Order.total_minor, Order.currency)
            .execution_options(synchronize_session=False)
        )
    ).all()
    if len(tied) != len(unique_ids):
        await _refuse_payment(ctx, buyer, unique_ids)
    currencies = {currency for _, currency in tied}
    if len(currencies) != 1:
        raise AppError.of(OrderError.CURRENCY_MISMATCH, "pay orders of one currency together")
    payment = Payment(
        id=payment_id,
        buyer_id=buyer.id,
        provider=provider.name,
        status="pending",
        amount_minor=sum(total for total, _ in tied),
        currency=currencies.pop(),
        order_ids=unique_ids,
        created_at=ctx.now(),
    )
    ctx.db.add(payment)
    await ctx.db.flush()
    return payment_out(payment, provider)


async def _refuse_payment(ctx: Ctx, buyer: Actor, order_ids: list[str]) -> None:
    """Say why some of these orders cannot be paid (the caller's transaction rolls back)."""
    orders = (await ctx.db.scalars(select(Order).where(Order.id.in_(order_ids)))).all()
    if len(orders) != len(order_ids) or any(o.buyer_id != buyer.id for o in orders):
        raise not_found("order")
    for order in orders:
        if order.status != OrderStatus.PENDING_PAYMENT:
            raise AppError.of(OrderError.INVALID_STATE, f"order {order.id} is {order.status}")
    raise not_found("order")  # changed under us: as if it were not there


def payment_out(payment: Payment, provider: PaymentProvider) -> PaymentOut:
    """Return the wire form of a payment."""
    return PaymentOut(
        id=payment.id,
        status=payment.status,
        amount_minor=payment.amount_minor,
        currency=payment.currency,
        provider=payment.provider,
        order_ids=list(payment.order_ids),
        pay_url=provider.pay_url(payment.id),
    )


async def load_payment(ctx: Ctx, payment_id: str, *, lock: bool = False) -> Payment:
    """Return a payment."""
    query = select(Payment).where(Payment.id == payment_id)
    payment = await ctx.db.scalar(query.with_for_update() if lock else query)
    if payment is None:
        raise not_found("payment")
    return payment


async def access_payment(ctx: Ctx, actor: Actor, payment_id: str) -> Payment:
    """Return one of the actor's payments."""
    payment = await load_payment(ctx, payment_id)
    if payment.buyer_id != actor.id:
        raise not_found("payment")
    return payment


# ---------------------------------------------------------------- the sandbox's pay page


async def decision_of(ctx: Ctx, payment_id: str) -> SandboxCharge | None:
    """Return the sandbox's charge or decline of a payment, if the buyer decided."""
    charge: SandboxCharge | None = await ctx.db.scalar(
        select(SandboxCharge).where(
            SandboxCharge.payment_id == payment_id, SandboxCharge.kind.in_(("charge", "decline"))
        )
    )
    return charge


async def do_sandbox_decide(
    ctx: Ctx,
    provider: SandboxProvider,
    payment_id: str,
    approve: bool,
    payer_account: str | None,
    kick: Kick,
) -> str:
    """Charge or decline once on the sandbox's page; its webhook is queued in this transaction.

    The decision is one INSERT that reads the pending payment it decides (and returns what
    the webhook says), the webhook one more; a refusal reads the payment to say why.
    """
    charges = SandboxCharge.__table__
    decided = select(
        literal(new_id("sbx")),
        Payment.id,
        literal("charge" if approve else "decline"),
        Payment.amount_minor,
        # The buyer's own sandbox account when the page names none.
        literal(payer_account) if payer_account else literal("sbx:") + Payment.buyer_id,
        literal(ctx.now(), charges.c.created_at.type),
    ).where(Payment.id == payment_id, Payment.status == "pending")
    currency = select(Payment.currency).where(Payment.id == payment_id).scalar_subquery()
    row = (
        await ctx.db.execute(
            _insert_or_nothing(ctx, SandboxCharge)
            .from_select(
                ["id", "payment_id", "kind", "amount_minor", "payer_account", "created_at"],
                decided,
            )
            # The one-decision index: a second submit inserts nothing and is refused below.
            .on_conflict_do_nothing()
            .returning(SandboxCharge.amount_minor, currency)
        )
    ).one_or_none()
    if row is None:
        payment = await load_payment(ctx, payment_id)
        if payment.status == "pending":
            raise AppError(
                OrderError.PAYMENT_DECIDED, "this payment was already paid or declined", 409
            )
        raise AppError.of(OrderError.PAYMENT_DECIDED, f"this payment is already {payment.status}")
    amount_minor, currency_code = row
    kind = "payment.succeeded" if approve else "payment.failed"
    body = provider.body_of(kind, payment_id, amount_minor, currency_code)
    await do_write_webhook(ctx, provider.name, WEBHOOK_PATH, body, kick)
    return payment_id


# ---------------------------------------------------------------- webhooks


async def do_apply_webhook(
    ctx: Ctx, provider: PaymentProvider, body: bytes, headers: dict[str, str]
) -> str:
    """Apply a verified provider event once; return what happened."""
    event = provider.verify(body, headers, ctx.now().timestamp())
    return await do_apply_event(ctx, provider, event)


async def do_apply_event(ctx: Ctx, provider: PaymentProvider, event: WebhookEvent) -> str:
    """Apply a provider's event (from a webhook or a lookup) once; return what happened."""
    # A replayed event inserts nothing (no savepoint needed: the statement does not fail).
    receipt = {"event_id": event.id, "provider": provider.name, "received_at": ctx.now()}
    first = await ctx.db.scalar(
        _insert_or_nothing(ctx, WebhookReceipt)
        .values(receipt)
        .on_conflict_do_nothing()
        .returning(WebhookReceipt.event_id)
    )
    if first is None:
        return "duplicate"
    if event.type == "payment.succeeded":
        # The usual case in one statement: settle a pending payment of exactly this amount.
        settle = (
            update(Payment)
            .where(
                Payment.id == event.payment_id,
                Payment.status == "pending",
                Payment.amount_minor == event.amount_minor,
                Payment.currency == event.currency,
            )
            .values(status="succeeded", settled_at=ctx.now())
            .returning(Payment.order_ids, Payment.purpose)
            .execution_options(synchronize_session=False)
        )
        settled = (await ctx.db.execute(settle)).first()
        order_ids, purpose = settled if settled is not None else (None, None)
        if purpose is not None:  # paid for something else than orders: its feature settles
            paid = Settlement(event.payment_id, provider, event.amount_minor, event.currency)
            await settler_of(purpose)(ctx, paid)
            return "settled"
        if order_ids == []:  # no checkout's: a seller's top-up of its shop's balance
            await balance.do_credit_top_up(
                ctx, event.payment_id, provider.name, event.amount_minor, event.currency
            )
            return "topped_up"
        if order_ids is not None:
            for order_id in order_ids:
                await _pay_order(ctx, provider, event.payment_id, order_id)
            return "paid"
    # Anything else (a decline, an unknown payment, a mismatch, already settled): read it.
    payment = await load_payment(ctx, event.payment_id, lock=True)
    if (event.amount_minor, event.currency) != (payment.amount_minor, payment.currency):
        raise AppError.of(OrderError.WEBHOOK_MISMATCH, "event does not match the payment")
    if payment.status != "pending":
        return "ignored"
    if event.type == "payment.failed":
        payment.status = "failed"
        return "failed"
    return "ignored"


async def _pay_order(ctx: Ctx, provider: PaymentProvider, payment_id: str, order_id: str) -> None:
    """Mark an order paid, or give the money back if it expired before the money came."""
    if await do_mark_paid(ctx, order_id, payment_id, provider.name):
        return
    order = await load_order(ctx, order_id, lock=True)
    # Paid too late (the order expired or was cancelled): capture and refund at once.
    await ledger.post_capture(
        ctx,
        order.id,
        provider.name,
        order.total_minor,
        order.currency,
        order.discount_minor,
        order.discount_account,
    )
    refund_id = await do_refund_money(ctx, provider, order, payment_id, order.total_minor, None)
    await do_return_discount(ctx, order)
    record(ctx, order, events.late_payment_refunded(refund_id))
    await ctx.db.flush()


async def do_refund_money(
    ctx: Ctx,
    provider: PaymentProvider,
    order: Order,
    payment_id: str,
    amount_minor: int,
    case_id: str | None,
    *,
    advance: bool = False,
) -> str:
    """Send money back through the provider and record it: out of escrow, or advanced by
    the platform (`advance`: a badge shop's refund paid before its case closes)."""
    reference = await provider.refund(ctx, payment_id, amount_minor)
    refund_id = new_id("rfd")
    ctx.db.add(
        Refund(
            id=refund_id,
            order_id=order.id,
            payment_id=payment_id,
            case_id=case_id,
            amount_minor=amount_minor,
            provider_ref=reference,
            created_at=ctx.now(),
        )
    )
    post = ledger.post_advance if advance else ledger.post_refund
    await post(ctx, order.id, provider.name, amount_minor, order.currency)
    return refund_id


class WebhookRefusedError(Exception):
    """The receiver answered a webhook with something other than success."""


class HttpWebhookSender:
    """POSTs webhooks to laotie's public URL, as a real provider would, on one kept-alive client."""

    def __init__(self, base_url: str) -> None:
        self._base_url = base_url
        self._client: httpx.AsyncClient | None = None

    async def __call__(self, path: str, body: bytes, headers: dict[str, str]) -> None:
        """Deliver one webhook; raise if it did not land, so that it is tried again."""
        if self._client is None:
            # Made once: building a client loads the TLS trust store, which is slow.
            self._client = httpx.AsyncClient(base_url=self._base_url, timeout=10)
        answer = await self._client.post(path, content=body, headers=headers)
        if answer.status_code >= 300:
            raise WebhookRefusedError(f"{path} answered {answer.status_code}")

    async def aclose(self) -> None:
        """Close the kept-alive connections."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None


def headers_of(raw: Any) -> dict[str, str]:
    """Return request headers as a plain lower-case dict."""
    return {key.lower(): value for key, value in raw.items()}
