"""What a shop's trust lets it do: the privileges other features ask about."""

from __future__ import annotations

from laotie.core.context import Ctx
from laotie.trust.service import shop_trust


async def flash_sale_refusal(ctx: Ctx, shop_id: str) -> str | None:
    """Return why the shop may not run a flash sale now, or None if it may."""
    floor = ctx.settings.flash_sale_min_score
    trust = await shop_trust(ctx, shop_id)
    if trust.score < floor:
        return f"flash sales need a shop score of {floor:.2f}; this shop's is {trust.score:.2f}"
    return None
