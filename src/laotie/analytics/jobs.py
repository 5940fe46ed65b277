"""Analytics' job: the rollups filled with each day once it is final, then each month."""

from __future__ import annotations

from starlette.datastructures import State

from laotie.analytics.months import do_fill_month, do_mark_months_filled, months_due
from laotie.analytics.rollups import (
    do_fill_day,
    do_mark_filled,
    filled_through,
    first_day_with_facts,
    unfilled_days,
)
from laotie.core.context import unit_of_work_for
from laotie.core.jobs import Job


async def fill_rollups(state: State) -> int:
    """Fill the final days the rollups lack, a day a transaction, then count the whole
    months they now hold, a month a transaction; return how many days and months."""
    async with unit_of_work_for(state) as ctx:
        filled = await filled_through(ctx)
        first = await first_day_with_facts(ctx) if filled is None else None
        due = unfilled_days(filled, first, ctx.now().date())
    for day in due:
        async with unit_of_work_for(state) as ctx:
            await do_fill_day(ctx, day)
            await do_mark_filled(ctx, day)
    async with unit_of_work_for(state) as ctx:
        months = await months_due(ctx)
    for month in months:
        async with unit_of_work_for(state) as ctx:
            await do_fill_month(ctx, month)
            await do_mark_months_filled(ctx, month)
    return len(due) + len(months)


JOBS = (Job("analytics.fill_rollups", fill_rollups),)
