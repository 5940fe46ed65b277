"""Flexible supply after the first run: a campaign's product that keeps selling is made
again in small batches, each sized and mixed from the sales since the run before it.

Whoever made it, sold it or runs the platform sees each variant's sales since the first
run, its returns and their reason codes (`campaign_sales`): apparel returns are high and
sizes the usual reason, so the next run's mix follows what stayed sold, not what sold.
The shop's owner opens a rerun once the last run has shipped (`do_open_rerun`): its units
are what the variants sold less what came back since that run (or as many as the shop
asks, split the same way), at the factory's tier for that quantity; the factory accepts,
makes and ships it as any run, and its units go on hand when it ships.
"""

from __future__ import annotations

from sqlalchemy import select

from laotie.accounts.permissions import Actor, Role
from laotie.catalog import service as catalog
from laotie.core.context import Ctx
from laotie.core.errors import AppError, not_found
from laotie.core.ids import new_id
from laotie.orders import sku_sales
from laotie.supply import campaigns as c
from laotie.supply import partners, runs
from laotie.supply.errors import SupplyError
from laotie.supply.factories import load_factory, tiers_of, unit_price_minor
from laotie.supply.models import Campaign, ProductionRun
from laotie.supply.schemas import CampaignSalesOut, RerunIn, RunOut, RunStep, VariantSalesOut


async def campaign_sales(ctx: Ctx, actor: Actor, campaign_id: str) -> CampaignSalesOut:
    """A confirmed campaign's sales by variant since its first run, with returns and their
    reasons (its shop's owner, its factory's owner, operators)."""
    campaign = await c.load_campaign(ctx, campaign_id)
    await _check_sees_sales(ctx, actor, campaign)
    first = await _runs_of(ctx, campaign.id)
    if not first:
        raise AppError.of(SupplyError.CAMPAIGN_NOT_CONFIRMED, f"the campaign is {campaign.status}")
    latest = first[-1]
    return CampaignSalesOut(
        campaign_id=campaign.id,
        since=first[0].created_at,
        variants=await _variant_sales(ctx, campaign, first[0]),
        since_last_run=latest.created_at,
        rerun_mix=plan_mix(await _net_since(ctx, campaign, latest), None),
    )


async def do_open_rerun(ctx: Ctx, actor: Actor, campaign_id: str, data: RerunIn) -> RunOut:
    """Order a rerun of a campaign's product from its factory, its mix the variants' net
    sales since the last run (the shop's owner, once that run has shipped)."""
    campaign = await c.load_campaign(ctx, campaign_id, lock=True)
    if not actor.has(Role.SELLER) or await catalog.shop_owner_id(ctx, campaign.shop_id) != actor.id:
        raise not_found("campaign")
    if campaign.status != c.CONFIRMED:
        raise AppError.of(SupplyError.CAMPAIGN_NOT_CONFIRMED, f"the campaign is {campaign.status}")
    made = await _runs_of(ctx, campaign.id)
    latest = made[-1]
    if latest.status not in (RunStep.SHIPPED, *runs.ENDED):
        raise AppError.of(
            SupplyError.RERUN_NOT_READY, f"the last run is {latest.status}: rerun once it ships"
        )
    if not await partners.is_partner(ctx, campaign.shop_id, campaign.factory_id):
        raise AppError.of(SupplyError.NOT_PARTNER, "the shop and the factory are not partners")
    net = await _net_since(ctx, campaign, latest)
    mix = plan_mix(net, data.units)
    total = sum(mix.values())
    factory = await load_factory(ctx, campaign.factory_id)
    cost = unit_price_minor(tiers_of(factory), total)
    if cost is None:
        raise AppError.of(
            SupplyError.MOQ_BELOW_FACTORY,
            f"{total} units sold since the last run; the factory makes runs of {factory.moq} "
            "at least: ask for that many",
        )
    run = ProductionRun(
        id=new_id("run"),
        campaign_id=campaign.id,
        number=latest.number + 1,
        factory_id=factory.id,
        committed={},
        buffer=mix,
        unit_cost_minor=cost,
        unit_price_minor=made[0].unit_price_minor,
        status=RunStep.ORDERED.value,
        steps={RunStep.ORDERED.value: ctx.now().isoformat()},
        created_at=ctx.now(),
    )
    ctx.db.add(run)
    await ctx.db.flush()
    return runs.run_out(run, campaign, factory, ctx.now())


def plan_mix(net: dict[str, int], units: int | None) -> dict[str, int]:
    """Split `units` (the net sales themselves when None) over the variants in proportion
    to their net sales, by largest remainder; without any sales, evenly."""
    weights = {variant: max(sold, 0) for variant, sold in net.items()}
    if units is None:
        return {variant: n for variant, n in weights.items() if n}
    if not sum(weights.values()):
        weights = dict.fromkeys(net, 1)
    whole = sum(weights.values())
    shares = {variant: units * weight / whole for variant, weight in weights.items()}
    mix = {variant: int(share) for variant, share in shares.items()}
    by_remainder = sorted(shares, key=lambda v: (mix[v] - shares[v], list(shares).index(v)))
    for variant in by_remainder[: units - sum(mix.values())]:
        mix[variant] += 1
    return {variant: n for variant, n in mix.items() if n}


async def _variant_sales(
    ctx: Ctx, campaign: Campaign, since_run: ProductionRun
) -> list[VariantSalesOut]:
    """Each variant's sales since a run, its returns, their rate and their reasons."""
    sku_ids = campaign.sku_ids or {}
    found = await sku_sales.sales_of_skus(ctx, list(sku_ids.values()), since_run.created_at)
    return [
        VariantSalesOut(
            variant=variant,
            sold=found[sku_id].sold,
            returned=found[sku_id].returned,
            return_rate=found[sku_id].returned / found[sku_id].sold if found[sku_id].sold else 0.0,
            reasons=found[sku_id].reasons,
        )
        for variant, sku_id in sku_ids.items()
    ]


async def _net_since(ctx: Ctx, campaign: Campaign, run: ProductionRun) -> dict[str, int]:
    """Each variant's units sold since the run less those returned."""
    return {v.variant: v.sold - v.returned for v in await _variant_sales(ctx, campaign, run)}


async def _runs_of(ctx: Ctx, campaign_id: str) -> list[ProductionRun]:
    """A campaign's runs, the first first."""
    found = await ctx.db.scalars(
        select(ProductionRun)
        .where(ProductionRun.campaign_id == campaign_id)
        .order_by(ProductionRun.number)
    )
    return list(found)


async def _check_sees_sales(ctx: Ctx, actor: Actor, campaign: Campaign) -> None:
    """The campaign's shop's owner, its factory's owner and operators see its sales."""
    if actor.has(Role.OPERATOR) or await catalog.shop_owner_id(ctx, campaign.shop_id) == actor.id:
        return
    if (await load_factory(ctx, campaign.factory_id)).owner_id != actor.id:
        raise not_found("campaign")
