"""Traffic's jobs: each fan's intimacy and level kept once a day; the go-live fan-out (a
task) and the sweep that resumes it; promotions charged and ended."""

from __future__ import annotations

from starlette.datastructures import State

from laotie.core.context import unit_of_work_for
from laotie.core.jobs import Job
from laotie.core.tasks import Task
from laotie.traffic.fans import do_score, fans_due
from laotie.traffic.notify import NOTIFY_GO_LIVE, notify_go_live, resume_notifications
from laotie.traffic.promotions import active_promotion_ids, do_charge

# Fans scored a run at the most: the runner comes back every few seconds for the rest.
BATCH = 500


async def score_fans_daily(state: State) -> int:
    """Score the fans not scored yet today (UTC), a batch at a time; return how many."""
    async with unit_of_work_for(state) as ctx:
        due = await fans_due(ctx, BATCH)
    scored = 0
    for anchor_id, user_ids in due.items():
        async with unit_of_work_for(state) as ctx:
            scored += await do_score(ctx, anchor_id, user_ids)
    return scored


async def charge_promotions(state: State) -> int:
    """Charge every running promotion what it bought, ending those that are over; return
    how many moved."""
    async with unit_of_work_for(state) as ctx:
        running = await active_promotion_ids(ctx)
    moved = 0
    for promotion_id in running:
        async with unit_of_work_for(state) as ctx:
            moved += await do_charge(ctx, promotion_id)
    return moved


JOBS: tuple[Job, ...] = (
    Job("traffic.score_fans_daily", score_fans_daily),
    Job("traffic.resume_notifications", resume_notifications),
    Job("traffic.charge_promotions", charge_promotions),
)

# One-off work, run on taskiq (core/tasks.py).
TASKS = (Task(NOTIFY_GO_LIVE, notify_go_live),)
