"""A running campaign's forecast, for its shop and its factory."""

from __future__ import annotations

from sqlalchemy import select

from laotie.accounts.permissions import Actor, Role
from laotie.catalog import service as catalog
from laotie.core.context import Ctx
from laotie.core.errors import not_found
from laotie.supply import campaigns as c
from laotie.supply import forecast
from laotie.supply.factories import load_factory
from laotie.supply.models import Commitment
from laotie.supply.schemas import ForecastOut


async def campaign_forecast(ctx: Ctx, actor: Actor, campaign_id: str) -> ForecastOut:
    """Forecast a campaign's final units from its paid commitments so far (the shop's
    owner, the campaign's opener, its factory's owner, operators)."""
    campaign = await c.load_campaign(ctx, campaign_id)
    if not await _may_see(ctx, actor, campaign.shop_id, campaign.factory_id, campaign.opened_by):
        raise not_found("campaign")
    paid = await ctx.db.execute(
        select(Commitment.paid_at, Commitment.quantity)
        .where(Commitment.campaign_id == campaign.id, Commitment.status.in_(c.PAID))
        .order_by(Commitment.paid_at)
    )
    span = (campaign.deadline - campaign.created_at).total_seconds()
    now = min(ctx.now(), campaign.deadline)
    elapsed_now = max((now - campaign.created_at).total_seconds() / span, 1e-6)
    elapsed, units, total = [], [], 0
    for paid_at, quantity in paid:
        if paid_at is None:  # a paid status always has its moment; never counted without
            continue
        total += quantity
        elapsed.append(min((paid_at - campaign.created_at).total_seconds() / span, elapsed_now))
        units.append(total)
    made = forecast.forecast([*elapsed, elapsed_now], [*units, total], elapsed_now)
    return ForecastOut(
        campaign_id=campaign.id,
        committed=total,
        moq=campaign.moq,
        forecast_units=made.units,
        reaches_moq=made.units >= campaign.moq,
        method=made.method,
        elapsed=round(elapsed_now, 4),
        made_at=ctx.now(),
    )


async def _may_see(ctx: Ctx, actor: Actor, shop_id: str, factory_id: str, opened_by: str) -> bool:
    if actor.has(Role.OPERATOR) or actor.id == opened_by:
        return True
    if await catalog.shop_owner_id(ctx, shop_id) == actor.id:
        return True
    return (await load_factory(ctx, factory_id)).owner_id == actor.id
