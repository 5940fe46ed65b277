"""Supply's jobs: commitments whose deposit never came released, campaigns closed at
their deadline, deposits forfeited when the balance did not come in time."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Select, select
from starlette.datastructures import State

from laotie.core.context import Ctx
from laotie.core.jobs import Job, sweep
from laotie.orders.deps import sandbox_provider_of
from laotie.supply import balances
from laotie.supply import campaigns as c
from laotie.supply import commitments as commits
from laotie.supply.closing import do_close
from laotie.supply.models import Campaign, Commitment


async def release_unpaid_commitments(state: State) -> int:
    """Free the units of commitments whose deposit was not paid in time."""

    def due(ctx: Ctx) -> Select[str]:
        return select(Commitment.id).where(
            Commitment.status == commits.PENDING,
            Commitment.created_at <= commits.unpaid_since(ctx),
        )

    return await sweep(state, due, commits.do_release_unpaid)


async def close_due_campaigns(state: State) -> int:
    """Close the campaigns whose deadline has passed: confirmed or failed."""
    provider = sandbox_provider_of(state)

    def due(ctx: Ctx) -> Select[str]:
        return select(Campaign.id).where(Campaign.status == c.OPEN, Campaign.deadline <= ctx.now())

    async def act(ctx: Ctx, campaign_id: str) -> bool:
        return await do_close(ctx, campaign_id, provider)

    return await sweep(state, due, act)


async def settle_due_balances(state: State) -> int:
    """Forfeit the deposits of committers who did not pay the balance in time."""

    def due(ctx: Ctx) -> Select[str]:
        # The campaign's own due time is checked per commitment: this reads the candidates.
        closed_before = ctx.now() - timedelta(hours=ctx.settings.c2m_balance_hours)
        return (
            select(Commitment.id)
            .join(Campaign, Campaign.id == Commitment.campaign_id)
            .where(Commitment.status == commits.CONFIRMED, Campaign.closed_at <= closed_before)
        )

    return await sweep(state, due, balances.do_settle_balance)


JOBS = (
    Job("supply.release_unpaid_commitments", release_unpaid_commitments),
    Job("supply.close_campaigns", close_due_campaigns),
    Job("supply.settle_balances", settle_due_balances),
)
