"""A double-entry ledger: every transaction's entries sum to zero, in one currency.

Accounts: `provider:<name>` (money at the payment provider, an asset, debit-positive),
`escrow` (buyers' money held until orders complete), `seller:<shop_id>` (owed to the
seller) and `platform:fees`; the last three are liabilities or revenue, so their balances
are negative (credits). Funds flow capture → escrow → release to seller and fee, or back
to the provider as a refund; a seller's payout goes seller → `payouts:in_transit` →
provider, or back to the seller if it fails. On a badge shop a refund request is paid at
once from the provider into `platform:advances`, repaid from escrow when the case closes
for the buyer or moved to `platform:advances_borne` when it closes for the seller.
A platform coupon's discount is paid into escrow at capture by `platform:promotions`, so
escrow holds the order's full price; it is released with the order, or goes back when the
order is refunded in full. A shop's own coupon is paid by the shop receiving that much less
at release, out of the order's own escrow: taken from `seller:<shop_id>` at capture, it
could take a balance already paid out or held for a promotion below zero.
A seller's bought reach (a promotion of a live session) holds its budget from
`seller:<shop_id>` in `ads:budget:<promotion_id>`, from which what it spends goes to
`platform:ads` (the platform's revenue) and what is left goes back to the seller. A
seller's top-up (money it pays in through the provider, to buy reach with) goes from
`provider:<name>` straight to `seller:<shop_id>`. A shop's security deposit, paid in the
same way, goes from `provider:<name>` to `deposit:<shop_id>`, where the platform holds it
against what the shop may owe its buyers (a C2M campaign's deposits returned double).
An anchor who sold another shop's product is owed its commission in `anchor:<user_id>`:
a third leg of the order's release, out of what the seller would have had; the anchor
withdraws it like a seller, through `payouts:in_transit`.
"""

from __future__ import annotations

from sqlalchemy import func, insert, select

from laotie.core.context import Ctx
from laotie.core.ids import new_id
from laotie.core.money import fee_of
from laotie.orders.models import LedgerEntry

ESCROW = "escrow"
FEES = "platform:fees"
# Sellers' withdrawals asked of the payout provider and not yet confirmed paid or failed.
PAYOUTS_IN_TRANSIT = "payouts:in_transit"
# Refunds the platform paid a badge shop's buyers before the case closed, to be recovered
# (an asset, debit-positive), and those it bore when the case went the seller's way.
ADVANCES = "platform:advances"
ADVANCES_BORNE = "platform:advances_borne"
# Coupon discounts the platform pays for (issued by operators); a debit balance, its cost.
PROMOTIONS = "platform:promotions"
# What sellers paid for bought reach (promoted impressions or entries): revenue, a credit.
ADS = "platform:ads"


def provider_account(provider: str) -> str:
    """Return the account of money held at a payment provider."""
    return f"provider:{provider}"


def seller_account(shop_id: str) -> str:
    """Return the account of what the platform owes a shop."""
    return f"seller:{shop_id}"


def anchor_account(anchor_id: str) -> str:
    """Return the account of what the platform owes an anchor in commissions."""
    return f"anchor:{anchor_id}"


def deposit_account(shop_id: str) -> str:
    """Return the account of a shop's security deposit, held by the platform."""
    return f"deposit:{shop_id}"


def ad_budget_account(promotion_id: str) -> str:
    """Return the account holding a promotion's budget until it is spent or given back."""
    return f"ads:budget:{promotion_id}"


async def post(
    ctx: Ctx, kind: str, order_id: str | None, currency: str, legs: list[tuple[str, int]]
) -> str:
    """Write one balanced transaction; refuse one whose legs do not sum to zero."""
    legs = [(account, amount) for account, amount in legs if amount != 0]
    if sum(amount for _, amount in legs) != 0:
        raise ValueError(f"unbalanced ledger transaction {kind}: {legs}")
    txn_id = new_id("txn")
    if not legs:
        return txn_id
    # One multi-row INSERT: the ORM would send one per leg.
    shared = {"txn_id": txn_id, "kind": kind, "order_id": order_id, "created_at": ctx.now()}
    await ctx.db.execute(
        insert(LedgerEntry).values(
            [
                {**shared, "account": account, "amount_minor": amount, "currency": currency}
                for account, amount in legs
            ]
        )
    )
    return txn_id


async def post_capture(
    ctx: Ctx,
    order_id: str,
    provider: str,
    amount: int,
    currency: str,
    discount: int = 0,
    discount_account: str | None = None,
) -> None:
    """Record a buyer's payment for an order, held in escrow with a platform coupon's discount."""
    payer = discount_account or PROMOTIONS
    # A shop's own coupon puts nothing in: the shop is released that much less instead.
    paid_in = 0 if payer.startswith("seller:") else discount
    legs = [(provider_account(provider), amount), (ESCROW, -(amount + paid_in)), (payer, paid_in)]
    await post(ctx, "capture", order_id, currency, legs)


async def discount_in_escrow(ctx: Ctx, order_id: str, account: str) -> int:
    """Return what a coupon's payer put into escrow for an order and has not had back.

    Read from the books rather than the order, because a shop's own coupon paid nothing in
    (and did, for orders captured before it stopped doing so).
    """
    total = await ctx.db.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount_minor), 0)).where(
            LedgerEntry.order_id == order_id,
            LedgerEntry.account == account,
            LedgerEntry.kind.in_(("capture", "discount_returned")),
        )
    )
    return int(total or 0)


