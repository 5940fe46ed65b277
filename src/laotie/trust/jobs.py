"""Trust's jobs: each shop's score kept once a day, and late shipping found from the deadlines."""

from __future__ import annotations

from sqlalchemy import select
from starlette.datastructures import State

from laotie.catalog import service as catalog
from laotie.core.context import unit_of_work_for
from laotie.core.jobs import Job
from laotie.trust.flags import last_detection_day, mark_detection_day, run_detection
from laotie.trust.loyalty import rank_loyalty
from laotie.trust.models import LoyaltyRank, ShopScore
from laotie.trust.penalties import detect_late_shipping
from laotie.trust.privileges import review_badges
from laotie.trust.service import keep_shop_scores

# Shops scored a run at the most: the runner comes back every few seconds for the rest.
BATCH = 100
# Shops scored together in one transaction, from one read of each kind of fact: small
# enough that the transaction (on SQLite, the process's turn to write) stays short.
SHOPS_A_TURN = 25


async def score_shops_daily(state: State) -> int:
    """Score the shops not scored yet today (UTC), a batch at a time; return how many."""
    async with unit_of_work_for(state) as ctx:
        today = ctx.now().date()
        scored = set(await ctx.db.scalars(select(ShopScore.shop_id).where(ShopScore.day == today)))
        due = [shop_id for shop_id in await catalog.shop_ids(ctx) if shop_id not in scored]
    due = due[:BATCH]
    for start in range(0, len(due), SHOPS_A_TURN):
        async with unit_of_work_for(state) as ctx:
            # Those another worker scored meanwhile are left out, their badges too.
            kept = await keep_shop_scores(ctx, due[start : start + SHOPS_A_TURN])
            await review_badges(ctx, kept)
    return len(due)


async def rank_loyalty_daily(state: State) -> int:
    """Rank every shop's repurchase in its category once a UTC day; return the shops ranked."""
    async with unit_of_work_for(state) as ctx:
        today = ctx.now().date()
        if await ctx.db.scalar(select(LoyaltyRank.shop_id).where(LoyaltyRank.day == today)):
            return 0
        ranks = await rank_loyalty(ctx)
        ctx.db.add_all(ranks)
    return len(ranks)


async def detect_brushing_daily(state: State) -> int:
    """Run brushing detection once a UTC day; return the orders newly flagged."""
    async with unit_of_work_for(state) as ctx:
        today = ctx.now().date()
        if await last_detection_day(ctx) == today:
            return 0
        added = await run_detection(ctx)
        await mark_detection_day(ctx, today)
    return added


async def find_late_shipping(state: State) -> int:
    """Record the late-shipping violations of deadlines just passed; return how many are new."""
    async with unit_of_work_for(state) as ctx:
        return await detect_late_shipping(ctx)


# Loyalty is ranked before the shops are scored, so that the day's scores read the day's ranks.
JOBS = (
    Job("trust.rank_loyalty_daily", rank_loyalty_daily),
    Job("trust.score_shops_daily", score_shops_daily),
    Job("trust.find_late_shipping", find_late_shipping),
    Job("trust.detect_brushing_daily", detect_brushing_daily),
)
