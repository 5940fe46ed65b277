"""Production runs: the purchase orders confirmed campaigns send their factories."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from laotie.accounts.permissions import Actor, Role
from laotie.core.context import Ctx
from laotie.core.errors import not_found
from laotie.supply.factories import days_to_make, load_factory
from laotie.supply.models import Campaign, Factory, ProductionRun
from laotie.supply.schemas import RunOut


async def runs_of_factory(ctx: Ctx, actor: Actor, factory_id: str) -> list[RunOut]:
    """A factory's production runs, newest first (its owner, operators)."""
    factory = await load_factory(ctx, factory_id)
    if factory.owner_id != actor.id and not actor.has(Role.OPERATOR):
        raise not_found("factory")
    rows = await ctx.db.execute(
        select(ProductionRun, Campaign)
        .join(Campaign, Campaign.id == ProductionRun.campaign_id)
        .where(ProductionRun.factory_id == factory.id)
        .order_by(ProductionRun.created_at.desc(), ProductionRun.id)
        .limit(100)
    )
    return [run_out(run, campaign, factory) for run, campaign in rows]


def run_out(run: ProductionRun, campaign: Campaign, factory: Factory) -> RunOut:
    """The wire form of a run, with when its last unit is due."""
    units = sum(run.committed.values()) + sum(run.buffer.values())
    days = days_to_make(factory.lead_time_days, factory.weekly_capacity, units)
    return RunOut(
        id=run.id,
        campaign_id=campaign.id,
        campaign_title=campaign.title,
        shop_id=campaign.shop_id,
        committed=run.committed,
        buffer=run.buffer,
        units=units,
        unit_cost_minor=run.unit_cost_minor,
        currency=campaign.currency,
        status=run.status,
        created_at=run.created_at,
        due_by=run.created_at + timedelta(days=days),
    )
