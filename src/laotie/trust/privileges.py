"""What a shop's trust lets it do: the privileges other features ask about.

Two things decide: the experience score (`service.shop_trust`) and the penalty points
(`penalties`), whose steps are settings (docs/trust.md).
"""

from __future__ import annotations

from laotie.catalog import service as catalog
from laotie.core.context import Ctx
from laotie.trust import penalties
from laotie.trust.service import shop_trust
from laotie.trust.traffic import traffic_multiplier


async def flash_sale_refusal(ctx: Ctx, shop_id: str) -> str | None:
    """Return why the shop may not run a flash sale now, or None if it may."""
    floor = ctx.settings.flash_sale_min_score
    trust = await shop_trust(ctx, shop_id)
    if trust.score < floor:
        return f"flash sales need a shop score of {floor:.2f}; this shop's is {trust.score:.2f}"
    points = await penalties.active_points(ctx, shop_id)
    step = ctx.settings.penalty_no_flash_sales_points
    if points >= step:
        return f"flash sales need fewer than {step} penalty points; this shop has {points}"
    return None


async def badge_earned(ctx: Ctx, shop_id: str, score: float, new: bool) -> bool:
    """Tell whether a shop earns the trust badge: a high score and no serious violation."""
    if new or score < ctx.settings.trust_badge_min_score:
        return False
    return not await penalties.has_serious_violation(ctx, shop_id)


async def review_badge(ctx: Ctx, shop_id: str) -> bool:
    """Grant or withdraw the shop's badge by its score now; return whether it holds it."""
    trust = await shop_trust(ctx, shop_id)
    earned = await badge_earned(ctx, shop_id, trust.score, trust.new)
    await catalog.set_shop_badge(ctx, shop_id, earned)
    return earned


async def feed_multiplier(ctx: Ctx, shop_id: str) -> float:
    """Return how much the recommendation feed weighs the shop: g(score), or 0 when barred."""
    points = await penalties.active_points(ctx, shop_id)
    if points >= ctx.settings.penalty_no_public_traffic_points:
        return 0.0
    return traffic_multiplier((await shop_trust(ctx, shop_id)).score)
