"""Charges: payments with a purpose (no orders), opened and refunded for the feature they
pay for (`orders/purposes.py`), which keeps its own ledger accounts for the money."""

from __future__ import annotations

from laotie.accounts.permissions import Actor
from laotie.core.context import Ctx
from laotie.core.ids import new_id
from laotie.orders.models import Payment, Refund
from laotie.orders.payments import PaymentProvider, payment_out
from laotie.orders.schemas import PaymentOut


async def do_start_charge(
    ctx: Ctx,
    payer: Actor,
    amount_minor: int,
    currency: str,
    provider: PaymentProvider,
    purpose: str,
) -> PaymentOut:
    """Open a payment of this amount for a purpose; it is paid at `pay_url`, and settled
    by the purpose's feature once the provider says it succeeded."""
    payment = Payment(
        id=new_id("pay"),
        buyer_id=payer.id,
        provider=provider.name,
        status="pending",
        amount_minor=amount_minor,
        currency=currency,
        order_ids=[],
        purpose=purpose,
        created_at=ctx.now(),
    )
    ctx.db.add(payment)
    await ctx.db.flush()
    return payment_out(payment, provider)


async def do_refund_charge(
    ctx: Ctx,
    provider: PaymentProvider,
    payment_id: str,
    amount_minor: int,
    *,
    order_id: str | None = None,
) -> str:
    """Send (part of) a charge back through the provider and record it (with the order it
    went toward, if any); the feature posts the money's way out of its own account. Return
    the refund's id."""
    reference = await provider.refund(ctx, payment_id, amount_minor)
    refund_id = new_id("rfd")
    ctx.db.add(
        Refund(
            id=refund_id,
            order_id=order_id,
            payment_id=payment_id,
            case_id=None,
            amount_minor=amount_minor,
            provider_ref=reference,
            created_at=ctx.now(),
        )
    )
    await ctx.db.flush()
    return refund_id
