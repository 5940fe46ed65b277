"""A shop's score, computed on demand from its reviews and its orders' facts, with its inputs."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, select

from laotie.catalog import service as catalog
from laotie.core.context import Ctx
from laotie.orders.trust_facts import (
    ShopFacts,
    order_ids_of_sessions,
    scope_facts,
    sessions_scope,
    shop_facts,
    verified_sales,
)
from laotie.trust import flags, loyalty, score
from laotie.trust.models import AnchorScore, Review, ShopScore
from laotie.trust.schemas import (
    AnchorTrustOut,
    DimensionOut,
    FormulaOut,
    HintOut,
    LoyaltyOut,
    ScoreDayOut,
    ScoreOut,
    ShopTrustOut,
    VerifiedSalesOut,
)
from laotie.trust.score import Dimension, Observation, ReviewStars

# Orders under this value (minor units) do not count: cheap orders are brushing's tool.
MIN_ORDER_MINOR = 500

# What an after-sales case ending says of the service.
CASE_IN_TIME, CASE_LATE, DISPUTE_WON, DISPUTE_LOST = 5, 3, 5, 1


async def shop_trust(ctx: Ctx, shop_id: str) -> ShopTrustOut:
    """Compute a shop's score now, from the 90-day window."""
    shop = await catalog.get_shop(ctx, shop_id)  # an unknown shop is a 404
    as_of = ctx.now()
    since = as_of - timedelta(days=score.WINDOW_DAYS)
    excluded = await flags.excluded_orders(ctx, shop_id)
    facts = await shop_facts(ctx, shop_id, since, as_of, excluded)
    rank = await loyalty.latest_rank(ctx, shop_id, as_of)
    whose = and_(Review.shop_id == shop_id, Review.order_id.not_in(sorted(excluded)))
    observations = [
        *score.review_observations(await _reviews(ctx, whose, since, as_of)),
        *fact_observations(facts),
        *loyalty.loyalty_observation(rank),
    ]
    result = score.shop_score(observations, as_of, facts.buyers)
    sold = sum((await verified_sales(ctx, shop_id=shop_id, exclude=excluded)).values())
    out = trust_out(shop_id, as_of, result, sold)
    out.loyalty = LoyaltyOut.model_validate(rank) if rank else None
    out.badge = shop.trust_badge
    return out


async def score_history(ctx: Ctx, shop_id: str, days: int = score.WINDOW_DAYS) -> list[ScoreDayOut]:
    """Return the shop's daily scores of the last `days` days, oldest first."""
    await catalog.get_shop(ctx, shop_id)
    since = (ctx.now() - timedelta(days=days)).date()
    rows = await ctx.db.scalars(
        select(ShopScore)
        .where(ShopScore.shop_id == shop_id, ShopScore.day > since)
        .order_by(ShopScore.day)
    )
    return [ScoreDayOut.model_validate(row) for row in rows]


async def product_verified_sales(ctx: Ctx, product_id: str) -> VerifiedSalesOut:
    """Return a product's verified sales, in all and by SKU."""
    product = await catalog.product_detail(ctx, product_id, None)
    sku_ids = [sku.id for sku in product.skus]
    by_sku = await verified_units(ctx, sku_ids)
    return VerifiedSalesOut(product_id=product_id, units=sum(by_sku.values()), skus=by_sku)


async def verified_units(ctx: Ctx, sku_ids: list[str]) -> dict[str, int]:
    """Return the verified sales of each of these SKUs (brushed orders left out), in one read."""
    sold = await verified_sales(ctx, sku_ids=sku_ids, exclude=await flags.excluded_orders(ctx))
    return {sku_id: sold.get(sku_id, 0) for sku_id in sku_ids}


async def _reviews(
    ctx: Ctx, whose: ColumnElement[bool], since: datetime, until: datetime
) -> list[ReviewStars]:
    """Read the counted reviews' stars of a period: reviews of orders under the minimum are out."""
    rows = await ctx.db.execute(
        select(
            Review.buyer_id,
            Review.created_at,
            Review.product_stars,
            Review.logistics_stars,
            Review.service_stars,
        ).where(
            whose,
            Review.created_at > since,
            Review.created_at <= until,
            Review.order_value_minor >= MIN_ORDER_MINOR,
        )
    )
    return [ReviewStars(*row) for row in rows]


def fact_observations(facts: ShopFacts) -> list[Observation]:
    """Turn the orders' facts into observations: shipping, quality refunds, cases."""
    made = [
        Observation(Dimension.LOGISTICS, 5 if on_time else 1, at, "shipped")
        for at, on_time in facts.shipments
    ]
    made += [
        Observation(Dimension.PRODUCT, 1, at, "quality_refund") for at in facts.quality_refunds
    ]
    for case in facts.cases:
        if case.dispute is None:
            value, source = (CASE_IN_TIME, "case") if case.in_time else (CASE_LATE, "case_late")
        else:
            value, source = (
                (DISPUTE_LOST, "dispute_lost") if case.dispute else (DISPUTE_WON, "dispute_won")
            )
        made.append(Observation(Dimension.SERVICE, value, case.closed_at, source))
    return made


# How many fresh best observations a hint proposes, and what a seller does to earn them.
HINT_STEPS = 5
_HINT_ACTIONS = {
    "product": "get {n} more five-star product reviews",
    "logistics": "ship {n} more orders by their deadline",
    "service": "answer {n} more after-sales cases within the response time",
}


