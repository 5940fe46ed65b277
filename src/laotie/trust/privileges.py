"""What a shop's trust lets it do: the privileges other features ask about.

Two things decide: the experience score (`service.shop_trust`) and the penalty points
(`penalties`), whose steps are settings (docs/trust.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta

from sqlalchemy import bindparam, func, select

from laotie.catalog import service as catalog
from laotie.core.context import Ctx
from laotie.trust import penalties
from laotie.trust.models import AnchorScore, ShopScore, Violation
from laotie.trust.schemas import ScoreOut
from laotie.trust.service import shop_trust
from laotie.trust.traffic import NEUTRAL, traffic_multiplier

# A kept score older than this is stale: the shop is scored as new (the prior) until the
# daily job comes round again.
KEPT_SCORE_DAYS = 7


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


async def review_badges(ctx: Ctx, scores: Mapping[str, ScoreOut]) -> dict[str, bool]:
    """Grant or withdraw many shops' badges by their scores just made; return who holds one."""
    floor = ctx.settings.trust_badge_min_score
    serious = await penalties.with_serious_violation(ctx, list(scores))
    earned = {
        shop_id: not trust.new and trust.score >= floor and shop_id not in serious
        for shop_id, trust in scores.items()
    }
    await catalog.set_shop_badges(ctx, earned)
    return earned


async def feed_multiplier(ctx: Ctx, shop_id: str) -> float:
    """Return how much the recommendation feed weighs the shop: g(score), or 0 when barred."""
    return (await feed_multipliers(ctx, [shop_id]))[shop_id]


async def feed_multipliers(ctx: Ctx, shop_ids: Sequence[str]) -> dict[str, float]:
    """Return g of many shops at once, read from their kept daily scores; 0 when barred.

    The feed ranks a thousand rooms a request, so it reads the score the daily job kept
    (`score_shops_daily`) rather than computing one; a shop with none kept scores the prior.
    """
    wanted = sorted(set(shop_ids))
    if not wanted:
        return {}
    scores = await kept_scores(ctx, wanted)
    barred = await barred_from_public_traffic(ctx, wanted)
    return {
        shop_id: 0.0 if shop_id in barred else traffic_multiplier(scores.get(shop_id, NEUTRAL))
        for shop_id in wanted
    }


async def kept_scores(ctx: Ctx, shop_ids: Sequence[str]) -> dict[str, float]:
    """Return each shop's latest kept daily score of the last week, where it has one."""
    since = (ctx.now() - timedelta(days=KEPT_SCORE_DAYS)).date()
    rows = await ctx.db.execute(_KEPT_SCORES, {"ids": list(shop_ids), "since": since})
    return {shop_id: float(value) for shop_id, value in rows}


async def kept_tiers(ctx: Ctx, shop_ids: Sequence[str]) -> dict[str, str]:
    """Return each shop's tier of its latest kept daily score of the last week, where it has one."""
    since = (ctx.now() - timedelta(days=KEPT_SCORE_DAYS)).date()
    query = select(ShopScore.shop_id, ShopScore.tier).join(
        _LATEST_KEPT,
        (ShopScore.shop_id == _LATEST_KEPT.c.shop_id) & (ShopScore.day == _LATEST_KEPT.c.day),
    )
    rows = await ctx.db.execute(query, {"ids": list(shop_ids), "since": since})
    return {shop_id: str(tier) for shop_id, tier in rows}


async def kept_anchor_scores(ctx: Ctx, anchor_ids: Sequence[str]) -> dict[str, float]:
    """Return each anchor's latest kept daily reputation of the last week, where it has one."""
    since = (ctx.now() - timedelta(days=KEPT_SCORE_DAYS)).date()
    latest = (
        select(AnchorScore.anchor_id, func.max(AnchorScore.day).label("day"))
        .where(AnchorScore.anchor_id.in_(sorted(set(anchor_ids))), AnchorScore.day >= since)
        .group_by(AnchorScore.anchor_id)
        .subquery()
    )
    rows = await ctx.db.execute(
        select(AnchorScore.anchor_id, AnchorScore.score).join(
            latest,
            (AnchorScore.anchor_id == latest.c.anchor_id) & (AnchorScore.day == latest.c.day),
        )
    )
    return {anchor_id: float(value) for anchor_id, value in rows}


async def barred_from_public_traffic(ctx: Ctx, shop_ids: Sequence[str]) -> set[str]:
    """Return those of the shops whose penalty points bar them from public traffic now."""
    now = ctx.now()
    rows = await ctx.db.scalars(_VIOLATIONS_IN_FORCE, {"ids": list(shop_ids), "now": now})
    points: dict[str, int] = {}
    for violation in rows:
        if penalties.counts_at(violation, now):
            points[violation.shop_id] = points.get(violation.shop_id, 0) + violation.points
    step = ctx.settings.penalty_no_public_traffic_points
    return {shop_id for shop_id, total in points.items() if total >= step}


# The feed's reads of trust, built once: the feed reads every live room's every few seconds.
_LATEST_KEPT = (
    select(ShopScore.shop_id, func.max(ShopScore.day).label("day"))
    .where(ShopScore.shop_id.in_(bindparam("ids", expanding=True)))
    .where(ShopScore.day >= bindparam("since"))
    .group_by(ShopScore.shop_id)
    .subquery()
)
_KEPT_SCORES = select(ShopScore.shop_id, ShopScore.score).join(
    _LATEST_KEPT,
    (ShopScore.shop_id == _LATEST_KEPT.c.shop_id) & (ShopScore.day == _LATEST_KEPT.c.day),
)
_VIOLATIONS_IN_FORCE = select(Violation).where(
    Violation.shop_id.in_(bindparam("ids", expanding=True)),
    Violation.expires_at > bindparam("now"),
)
