"""Commitments: a buyer's units of a campaign's variant, reserved at once and held once
the deposit is paid; withdrawn before the deadline with the deposit refunded.

Every deposit that reaches the platform ends in exactly one place: held for its
commitment, or refunded (withdrawn, the campaign failed, or it came after its commitment
was released or the campaign closed).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from laotie.accounts.permissions import Actor
from laotie.core.context import Ctx
from laotie.core.errors import AppError, IdempotencyError, not_found
from laotie.core.ids import new_id
from laotie.orders import charges
from laotie.orders.payments import PaymentProvider
from laotie.orders.purposes import Settlement
from laotie.supply import campaigns as c
from laotie.supply import money
from laotie.supply.errors import SupplyError
from laotie.supply.models import Campaign, Commitment
from laotie.supply.schemas import CommitIn, CommitmentOut

PENDING, HELD, WITHDRAWN, RELEASED, REFUNDED, CONFIRMED = (
    "pending",
    "held",
    "withdrawn",
    "released",
    "refunded",
    "confirmed",  # the campaign was: the balance is due (`supply/balances.py`)
)


async def do_commit(
    ctx: Ctx,
    buyer: Actor,
    campaign_id: str,
    data: CommitIn,
    key: str,
    provider: PaymentProvider,
) -> CommitmentOut:
    """Reserve units of a variant and open the payment of their deposit; the same key
    again answers the same commitment."""
    campaign = await c.load_campaign(ctx, campaign_id, lock=True)
    known = await _by_key(ctx, campaign.id, buyer.id, key)
    if known is not None:
        return commitment_out(known, campaign, provider)
    _check_open(ctx, campaign)
    if data.variant not in c.variants_of(campaign.options):
        raise AppError.of(SupplyError.VARIANT_UNKNOWN, f"no variant {data.variant!r}")
    reserved = sum((await c.units_by_variant(ctx, campaign.id, c.RESERVING)).values())
    if reserved + data.quantity > campaign.cap_units:
        left = campaign.cap_units - reserved
        raise AppError.of(SupplyError.CAMPAIGN_FULL, f"{max(left, 0)} units are left")
    deposit = campaign.deposit_unit_minor * data.quantity
    payment = await charges.do_start_charge(
        ctx, buyer, deposit, campaign.currency, provider, money.DEPOSIT_PURPOSE
    )
    commitment = Commitment(
        id=new_id("cmt"),
        campaign_id=campaign.id,
        buyer_id=buyer.id,
        variant=data.variant,
        quantity=data.quantity,
        deposit_minor=deposit,
        payment_id=payment.id,
        idempotency_key=key,
        status=PENDING,
        created_at=ctx.now(),
    )
    ctx.db.add(commitment)
    try:
        await ctx.db.flush()
    except IntegrityError:  # the same key raced in: its twin holds the campaign's lock
        raise AppError.of(
            IdempotencyError.IN_FLIGHT, "a commit with this key is in flight"
        ) from None
    await c.emit_progress(ctx, campaign)
    return commitment_out(commitment, campaign, provider)


def _check_open(ctx: Ctx, campaign: Campaign) -> None:
    if campaign.status != c.OPEN or ctx.now() >= campaign.deadline:
        raise AppError.of(SupplyError.CAMPAIGN_CLOSED, "the campaign takes no more commitments")


async def _by_key(ctx: Ctx, campaign_id: str, buyer_id: str, key: str) -> Commitment | None:
    return await ctx.db.scalar(
        select(Commitment).where(
            Commitment.campaign_id == campaign_id,
            Commitment.buyer_id == buyer_id,
            Commitment.idempotency_key == key,
        )
    )


async def settle_deposit(ctx: Ctx, paid: Settlement) -> None:
    """The provider says a deposit was paid: hold it for its commitment, or, if the
    commitment or its campaign has moved on meanwhile, send it straight back."""
    commitment = await ctx.db.scalar(
        select(Commitment).where(Commitment.payment_id == paid.payment_id)
    )
    if commitment is None:
        raise LookupError(f"no commitment is paid by {paid.payment_id}")
    campaign = await c.load_campaign(ctx, commitment.campaign_id, lock=True)
    await ctx.db.refresh(commitment, with_for_update=True)
    await money.post_deposit_paid(ctx, commitment, paid.provider.name, campaign.currency)
    now = ctx.now()
    commitment.paid_at = now
    if commitment.status == PENDING and campaign.status == c.OPEN and now < campaign.deadline:
        commitment.status = HELD
    else:  # released, withdrawn, or the campaign closed: never kept without its units
        await money.do_refund_deposit(ctx, commitment, paid.provider, campaign.currency)
        commitment.status, commitment.ended_at = REFUNDED, now
    await c.emit_progress(ctx, campaign)


async def do_withdraw(
    ctx: Ctx, buyer: Actor, commitment_id: str, provider: PaymentProvider
) -> CommitmentOut:
    """Withdraw a commitment before the deadline: its units freed, its deposit refunded
    (or, not paid yet, refunded when it comes)."""
    commitment = await ctx.db.get(Commitment, commitment_id)
    if commitment is None or commitment.buyer_id != buyer.id:
        raise not_found("commitment")
    campaign = await c.load_campaign(ctx, commitment.campaign_id, lock=True)
    await ctx.db.refresh(commitment, with_for_update=True)
    _check_open(ctx, campaign)
    if commitment.status not in (PENDING, HELD):
        raise AppError.of(SupplyError.COMMITMENT_ENDED, f"the commitment is {commitment.status}")
    if commitment.status == HELD:
        await money.do_refund_deposit(ctx, commitment, provider, campaign.currency)
    commitment.status, commitment.ended_at = WITHDRAWN, ctx.now()
    await c.emit_progress(ctx, campaign)
    return commitment_out(commitment, campaign, provider)


async def do_release_unpaid(ctx: Ctx, commitment_id: str) -> bool:
    """Free the units of a commitment whose deposit did not come in time; False if it
    moved meanwhile. A deposit paid after this is refunded when it comes."""
    commitment = await ctx.db.get(Commitment, commitment_id)
    if commitment is None:
        return False
    campaign = await c.load_campaign(ctx, commitment.campaign_id, lock=True)
    await ctx.db.refresh(commitment, with_for_update=True)
    if commitment.status != PENDING or commitment.created_at > unpaid_since(ctx):
        return False
    commitment.status, commitment.ended_at = RELEASED, ctx.now()
    await c.emit_progress(ctx, campaign)
    return True


def unpaid_since(ctx: Ctx) -> datetime:
    """Commitments made before this moment and still unpaid are released."""
    return ctx.now() - timedelta(minutes=ctx.settings.unpaid_order_minutes)


async def commitments_of_buyer(
    ctx: Ctx, buyer: Actor, provider: PaymentProvider
) -> list[CommitmentOut]:
    """The buyer's commitments, newest first."""
    rows = await ctx.db.execute(
        select(Commitment, Campaign)
        .join(Campaign, Campaign.id == Commitment.campaign_id)
        .where(Commitment.buyer_id == buyer.id)
        .order_by(Commitment.created_at.desc(), Commitment.id)
        .limit(100)
    )
    return [commitment_out(commitment, campaign, provider) for commitment, campaign in rows]


