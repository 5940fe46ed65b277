"""The factories' on-time record: a production run shipped by its due date is on time; one
shipped after it, or still unshipped once it has passed, is late. Trust reads it into the
partner shop's logistics (docs/trust.md, "Production runs")."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from laotie.core.context import Ctx
from laotie.db.bulk import id_chunks

# Not `campaigns` or what uses it: they reach the live rooms, which reach trust, which
# imports this module (an import-linter contract holds it).
from laotie.supply.models import Campaign, Factory, ProductionRun
from laotie.supply.runs import due_by
from laotie.supply.schemas import RunStep

# The states of a run in production. A run in any other (declined by its factory,
# cancelled by its shop) is a default, which is answered as one, not timed.
IN_PRODUCTION = sorted(step.value for step in RunStep)


@dataclass(frozen=True, slots=True)
class RunPunctuality:
    """A run's punctuality, known once it shipped or its due date passed unshipped."""

    run_id: str
    campaign_id: str
    factory_id: str
    shop_id: str
    due_by: datetime
    shipped_at: datetime | None
    on_time: bool
    at: datetime  # when it became known: the shipping, or the due date passing
    units: int  # the units its buyers committed to (not the buffer, which nobody bought
    # yet); a rerun's, all of them


def observed(
    shipped_at: datetime | None, due: datetime, now: datetime
) -> tuple[datetime, bool] | None:
    """When a run's punctuality became known and whether it was on time; None before then."""
    if shipped_at is not None and shipped_at <= now:
        return shipped_at, shipped_at <= due
    if now > due:
        return due, False
    return None


def shipped_at(run: ProductionRun) -> datetime | None:
    """When the run shipped, if it has."""
    if run.status != RunStep.SHIPPED or RunStep.SHIPPED.value not in run.steps:
        return None
    return datetime.fromisoformat(run.steps[RunStep.SHIPPED.value])


def punctuality_of(
    run: ProductionRun, factory: Factory, shop_id: str, now: datetime
) -> RunPunctuality | None:
    """A run's punctuality as known by `now`, or None while it is neither shipped nor due."""
    due = due_by(run, factory)
    shipped = shipped_at(run)
    known = observed(shipped, due, now)
    if known is None:
        return None
    at, on_time = known
    return RunPunctuality(
        run_id=run.id,
        campaign_id=run.campaign_id,
        factory_id=factory.id,
        shop_id=shop_id,
        due_by=due,
        shipped_at=shipped,
        on_time=on_time,
        at=at,
        # A rerun has no buyers' commitments: its weight is its units.
        units=sum(run.committed.values()) if run.number == 1 else sum(run.buffer.values()),
    )


async def runs_of_shops(
    ctx: Ctx, shop_ids: Sequence[str], now: datetime
) -> dict[str, list[RunPunctuality]]:
    """Read the punctuality known by `now` of the runs of each shop's campaigns, in one read."""
    found: dict[str, list[RunPunctuality]] = defaultdict(list)
    for chunk in id_chunks(shop_ids):
        rows = await ctx.db.execute(
            select(ProductionRun, Factory, Campaign.shop_id)
            .join(Campaign, Campaign.id == ProductionRun.campaign_id)
            .join(Factory, Factory.id == ProductionRun.factory_id)
            .where(Campaign.shop_id.in_(chunk), ProductionRun.status.in_(IN_PRODUCTION))
            .order_by(ProductionRun.created_at, ProductionRun.id)
        )
        for run, factory, shop_id in rows:
            made = punctuality_of(run, factory, shop_id, now)
            if made is not None:
                found[shop_id].append(made)
    return {shop_id: found.get(shop_id, []) for shop_id in shop_ids}
