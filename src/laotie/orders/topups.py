"""Top-ups: a seller pays money into its shop's released balance through the payment provider.

Bought reach is paid from the released balance (`orders/balance.py`); a shop whose sales
have not released enough yet tops it up. A top-up is a payment with no orders, paid on
the provider's page as a buyer pays; the provider's `payment.succeeded` webhook credits
`seller:<shop_id>` from `provider:<name>` once (`balance.do_credit_top_up`, called by
`payments.do_apply_event`), a declined one credits nothing. Money topped up is released
money like any other: spent on reach, or withdrawn by a payout. It is not refunded.

A security deposit is paid in the same way (`purpose` "deposit"), into `deposit:<shop_id>`:
the platform holds it against what the shop may owe its buyers, and shows it on the shop.
"""

from __future__ import annotations

from sqlalchemy import select

from laotie.accounts.permissions import Actor
from laotie.catalog import service as catalog
from laotie.core.context import Ctx
from laotie.core.errors import not_found
from laotie.core.ids import new_id
from laotie.orders import balance
from laotie.orders.models import Payment, TopUp
from laotie.orders.payments import PaymentProvider
from laotie.orders.schemas import TopUpOut

LISTED = 50


async def do_start_top_up(
    ctx: Ctx,
    actor: Actor,
    shop_id: str,
    amount_minor: int,
    provider: PaymentProvider,
    purpose: str = balance.BALANCE,
) -> TopUpOut:
    """Open a payment of this amount into the owner's shop balance (or its security
    deposit); it is paid at `pay_url`."""
    if await catalog.shop_owner_id(ctx, shop_id) != actor.id:
        raise not_found("shop")  # only its owner pays into a shop, as it alone buys reach
    now = ctx.now()
    payment = Payment(
        id=new_id("pay"),
        buyer_id=actor.id,
        provider=provider.name,
        status="pending",
        amount_minor=amount_minor,
        currency=ctx.settings.currency,
        order_ids=[],
        created_at=now,
    )
    ctx.db.add(payment)
    await ctx.db.flush()  # before the row that refers to it: flushes do not order by keys
    top_up = TopUp(payment_id=payment.id, shop_id=shop_id, purpose=purpose, created_at=now)
    ctx.db.add(top_up)
    await ctx.db.flush()
    return top_up_out(top_up, payment, provider.pay_url(payment.id))


async def top_ups_of_shop(
    ctx: Ctx, actor: Actor, shop_id: str, provider: PaymentProvider
) -> list[TopUpOut]:
    """Return the shop's top-ups, newest first, for its owner or an operator."""
    await balance.access_shop_money(ctx, actor, shop_id)
    return await top_ups_of(ctx, shop_id, provider)


async def top_ups_of(
    ctx: Ctx, shop_id: str, provider: PaymentProvider, purpose: str | None = None
) -> list[TopUpOut]:
    """Return the shop's top-ups (into one purpose, or any), newest first, unchecked: the
    caller owns the shop."""
    query = (
        select(TopUp, Payment)
        .join(Payment, Payment.id == TopUp.payment_id)
        .where(TopUp.shop_id == shop_id)
        .order_by(TopUp.created_at.desc(), TopUp.payment_id)
        .limit(LISTED)
    )
    if purpose is not None:
        query = query.where(TopUp.purpose == purpose)
    rows = await ctx.db.execute(query)
    return [top_up_out(top_up, payment, provider.pay_url(payment.id)) for top_up, payment in rows]


async def return_page(ctx: Ctx, payment_id: str) -> str:
    """The page a seller goes back to from paying a top-up: where it was asked for."""
    purpose = await ctx.db.scalar(select(TopUp.purpose).where(TopUp.payment_id == payment_id))
    return "/seller" if purpose == balance.DEPOSIT else "/seller/promotions"


def top_up_out(top_up: TopUp, payment: Payment, pay_url: str) -> TopUpOut:
    """Return the wire form of a top-up: its payment's state, and whether it was credited."""
    return TopUpOut(
        payment_id=payment.id,
        shop_id=top_up.shop_id,
        purpose=top_up.purpose,
        amount_minor=payment.amount_minor,
        currency=payment.currency,
        status=payment.status,
        created_at=top_up.created_at,
        credited_at=top_up.credited_at,
        pay_url=pay_url,
    )