async def post_discount_returned(
    ctx: Ctx, order_id: str, amount: int, account: str, currency: str
) -> None:
    """Give a coupon's discount back to its payer: the order was refunded in full."""
    await post(ctx, "discount_returned", order_id, currency, [(ESCROW, amount), (account, -amount)])


async def post_refund(ctx: Ctx, order_id: str, provider: str, amount: int, currency: str) -> None:
    """Record money going back to the buyer out of escrow."""
    await post(
        ctx, "refund", order_id, currency, [(ESCROW, amount), (provider_account(provider), -amount)]
    )


async def post_release(
    ctx: Ctx,
    order_id: str,
    shop_id: str,
    amount: int,
    fee_bps: int,
    currency: str,
    price: int | None = None,
    commission: tuple[str, int] | None = None,
) -> tuple[int, int]:
    """Release an order's held funds to the seller minus the platform fee and an anchor's
    commission; return the fee and the commission paid.

    The fee is on `price` (the full price, a shop's own coupon included) when given; the
    fee and then the commission are never more than is released, so that a release never
    takes from the seller.
    """
    fee = min(fee_of(amount if price is None else price, fee_bps), amount)
    anchor, owed = commission or ("", 0)
    paid = min(owed, amount - fee)
    legs = [(ESCROW, amount), (seller_account(shop_id), -(amount - fee - paid)), (FEES, -fee)]
    if paid:
        legs.append((anchor_account(anchor), -paid))
    await post(ctx, "release", order_id, currency, legs)
    return fee, paid


async def post_advance(ctx: Ctx, order_id: str, provider: str, amount: int, currency: str) -> None:
    """Record the platform paying a buyer's refund at once, out of the provider, to recover."""
    legs = [(ADVANCES, amount), (provider_account(provider), -amount)]
    await post(ctx, "advance_paid", order_id, currency, legs)


async def post_advance_repaid(ctx: Ctx, order_id: str, amount: int, currency: str) -> None:
    """Record an advance repaid out of the order's escrow: the case closed for the buyer."""
    await post(ctx, "advance_repaid", order_id, currency, [(ESCROW, amount), (ADVANCES, -amount)])


async def post_advance_borne(ctx: Ctx, order_id: str, amount: int, currency: str) -> None:
    """Record an advance the platform bears: the operator ruled for the seller."""
    legs = [(ADVANCES_BORNE, amount), (ADVANCES, -amount)]
    await post(ctx, "advance_borne", order_id, currency, legs)


async def post_payout(
    ctx: Ctx, kind: str, payee: str, provider: str, amount: int, currency: str
) -> None:
    """Record a payout's step: requested (the payee's account, a seller's or an anchor's →
    in transit), paid (in transit → provider) or failed (in transit → back to the payee)."""
    transit = PAYOUTS_IN_TRANSIT
    legs = {
        "payout_requested": [(payee, amount), (transit, -amount)],
        "payout_paid": [(transit, amount), (provider_account(provider), -amount)],
        "payout_failed": [(transit, amount), (payee, -amount)],
    }[kind]
    await post(ctx, kind, None, currency, legs)


async def post_ads(
    ctx: Ctx, kind: str, shop_id: str, promotion_id: str, amount: int, currency: str
) -> None:
    """Record a promotion's step: its budget held (seller → budget), spent (budget →
    `platform:ads`) or what is left returned (budget → seller)."""
    seller, budget = seller_account(shop_id), ad_budget_account(promotion_id)
    legs = {
        "ads_held": [(seller, amount), (budget, -amount)],
        "ads_spent": [(budget, amount), (ADS, -amount)],
        "ads_returned": [(budget, amount), (seller, -amount)],
    }[kind]
    await post(ctx, kind, None, currency, legs)


async def post_top_up(ctx: Ctx, shop_id: str, provider: str, amount: int, currency: str) -> None:
    """Record a seller's top-up: money paid in at the provider, owed to the shop."""
    legs = [(provider_account(provider), amount), (seller_account(shop_id), -amount)]
    await post(ctx, "top_up", None, currency, legs)


async def post_deposit_paid(
    ctx: Ctx, shop_id: str, provider: str, amount: int, currency: str
) -> None:
    """Record a shop's security deposit paid in at the provider, held for the shop."""
    legs = [(provider_account(provider), amount), (deposit_account(shop_id), -amount)]
    await post(ctx, "deposit_paid", None, currency, legs)


async def balance(ctx: Ctx, account: str) -> int:
    """Return the sum of an account's entries (debits positive)."""
    total = await ctx.db.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount_minor), 0)).where(
            LedgerEntry.account == account
        )
    )
    return int(total or 0)


async def credits_of(ctx: Ctx, account: str, kind: str) -> int:
    """Return the sum of an account's entries in transactions of one kind."""
    total = await ctx.db.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount_minor), 0)).where(
            LedgerEntry.account == account, LedgerEntry.kind == kind
        )
    )
    return int(total or 0)


async def trial_balance(ctx: Ctx) -> int:
    """Return the sum of every entry, which is zero when the books balance."""
    total = await ctx.db.scalar(select(func.coalesce(func.sum(LedgerEntry.amount_minor), 0)))
    return int(total or 0)


async def unbalanced_transactions(ctx: Ctx) -> list[str]:
    """Return the ids of transactions whose entries do not sum to zero (should be none)."""
    rows = await ctx.db.execute(
        select(LedgerEntry.txn_id)
        .group_by(LedgerEntry.txn_id)
        .having(func.sum(LedgerEntry.amount_minor) != 0)
    )
    return [row[0] for row in rows]
