"""A campaign's money in the ledger: buyers' deposits held in an account of the campaign's
own, paid in through the provider and refunded through it (docs/supply.md, "Money")."""

from __future__ import annotations

from laotie.core.context import Ctx
from laotie.orders import charges, ledger
from laotie.orders.payments import PaymentProvider
from laotie.supply.models import Commitment

DEPOSIT_PURPOSE = "c2m_deposit"  # the purpose of a deposit's payment (`orders/purposes.py`)


DEPOSITS = "c2m:deposits:"  # the prefix of every campaign's deposits account


def deposits_account(campaign_id: str) -> str:
    """The account holding a campaign's paid deposits (a liability: credit-negative)."""
    return f"{DEPOSITS}{campaign_id}"


async def post_deposit_paid(ctx: Ctx, commitment: Commitment, provider: str, currency: str) -> None:
    """A deposit paid in at the provider, held for the campaign."""
    legs = [
        (ledger.provider_account(provider), commitment.deposit_minor),
        (deposits_account(commitment.campaign_id), -commitment.deposit_minor),
    ]
    await ledger.post(ctx, "c2m_deposit_paid", None, currency, legs)


async def do_refund_deposit(
    ctx: Ctx, commitment: Commitment, provider: PaymentProvider, currency: str
) -> str:
    """Send a held deposit back through the provider, out of the campaign's account."""
    refund_id = await charges.do_refund_charge(
        ctx, provider, commitment.payment_id, commitment.deposit_minor
    )
    legs = [
        (deposits_account(commitment.campaign_id), commitment.deposit_minor),
        (ledger.provider_account(provider.name), -commitment.deposit_minor),
    ]
    await ledger.post(ctx, "c2m_deposit_refunded", None, currency, legs)
    return refund_id


async def post_deposit_forfeited(
    ctx: Ctx, commitment: Commitment, shop_id: str, currency: str
) -> None:
    """A committer did not pay the balance in time: the deposit goes to the shop."""
    legs = [
        (deposits_account(commitment.campaign_id), commitment.deposit_minor),
        (ledger.seller_account(shop_id), -commitment.deposit_minor),
    ]
    await ledger.post(ctx, "c2m_deposit_forfeited", None, currency, legs)
