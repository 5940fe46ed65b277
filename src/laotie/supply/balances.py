"""The balance of a confirmed campaign: each committer pays the price of the tier reached
less the deposit, in an order of the campaign's product, within a set time; a committer
who does not forfeits the deposit to the shop, and the units join the run's buffer, on
sale to anyone once the run ships.

The committed units stay with their commitments, off the shelf, until the committer asks
for the balance order: they are put on hand and reserved for it in one transaction, so no
other buyer can take them. The deposit is the order's discount (`orders/prepaid.py`): the
capture moves it from the campaign's account into escrow, and a refund of the order gives
it back to the buyer.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from laotie.accounts.permissions import Actor
from laotie.catalog import stock
from laotie.core.context import Ctx
from laotie.core.errors import AppError, not_found
from laotie.orders import checkout
from laotie.orders import service as orders
from laotie.orders.schemas import OrderOut, OrderStatus
from laotie.supply import campaigns as c
from laotie.supply import commitments as commits
from laotie.supply import money, runs
from laotie.supply.errors import SupplyError
from laotie.supply.models import Campaign, Commitment

APPLIED, FORFEITED = "applied", "forfeited"


def balance_due(ctx: Ctx, campaign: Campaign) -> datetime:
    """When the committers' time to pay the balance ends."""
    closed = campaign.closed_at or campaign.deadline
    return closed + timedelta(hours=ctx.settings.c2m_balance_hours)


async def do_start_balance(
    ctx: Ctx, buyer: Actor, commitment_id: str, key: str, address_id: str | None
) -> OrderOut:
    """Place the order of a confirmed commitment's units at the tier reached, less its
    deposit, shipped to the address (the default one when none is given); the buyer pays
    it as any order. The same key again answers the same order."""
    commitment = await ctx.db.get(Commitment, commitment_id)
    if commitment is None or commitment.buyer_id != buyer.id:
        raise not_found("commitment")
    campaign = await c.load_campaign(ctx, commitment.campaign_id, lock=True)
    await ctx.db.refresh(commitment, with_for_update=True)
    if commitment.status != commits.CONFIRMED:
        raise AppError.of(SupplyError.COMMITMENT_ENDED, f"the commitment is {commitment.status}")
    if ctx.now() >= balance_due(ctx, campaign):
        raise AppError.of(SupplyError.BALANCE_OVERDUE, "the time to pay the balance is over")
    replay = await checkout.replay_checkout(ctx, buyer.id, key)
    if replay is not None:
        return replay.orders[0]
    ordered = commitment.order_id is not None  # one balance order at a time
    if ordered and await orders.status_of(ctx, commitment.order_id or "") != OrderStatus.CANCELLED:
        raise AppError.of(SupplyError.BALANCE_ORDERED, "the balance has its order: pay that one")
    # The commitment's units join the shelf and the order reserves them at once; an order
    # that lapses gives them back to the commitment, not to the shelf.
    sku_id = (campaign.sku_ids or {})[commitment.variant]
    await stock.put_on_hand(ctx, sku_id, commitment.quantity)
    placed = await checkout.do_checkout(
        ctx,
        buyer,
        [(sku_id, commitment.quantity)],
        key,
        address_id=address_id,
        prepaid=checkout.Prepaid(
            shop_id=campaign.shop_id,
            amount_minor=commitment.deposit_minor,
            account=money.deposits_account(campaign.id),
            payment_id=commitment.payment_id,
        ),
        expires_at=balance_due(ctx, campaign),
    )
    order = placed.orders[0]
    commitment.order_id = order.id
    await ctx.db.flush()
    return order


async def mark_applied(ctx: Ctx, order_id: str) -> None:
    """A balance order was paid, its deposit with it: the commitment is fulfilled."""
    commitment = await ctx.db.scalar(
        select(Commitment).where(Commitment.order_id == order_id).with_for_update()
    )
    if commitment is not None and commitment.status == commits.CONFIRMED:
        commitment.status, commitment.ended_at = APPLIED, ctx.now()
        # Made to order: it ships when the run is due, not within the usual hours.
        made = await runs.production_of(ctx, commitment.campaign_id)
        if made is not None:
            ship_within = timedelta(hours=ctx.settings.ship_within_hours)
            await orders.set_ship_by(ctx, order_id, made.due_by + ship_within)


async def do_settle_balance(ctx: Ctx, commitment_id: str) -> bool:
    """After the balance is due: a commitment whose order was not paid forfeits its
    deposit to the shop and its units join the run's buffer; False if it is not due or
    moved on."""
    commitment = await ctx.db.get(Commitment, commitment_id)
    if commitment is None:
        return False
    campaign = await c.load_campaign(ctx, commitment.campaign_id, lock=True)
    await ctx.db.refresh(commitment, with_for_update=True)
    if commitment.status != commits.CONFIRMED or ctx.now() < balance_due(ctx, campaign):
        return False
    if commitment.order_id is not None:
        found = await orders.do_lapse_unpaid(ctx, commitment.order_id, "balance_not_paid")
        if found not in (OrderStatus.PENDING_PAYMENT, OrderStatus.CANCELLED):
            await mark_applied(ctx, commitment.order_id)  # paid as the time ran out
            return True
    # The units nobody will take: the run's buffer, sold once it ships.
    await runs.do_release_units(ctx, campaign, commitment.variant, commitment.quantity)
    await money.post_deposit_forfeited(ctx, commitment, campaign.shop_id, campaign.currency)
    commitment.status, commitment.ended_at = FORFEITED, ctx.now()
    await c.emit_progress(ctx, campaign)
    return True


# The deposits orders are paid with, and what their payment does (registered by the
# composition root).
DEPOSITS = {money.DEPOSITS: mark_applied}
