"""Trust's jobs: each shop's score kept once a day, and late shipping found from the deadlines."""

from __future__ import annotations

from sqlalchemy import select
from starlette.datastructures import State

from laotie.catalog import service as catalog
from laotie.core.context import unit_of_work_for
from laotie.core.jobs import Job
from laotie.trust.models import ShopScore
from laotie.trust.penalties import detect_late_shipping
from laotie.trust.service import shop_trust

# Shops scored a run at the most: the runner comes back every few seconds for the rest.
BATCH = 100


async def score_shops_daily(state: State) -> int:
    """Score the shops not scored yet today (UTC), a batch at a time; return how many."""
    async with unit_of_work_for(state) as ctx:
        today = ctx.now().date()
        scored = set(await ctx.db.scalars(select(ShopScore.shop_id).where(ShopScore.day == today)))
        due = [shop_id for shop_id in await catalog.shop_ids(ctx) if shop_id not in scored]
    for shop_id in due[:BATCH]:
        async with unit_of_work_for(state) as ctx:
            trust = await shop_trust(ctx, shop_id)
            if await ctx.db.get(ShopScore, (shop_id, trust.as_of.date())) is not None:
                continue  # another worker scored it meanwhile
            ctx.db.add(
                ShopScore(
                    shop_id=shop_id,
                    day=trust.as_of.date(),
                    score=trust.score,
                    tier=trust.tier,
                    new=trust.new,
                    buyers=trust.buyers,
                    dimensions=[d.model_dump() for d in trust.dimensions],
                    formula_version=trust.formula.version,
                    computed_at=ctx.now(),
                )
            )
    return min(len(due), BATCH)


async def find_late_shipping(state: State) -> int:
    """Record the late-shipping violations of deadlines just passed; return how many are new."""
    async with unit_of_work_for(state) as ctx:
        return await detect_late_shipping(ctx)


JOBS = (
    Job("trust.score_shops_daily", score_shops_daily),
    Job("trust.find_late_shipping", find_late_shipping),
)
