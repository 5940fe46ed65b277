"""Defaults after confirmation: the factory declines the run, or the shop cancels the
campaign, before the goods ship. Every committer gets the deposit back twice over (the
rule for earnest money): the deposit itself, refunded through its payment (with the
balance, if paid), and as much again out of the shop's security deposit, which the
campaign's opening made sure covers it (`campaigns._check_deposit_covers`). Every paid
order of the product is refunded in full, and the product leaves the shelf.

A committer who already forfeited, or who had the balance order refunded of their own
accord, is owed nothing more.
"""

from __future__ import annotations

from sqlalchemy import select

from laotie.accounts.permissions import Actor, Role
from laotie.catalog import service as catalog
from laotie.core.context import Ctx
from laotie.core.errors import AppError, not_found
from laotie.orders import aftersales, balance
from laotie.orders import service as orders
from laotie.orders.deps import SANDBOX  # the provider the deposits are paid through
from laotie.orders.payments import Providers
from laotie.orders.schemas import OrderStatus
from laotie.supply import campaigns as c
from laotie.supply import commitments as commits
from laotie.supply import money, runs
from laotie.supply.balances import APPLIED
from laotie.supply.errors import SupplyError
from laotie.supply.models import Campaign, Commitment, ProductionRun
from laotie.supply.schemas import CampaignOut, RunOut, RunStep

RETURNED_DOUBLE = "returned_double"
DEFAULT_REASON = "the campaign's goods will not be made"


async def do_decline_run(ctx: Ctx, actor: Actor, run_id: str, providers: Providers) -> RunOut:
    """The factory's owner declines a run it has not shipped: the campaign defaults."""
    run, factory = await runs.own_run(ctx, actor, run_id)
    campaign = await c.load_campaign(ctx, run.campaign_id, lock=True)
    if run.number > 1:  # a rerun: nobody paid for it, so only the run ends
        _end_run(ctx, run, runs.DECLINED)
    else:
        await _default(ctx, campaign, run, runs.DECLINED, providers)
    return runs.run_out(run, campaign, factory, ctx.now())


async def do_cancel_campaign(
    ctx: Ctx, actor: Actor, campaign_id: str, providers: Providers
) -> CampaignOut:
    """The shop's owner cancels a confirmed campaign whose run has not shipped."""
    campaign = await c.load_campaign(ctx, campaign_id, lock=True)
    if not actor.has(Role.SELLER) or await catalog.shop_owner_id(ctx, campaign.shop_id) != actor.id:
        raise not_found("campaign")
    run = await ctx.db.scalar(
        select(ProductionRun)
        .where(ProductionRun.campaign_id == campaign.id, ProductionRun.number == 1)
        .with_for_update()
    )
    if run is None:
        raise AppError.of(SupplyError.CAMPAIGN_NOT_CONFIRMED, f"the campaign is {campaign.status}")
    await _default(ctx, campaign, run, runs.CANCELLED, providers)
    return await c.campaign_out(ctx, campaign)


async def _default(
    ctx: Ctx, campaign: Campaign, run: ProductionRun, ended: str, providers: Providers
) -> None:
    """End the run and the campaign, refund every order of its product, and return every
    committer's deposit double."""
    if campaign.status != c.CONFIRMED:
        raise AppError.of(SupplyError.CAMPAIGN_NOT_CONFIRMED, f"the campaign is {campaign.status}")
    _end_run(ctx, run, ended)
    campaign.status = c.DEFAULTED
    refunded = await _end_sales(ctx, campaign, providers)
    found = await ctx.db.scalars(
        select(Commitment)
        .where(Commitment.campaign_id == campaign.id)
        .order_by(Commitment.created_at, Commitment.id)
        .with_for_update()
    )
    provider = providers[SANDBOX]
    for commitment in found:
        owed = commitment.status == commits.CONFIRMED or (
            commitment.status == APPLIED and commitment.order_id in refunded
        )
        if not owed:
            continue
        if commitment.status == commits.CONFIRMED:  # still in the campaign's account
            await money.do_refund_deposit(ctx, commitment, provider, campaign.currency)
        await balance.do_compensate_from_deposit(
            ctx,
            campaign.shop_id,
            provider,
            commitment.payment_id,
            commitment.deposit_minor,
            campaign.currency,
        )
        commitment.status, commitment.ended_at = RETURNED_DOUBLE, ctx.now()
    await c.emit_progress(ctx, campaign)


def _end_run(ctx: Ctx, run: ProductionRun, ended: str) -> None:
    """End a run that has not shipped: declined or cancelled, with the date."""
    if run.status == RunStep.SHIPPED:
        raise AppError.of(SupplyError.RUN_SHIPPED, "the goods have shipped")
    if run.status in runs.ENDED:
        raise AppError.of(SupplyError.RUN_STEP_INVALID, f"the run was {run.status}")
    run.status = ended
    run.steps = {**run.steps, ended: ctx.now().isoformat()}


async def _end_sales(ctx: Ctx, campaign: Campaign, providers: Providers) -> set[str]:
    """Take the product off sale, cancel its unpaid orders and refund its paid ones (with
    their deposits); return the orders refunded."""
    if campaign.product_id is None:
        return set()
    await catalog.set_product_hidden(ctx, campaign.product_id)
    refunded: set[str] = set()
    sku_ids = list((campaign.sku_ids or {}).values())
    for order_id in await orders.open_orders_of_skus(ctx, sku_ids):
        if await orders.do_lapse_unpaid(ctx, order_id, "campaign_defaulted") != OrderStatus.PAID:
            continue
        if await aftersales.do_refund_in_full(ctx, order_id, DEFAULT_REASON, providers):
            refunded.add(order_id)
    return refunded
