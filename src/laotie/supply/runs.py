"""Production runs: the purchase orders confirmed campaigns send their factories, and the
steps the factory reports as the run moves (accepted, materials, producing, quality
check, shipped), each with its date; a run not shipped by its due date is late, and its
campaign's buyers see so."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from laotie.accounts.permissions import Actor, Role
from laotie.catalog import stock
from laotie.core.context import Ctx
from laotie.core.errors import AppError, not_found
from laotie.supply.errors import SupplyError
from laotie.supply.factories import days_to_make, load_factory
from laotie.supply.models import Campaign, Factory, ProductionRun
from laotie.supply.schemas import ProductionOut, RunOut, RunStep

ORDER = list(RunStep)
# A run that will never ship: the factory declined it, or the shop cancelled its campaign
# (`supply/defaults.py`).
DECLINED, CANCELLED = "declined", "cancelled"
ENDED = (DECLINED, CANCELLED)


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
    return [run_out(run, campaign, factory, ctx.now()) for run, campaign in rows]


async def own_run(ctx: Ctx, actor: Actor, run_id: str) -> tuple[ProductionRun, Factory]:
    """A run of the actor's factory, locked, with its factory; anybody else's is not found."""
    run = await ctx.db.get(ProductionRun, run_id, with_for_update=True)
    if run is None:
        raise not_found("production run")
    factory = await load_factory(ctx, run.factory_id)
    if factory.owner_id != actor.id:
        raise not_found("production run")
    return run, factory


async def do_advance_run(ctx: Ctx, actor: Actor, run_id: str, step: RunStep) -> RunOut:
    """The factory's owner reports the step its run has reached: the next one, in order."""
    run, factory = await own_run(ctx, actor, run_id)
    if run.status in ENDED:
        raise AppError.of(SupplyError.RUN_STEP_INVALID, f"the run was {run.status}")
    current = ORDER.index(RunStep(run.status))
    if current + 1 >= len(ORDER) or ORDER[current + 1] != step:
        allowed = ORDER[current + 1].value if current + 1 < len(ORDER) else "nothing"
        raise AppError.of(
            SupplyError.RUN_STEP_INVALID, f"the run is {run.status}: next comes {allowed}"
        )
    run.status = step.value
    run.steps = {**run.steps, step.value: ctx.now().isoformat()}
    await ctx.db.flush()
    campaign = await ctx.db.get(Campaign, run.campaign_id)
    assert campaign is not None  # a run's campaign is never deleted
    if step == RunStep.SHIPPED:  # the units nobody ordered yet reach the shelf
        for variant, units in run.buffer.items():
            await stock.put_on_hand(ctx, (campaign.sku_ids or {})[variant], units)
    return run_out(run, campaign, factory, ctx.now())


async def production_of(ctx: Ctx, campaign_id: str) -> ProductionOut | None:
    """A confirmed campaign's production as its buyers follow it (None before a run)."""
    run = await ctx.db.scalar(
        select(ProductionRun).where(
            ProductionRun.campaign_id == campaign_id, ProductionRun.number == 1
        )
    )
    if run is None:
        return None
    factory = await load_factory(ctx, run.factory_id)
    due = due_by(run, factory)
    return ProductionOut(
        status=run.status, steps=_steps(run), due_by=due, late=_late(run, due, ctx.now())
    )


def due_by(run: ProductionRun, factory: Factory) -> datetime:
    """When the run's last unit is due: the lead time, then a week a week's capacity."""
    units = sum(run.committed.values()) + sum(run.buffer.values())
    return run.created_at + timedelta(
        days=days_to_make(factory.lead_time_days, factory.weekly_capacity, units)
    )


def _late(run: ProductionRun, due: datetime, now: datetime) -> bool:
    return run.status not in (RunStep.SHIPPED, *ENDED) and now > due


def _steps(run: ProductionRun) -> dict[str, datetime]:
    return {step: datetime.fromisoformat(at) for step, at in run.steps.items()}


def run_out(run: ProductionRun, campaign: Campaign, factory: Factory, now: datetime) -> RunOut:
    """The wire form of a run, with when its last unit is due and whether it is late."""
    due = due_by(run, factory)
    return RunOut(
        id=run.id,
        campaign_id=campaign.id,
        campaign_title=campaign.title,
        shop_id=campaign.shop_id,
        committed=run.committed,
        buffer=run.buffer,
        units=sum(run.committed.values()) + sum(run.buffer.values()),
        unit_cost_minor=run.unit_cost_minor,
        currency=campaign.currency,
        status=run.status,
        steps=_steps(run),
        created_at=run.created_at,
        due_by=due,
        late=_late(run, due, now),
        number=run.number,
        shipment=run.shipment,
    )


async def do_release_units(ctx: Ctx, campaign: Campaign, variant: str, units: int) -> None:
    """Committed units nobody will take (their deposit forfeited) join the first run's
    buffer, sold once the run ships; on hand at once if it has."""
    run = await ctx.db.scalar(
        select(ProductionRun)
        .where(ProductionRun.campaign_id == campaign.id, ProductionRun.number == 1)
        .with_for_update()
    )
    assert run is not None  # a confirmed campaign has its run
    run.committed = {**run.committed, variant: run.committed.get(variant, 0) - units}
    run.buffer = {**run.buffer, variant: run.buffer.get(variant, 0) + units}
    if run.status == RunStep.SHIPPED:
        await stock.put_on_hand(ctx, (campaign.sku_ids or {})[variant], units)
