"""C2M in the demo world: the tea house's partner kiln, and the campaign its live show
opens for a teapot the kiln makes only if the room commits to enough of them."""

from __future__ import annotations

import logging
from datetime import timedelta

from laotie.accounts.permissions import Actor
from laotie.core.context import Ctx
from laotie.core.errors import AppError
from laotie.sim.catalogue import KILN, SHOW_CAMPAIGN, SHOW_CAMPAIGN_DAYS
from laotie.supply import campaigns, factories, partners
from laotie.supply.schemas import (
    CampaignIn,
    CampaignOut,
    FactoryVerificationIn,
    PartnershipAnswer,
    PartnershipIn,
    PartnershipStatus,
)

log = logging.getLogger(__name__)


async def seed_kiln(ctx: Ctx, operator: Actor, owner: Actor, seller: Actor, shop_id: str) -> str:
    """Register the kiln, have the operator verify it and the shop partner with it."""
    made = await factories.do_create_factory(ctx, owner, KILN)
    await factories.do_verify_factory(ctx, operator, made.id, FactoryVerificationIn(verified=True))
    asked = PartnershipIn(factory_id=made.id, note="Teapots for our evening shows")
    await partners.do_request_partnership(ctx, seller, shop_id, asked)
    await partners.do_answer_partnership(ctx, owner, made.id, shop_id, PartnershipAnswer.ACCEPT)
    return made.id


async def open_show_campaign(
    ctx: Ctx, anchor: Actor, shop_id: str, session_id: str
) -> CampaignOut | None:
    """Open the show's campaign with the shop's partner kiln, once a show; None when the
    shop has no partner, the show has one already, or the deposit cannot stand behind it."""
    active = [
        p
        for p in await partners.partners_of_shop(ctx, anchor, shop_id)
        if p.status == PartnershipStatus.ACTIVE
    ]
    if not active or await campaigns.campaigns_of(ctx, session_id=session_id):
        return None
    data = CampaignIn.model_validate(
        {
            **SHOW_CAMPAIGN,
            "shop_id": shop_id,
            "factory_id": active[0].factory_id,
            "session_id": session_id,
            "deadline": ctx.now() + timedelta(days=SHOW_CAMPAIGN_DAYS),
        }
    )
    try:
        async with ctx.db.begin_nested():  # a refusal leaves the show going live
            return await campaigns.do_open_campaign(ctx, anchor, data)
    except AppError as error:
        log.info("the show's campaign was not opened: %s", error.message)
        return None
