"""A shop's released balance: what it may spend, the one guard every spending passes, and
what its owner paid in: into the balance, or into its security deposit, which the platform
holds in `deposit:<shop_id>` and mirrors on the shop for everyone to see.

Payouts and promotions' budgets both take from `seller:<shop_id>`. Each first takes the
shop's row (`catalog.lock_shop`), then reads the balance and refuses an amount it does not
cover, so that a payout and a promotion asked at once never overdraw it together: on
PostgreSQL they wait on the row lock, on SQLite on the one writer. A top-up
(`orders/topups.py`) adds to it once its payment succeeds (`do_credit_top_up`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import update

from laotie.accounts.permissions import Actor, Role
from laotie.catalog import service as catalog
from laotie.core.context import Ctx
from laotie.core.errors import AppError, not_found
from laotie.core.money import format_minor
from laotie.orders import ledger
from laotie.orders.errors import OrderError
from laotie.orders.models import TopUp

if TYPE_CHECKING:  # payments credits top-ups here, so it imports this module
    from laotie.orders.payments import PaymentProvider

BALANCE, DEPOSIT = "balance", "deposit"  # what a top-up pays into


async def access_shop_money(ctx: Ctx, actor: Actor, shop_id: str) -> None:
    """Let only the shop's owner (or an operator) see or move its money."""
    if await catalog.shop_owner_id(ctx, shop_id) != actor.id and not actor.has(Role.OPERATOR):
        raise not_found("shop")


async def available_minor(ctx: Ctx, shop_id: str) -> int:
    """Return what the shop can spend: its released balance not yet paid out or held."""
    return -await ledger.balance(ctx, ledger.seller_account(shop_id))


async def check_spendable(ctx: Ctx, shop_id: str, amount_minor: int) -> None:
    """Take the shop's turn at its balance; refuse an amount the balance does not cover."""
    await catalog.lock_shop(ctx, shop_id)
    check_covers(ctx, await available_minor(ctx, shop_id), amount_minor, "the released balance")


def check_covers(ctx: Ctx, available_minor: int, amount_minor: int, what: str) -> None:
    """Refuse an amount beyond what is available, saying both."""
    if amount_minor > available_minor:
        currency = ctx.settings.currency
        raise AppError.of(
            OrderError.BALANCE_TOO_LOW,
            f"{what}, {format_minor(available_minor, currency)}, does not cover "
            f"{format_minor(amount_minor, currency)}",
        )


async def do_hold_ad_budget(ctx: Ctx, shop_id: str, promotion_id: str, amount_minor: int) -> None:
    """Hold a promotion's whole budget out of the shop's released balance, or refuse."""
    await check_spendable(ctx, shop_id, amount_minor)
    currency = ctx.settings.currency
    await ledger.post_ads(ctx, "ads_held", shop_id, promotion_id, amount_minor, currency)


async def do_charge_ad_budget(ctx: Ctx, shop_id: str, promotion_id: str, amount_minor: int) -> None:
    """Move what a promotion spent from its budget to the platform's ad revenue."""
    currency = ctx.settings.currency
    await ledger.post_ads(ctx, "ads_spent", shop_id, promotion_id, amount_minor, currency)


async def do_return_ad_budget(ctx: Ctx, shop_id: str, promotion_id: str, amount_minor: int) -> None:
    """Give what a promotion did not spend back to the shop's balance."""
    currency = ctx.settings.currency
    await ledger.post_ads(ctx, "ads_returned", shop_id, promotion_id, amount_minor, currency)


async def do_credit_top_up(
    ctx: Ctx, payment_id: str, provider: str, amount_minor: int, currency: str
) -> bool:
    """Credit a top-up's shop (its balance, or its security deposit) with its succeeded
    payment, once; False if it is no top-up."""
    credited = (
        await ctx.db.execute(
            update(TopUp)
            .where(TopUp.payment_id == payment_id, TopUp.credited_at.is_(None))
            .values(credited_at=ctx.now())
            .returning(TopUp.shop_id, TopUp.purpose)
            .execution_options(synchronize_session=False)
        )
    ).first()
    if credited is None:
        return False
    shop_id, purpose = credited
    if purpose == DEPOSIT:
        await ledger.post_deposit_paid(ctx, shop_id, provider, amount_minor, currency)
        await catalog.set_shop_deposit(ctx, shop_id, await deposit_held_minor(ctx, shop_id))
    else:
        await ledger.post_top_up(ctx, shop_id, provider, amount_minor, currency)
    return True


async def deposit_held_minor(ctx: Ctx, shop_id: str) -> int:
    """Return the shop's security deposit the platform holds."""
    return -await ledger.balance(ctx, ledger.deposit_account(shop_id))


async def do_compensate_from_deposit(
    ctx: Ctx,
    shop_id: str,
    provider: PaymentProvider,
    payment_id: str,
    amount_minor: int,
    currency: str,
) -> str:
    """Pay a buyer out of the shop's security deposit, to the payer of `payment_id` (a C2M
    default's second half); return the provider's reference."""
    reference = await provider.transfer(ctx, payment_id, amount_minor)
    legs = [
        (ledger.deposit_account(shop_id), amount_minor),
        (ledger.provider_account(provider.name), -amount_minor),
    ]
    await ledger.post(ctx, "deposit_compensation", None, currency, legs)
    await catalog.set_shop_deposit(ctx, shop_id, await deposit_held_minor(ctx, shop_id))
    return reference
