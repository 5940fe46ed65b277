"""Loyalty: a shop's repurchase rate as a percentile among the shops of its main category.

A shop's main category is the one holding most of its GMV in the score window; it is
ranked among the shops of that category with at least `MIN_BUYERS` buyers in the window,
so that a jade seller is compared with jade sellers, not with a tea shop whose buyers come
back every month (DESIGN.md, Trust). The ranks are computed for every shop once a day
(`rank_loyalty`), and the score reads the shop's latest.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from sqlalchemy import select

from laotie.analytics.repurchase import shops_repurchase
from laotie.catalog import service as catalog
from laotie.core.context import Ctx
from laotie.orders.trust_facts import gmv_by_product
from laotie.trust import score
from laotie.trust.models import LoyaltyRank

MIN_BUYERS = 20
# A rank older than this no longer counts (the daily job stopped).
STALE_DAYS = 7


def main_category(gmv_by_category: Mapping[str, int]) -> str | None:
    """Return the category with the most GMV (the first by name on a tie), or None."""
    if not gmv_by_category:
        return None
    return min(gmv_by_category, key=lambda slug: (-gmv_by_category[slug], slug))


def percentiles(rates: Mapping[str, float]) -> dict[str, float]:
    """Rank rates from 0 (lowest) to 1 (highest), ties sharing their middle rank."""
    others = len(rates) - 1
    if others < 1:
        return {}
    values = list(rates.values())
    return {
        key: (sum(v < rate for v in values) + (sum(v == rate for v in values) - 1) / 2) / others
        for key, rate in rates.items()
    }


def loyalty_value(percentile: float) -> float:
    """Turn a percentile into the loyalty dimension's 1-to-5 value: 4.00 to 5.00 around the prior.

    The median shop observes the prior, so loyalty moves only the shops that differ from
    their category, half a point at most either way.
    """
    return score.PRIOR + percentile - 0.5


async def rank_loyalty(ctx: Ctx) -> list[LoyaltyRank]:
    """Rank every shop with buyers in the window by repurchase within its main category."""
    as_of = ctx.now()
    since = as_of - timedelta(days=score.WINDOW_DAYS)
    repurchases = await shops_repurchase(ctx, since, as_of)
    gmv = await gmv_by_product(ctx, since, as_of)
    categories = await catalog.product_categories(
        ctx, (product for products in gmv.values() for product in products)
    )
    ranks: dict[str, LoyaltyRank] = {}
    peers: dict[str, dict[str, float]] = defaultdict(dict)
    for shop_id, counted in repurchases.items():
        by_category: dict[str, int] = defaultdict(int)
        for product_id, value in gmv.get(shop_id, {}).items():
            by_category[categories.get(product_id, "")] += value
        category = main_category(by_category)
        if category is None:
            continue
        ranks[shop_id] = LoyaltyRank(
            day=as_of.date(),
            shop_id=shop_id,
            category_slug=category,
            buyers=counted.buyers,
            repeat_buyers=counted.repeat_buyers,
            rate=counted.rate,
            peers=0,
            percentile=None,
            computed_at=as_of,
        )
        if counted.buyers >= MIN_BUYERS:
            peers[category][shop_id] = counted.rate
    for shops in peers.values():
        for shop_id, percentile in percentiles(shops).items():
            ranks[shop_id].percentile = percentile
            ranks[shop_id].peers = len(shops)
    return list(ranks.values())


async def latest_rank(ctx: Ctx, shop_id: str, as_of: datetime) -> LoyaltyRank | None:
    """Return the shop's latest rank not after `as_of` and not stale, if any."""
    day = as_of.date()
    rank: LoyaltyRank | None = await ctx.db.scalar(
        select(LoyaltyRank)
        .where(
            LoyaltyRank.shop_id == shop_id,
            LoyaltyRank.day <= day,
            LoyaltyRank.day > day - timedelta(days=STALE_DAYS),
        )
        .order_by(LoyaltyRank.day.desc())
        .limit(1)
    )
    return rank


async def latest_ranks(
    ctx: Ctx, shop_ids: Sequence[str], as_of: datetime
) -> dict[str, LoyaltyRank | None]:
    """Return each shop's latest rank not after `as_of` and not stale, in one read."""
    day = as_of.date()
    rows = await ctx.db.scalars(
        select(LoyaltyRank)
        .where(
            LoyaltyRank.shop_id.in_(sorted(set(shop_ids))),
            LoyaltyRank.day <= day,
            LoyaltyRank.day > day - timedelta(days=STALE_DAYS),
        )
        .order_by(LoyaltyRank.shop_id, LoyaltyRank.day.desc())
    )
    found: dict[str, LoyaltyRank | None] = {shop_id: None for shop_id in shop_ids}
    for rank in rows:
        found[rank.shop_id] = found[rank.shop_id] or rank
    return found


def loyalty_observation(rank: LoyaltyRank | None) -> list[score.Observation]:
    """The loyalty dimension's one observation, weighing as many as the buyers ranked."""
    if rank is None or rank.percentile is None:
        return []
    value = loyalty_value(rank.percentile)
    return [
        score.Observation(
            score.Dimension.LOYALTY, value, rank.computed_at, "repurchase", weight=rank.buyers
        )
    ]