async def held_deposits_minor(ctx: Ctx, campaign_id: str) -> int:
    """What the campaign's held and confirmed commitments paid and still hold there: its
    deposits account, negated."""
    total = await ctx.db.scalar(
        select(func.coalesce(func.sum(Commitment.deposit_minor), 0)).where(
            Commitment.campaign_id == campaign_id, Commitment.status.in_((HELD, CONFIRMED))
        )
    )
    return int(total or 0)


def commitment_out(
    commitment: Commitment, campaign: Campaign, provider: PaymentProvider
) -> CommitmentOut:
    """The wire form of a commitment."""
    return CommitmentOut(
        id=commitment.id,
        campaign_id=commitment.campaign_id,
        buyer_id=commitment.buyer_id,
        variant=commitment.variant,
        quantity=commitment.quantity,
        deposit_minor=commitment.deposit_minor,
        currency=campaign.currency,
        status=commitment.status,
        payment_id=commitment.payment_id,
        pay_url=provider.pay_url(commitment.payment_id) if commitment.status == PENDING else None,
        created_at=commitment.created_at,
        paid_at=commitment.paid_at,
        ended_at=commitment.ended_at,
        order_id=commitment.order_id,
    )


# The payments supply opens, and how each is settled (registered by the composition root).
PURPOSES = {money.DEPOSIT_PURPOSE: settle_deposit}