def raise_hints(trust: ShopTrustOut) -> list[HintOut]:
    """Say what would raise the score most: per dimension, `HINT_STEPS` fresh 5s, best first.

    A new shop is told how many buyers it still needs; loyalty has no hint, since it is
    the shop's rank among its category's repurchase rates.
    """
    if trust.new:
        missing = score.NEW_SHOP_BUYERS - trust.buyers
        action = f"sell to {missing} more buyers: the score counts from {score.NEW_SHOP_BUYERS}"
        return [HintOut(dimension="buyers", action=action, gain=0.0)]
    hints = []
    for d in trust.dimensions:
        wording = _HINT_ACTIONS.get(d.dimension)
        if wording is None:
            continue
        steps = float(HINT_STEPS)
        better = (d.weighted_sum + 5 * steps + score.PRIOR * score.PRIOR_WEIGHT) / (
            d.weight + steps + score.PRIOR_WEIGHT
        )
        gain = d.weight_in_score * (better - d.value)
        hints.append(HintOut(dimension=d.dimension, action=wording.format(n=HINT_STEPS), gain=gain))
    return sorted(hints, key=lambda hint: -hint.gain)


def trust_out(shop_id: str, as_of: datetime, result: score.Score, verified: int) -> ShopTrustOut:
    """Return the shop's score with its inputs and the formula's constants."""
    return ShopTrustOut(shop_id=shop_id, verified_sales=verified, **score_fields(as_of, result))


def score_fields(as_of: datetime, result: score.Score) -> dict[str, Any]:
    """Return the fields of `ScoreOut`: the score, its inputs and the formula's constants."""
    return dict(
        as_of=as_of,
        score=result.value,
        tier=score.tier_of(result),
        new=result.new,
        buyers=result.buyers,
        dimensions=[
            DimensionOut(
                dimension=d.dimension,
                weight_in_score=score.WEIGHTS[d.dimension],
                weighted_sum=d.weighted_sum,
                weight=d.weight,
                count=d.count,
                value=d.value,
            )
            for d in result.dimensions
        ],
        formula=FormulaOut(
            version=score.FORMULA_VERSION,
            window_days=score.WINDOW_DAYS,
            half_life_days=score.HALF_LIFE_DAYS,
            pair_days=score.PAIR_DAYS,
            prior=score.PRIOR,
            prior_weight=score.PRIOR_WEIGHT,
            new_shop_buyers=score.NEW_SHOP_BUYERS,
            lowest=score.LOWEST,
            highest=score.HIGHEST,
            min_order_minor=MIN_ORDER_MINOR,
        ),
    )


async def keep_shop_score(ctx: Ctx, shop_id: str) -> bool:
    """Keep the shop's score of today unless kept already; tell whether it was kept now."""
    trust = await shop_trust(ctx, shop_id)
    if await ctx.db.get(ShopScore, (shop_id, trust.as_of.date())) is not None:
        return False
    ctx.db.add(ShopScore(shop_id=shop_id, **_kept(ctx, trust)))
    return True


def _kept(ctx: Ctx, trust: ScoreOut) -> dict[str, Any]:
    """The columns a kept daily score shares, shop's or anchor's: its day, value and inputs."""
    return dict(
        day=trust.as_of.date(),
        score=trust.score,
        tier=trust.tier,
        new=trust.new,
        buyers=trust.buyers,
        dimensions=[d.model_dump() for d in trust.dimensions],
        formula_version=trust.formula.version,
        computed_at=ctx.now(),
    )


async def anchor_trust(ctx: Ctx, anchor_id: str, session_ids: list[str]) -> AnchorTrustOut:
    """Compute an anchor's reputation now from the orders placed in its sessions.

    The shop formula over those orders' reviews, shipping, refunds and cases; loyalty has
    no observations (repurchase is a shop's), so it is the prior.
    """
    as_of = ctx.now()
    since = as_of - timedelta(days=score.WINDOW_DAYS)
    excluded = await flags.excluded_orders(ctx)
    facts = await scope_facts(ctx, sessions_scope(session_ids, excluded), since, as_of)
    order_ids = sorted(set(await order_ids_of_sessions(ctx, session_ids)) - excluded)
    stars = await _reviews(ctx, Review.order_id.in_(order_ids), since, as_of)
    observations = [*score.review_observations(stars), *fact_observations(facts)]
    result = score.shop_score(observations, as_of, facts.buyers)
    return AnchorTrustOut(
        anchor_id=anchor_id, sessions=len(session_ids), **score_fields(as_of, result)
    )


async def keep_anchor_score(ctx: Ctx, anchor_id: str, session_ids: list[str]) -> bool:
    """Keep the anchor's reputation of today unless kept already; tell whether it was kept now."""
    trust = await anchor_trust(ctx, anchor_id, session_ids)
    if await ctx.db.get(AnchorScore, (anchor_id, trust.as_of.date())) is not None:
        return False
    ctx.db.add(AnchorScore(anchor_id=anchor_id, **_kept(ctx, trust)))
    return True


async def anchors_scored_on(ctx: Ctx, day: date) -> set[str]:
    """Return the anchors whose reputation of a day is kept."""
    return set(await ctx.db.scalars(select(AnchorScore.anchor_id).where(AnchorScore.day == day)))


async def anchor_history(
    ctx: Ctx, anchor_id: str, days: int = score.WINDOW_DAYS
) -> list[ScoreDayOut]:
    """Return the anchor's kept daily reputation of the last `days` days, oldest first."""
    since = (ctx.now() - timedelta(days=days)).date()
    rows = await ctx.db.scalars(
        select(AnchorScore)
        .where(AnchorScore.anchor_id == anchor_id, AnchorScore.day > since)
        .order_by(AnchorScore.day)
    )
    return [ScoreDayOut.model_validate(row) for row in rows]
