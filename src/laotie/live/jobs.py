"""Periodic jobs of live rooms: flash-sale sweeps, per-minute counters, anchors' reputation."""

from __future__ import annotations

from starlette.datastructures import State

from laotie.core.context import unit_of_work_for
from laotie.core.jobs import Job
from laotie.live.sale import jobs as sale_jobs
from laotie.live.session import minutes, reputation
from laotie.live.session.service import load_session


async def roll_up_minutes(state: State) -> int:
    """Write the per-minute counters of every complete minute of recent sessions."""
    written = 0
    async with unit_of_work_for(state) as ctx:
        session_ids = await minutes.sessions_to_roll_up(ctx)
    for session_id in session_ids:
        async with unit_of_work_for(state) as ctx:
            session = await load_session(ctx, session_id)
            for start in await minutes.minutes_due(ctx, session):
                await minutes.do_roll_up(ctx, session, start)
                written += 1
    return written


JOBS = (
    Job("live.end_due_sales", sale_jobs.end_due_sales),
    Job("live.sync_sales", sale_jobs.sync_sales),
    Job("live.roll_up_minutes", roll_up_minutes),
    Job("live.score_anchors_daily", reputation.score_anchors_daily),
)
