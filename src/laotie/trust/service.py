"""A shop's score, computed on demand from its reviews and its orders' facts, with its inputs."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute

from laotie.catalog import service as catalog
from laotie.core.context import Ctx
from laotie.db.bulk import id_chunks
from laotie.orders.trust_facts import (
    BY_SESSION,
    BY_SHOP,
    ShopFacts,
    grouped_facts,
    orders_of_sessions,
    verified_sales,
)
from laotie.supply.punctuality import RunPunctuality, runs_of_shops
from laotie.trust import flags, loyalty, penalties, score
from laotie.trust.models import AnchorScore, LoyaltyRank, Review, ShopScore
from laotie.trust.schemas import (
    AnchorTrustOut,
    DimensionOut,
    FormulaOut,
    HintOut,
    LoyaltyOut,
    ProductionRunOut,
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
# A confirmed misdescription of what an anchor sold weighs as this many quality refunds in
# the anchor's product dimension: the anchor vouched for the goods it described.
MISDESCRIPTION_WEIGHT = 3.0

# What a partner factory's run says of the shop's logistics: what a parcel's shipping says.
RUN_ON_TIME, RUN_LATE = 5, 1


async def shop_trust(ctx: Ctx, shop_id: str) -> ShopTrustOut:
    """Compute a shop's score now, from the 90-day window."""
    shop = await catalog.get_shop(ctx, shop_id)  # an unknown shop is a 404
    as_of = ctx.now()
    excluded = await flags.excluded_orders_of_shops(ctx, [shop_id])
    scored = (await _score_shops(ctx, [shop_id], as_of, excluded))[shop_id]
    sold = sum((await verified_sales(ctx, shop_id=shop_id, exclude=excluded[shop_id])).values())
    out = trust_out(shop_id, as_of, scored.result, sold)
    out.loyalty = LoyaltyOut.model_validate(scored.rank) if scored.rank else None
    out.production_runs = [ProductionRunOut.model_validate(run) for run in scored.runs]
    out.badge = shop.trust_badge
    return out


async def shop_scores(ctx: Ctx, shop_ids: Sequence[str]) -> dict[str, ScoreOut]:
    """Compute many shops' scores now, reading each kind of fact once for them all.

    The same score as `shop_trust` gives each alone, without what only its answer shows
    (verified sales, the loyalty rank read, the badge).
    """
    as_of = ctx.now()
    excluded = await flags.excluded_orders_of_shops(ctx, shop_ids)
    scored = await _score_shops(ctx, shop_ids, as_of, excluded)
    return {
        shop_id: ScoreOut(**score_fields(as_of, scored[shop_id].result)) for shop_id in shop_ids
    }


@dataclass(frozen=True, slots=True)
class _Scored:
    """A shop's score, the loyalty rank and the partner factories' runs it read."""

    result: score.Score
    rank: LoyaltyRank | None
    runs: list[RunPunctuality]


async def _score_shops(
    ctx: Ctx, shop_ids: Sequence[str], as_of: datetime, excluded: Mapping[str, set[str]]
) -> dict[str, _Scored]:
    """Score shops on `as_of` from one read of each kind of fact: reviews, orders, cases,
    ranks, production runs."""
    since = as_of - timedelta(days=score.WINDOW_DAYS)
    by_shop = {shop_id: shop_id for shop_id in shop_ids}
    facts = await grouped_facts(ctx, BY_SHOP, by_shop, since, as_of, excluded)
    ranks = await loyalty.latest_ranks(ctx, shop_ids, as_of)
    reviews = await _reviews(ctx, Review.shop_id, by_shop, excluded, since, as_of)
    runs = await runs_of_shops(ctx, shop_ids, as_of)
    scored = {}
    for shop_id in shop_ids:
        counted = [run for run in runs[shop_id] if score.in_window(run.at, as_of)]
        observations = [
            *score.review_observations(reviews.get(shop_id, [])),
            *fact_observations(facts[shop_id]),
            *run_observations(counted),
            *loyalty.loyalty_observation(ranks[shop_id]),
        ]
        result = score.shop_score(observations, as_of, facts[shop_id].buyers)
        scored[shop_id] = _Scored(result, ranks[shop_id], counted)
    return scored


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
    ctx: Ctx,
    key: InstrumentedAttribute[str],
    group_of: Mapping[str, str],
    excluded: Mapping[str, Collection[str]],
    since: datetime,
    until: datetime,
) -> dict[str, list[ReviewStars]]:
    """Read, by group, the counted reviews' stars of a period, in one read.

    `key` is the review's column that `group_of` maps to a group (its shop, its order);
    reviews of orders under the minimum, or excluded from their group, are out.
    """
    rows = await ctx.db.execute(
        select(
            key,
            Review.order_id,
            Review.buyer_id,
            Review.created_at,
            Review.product_stars,
            Review.logistics_stars,
            Review.service_stars,
        ).where(
            key.in_(sorted(group_of)),
            Review.created_at > since,
            Review.created_at <= until,
            Review.order_value_minor >= MIN_ORDER_MINOR,
        )
    )
    found: dict[str, list[ReviewStars]] = defaultdict(list)
    for keyed, order_id, buyer_id, at, product, logistics, service in rows:
        group = group_of[keyed]
        if order_id not in excluded.get(group, ()):
            found[group].append(ReviewStars(buyer_id, at, product, logistics, service))
    return found


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


def misdescription_observations(confirmed: Iterable[datetime]) -> list[Observation]:
    """Turn the confirmed misdescriptions of what an anchor sold into product observations.

    The anchor described the goods to its viewers, whichever shop made them: each one
    weighs as `MISDESCRIPTION_WEIGHT` quality refunds (docs/trust.md).
    """
    return [
        Observation(Dimension.PRODUCT, 1, at, "misdescription", MISDESCRIPTION_WEIGHT)
        for at in confirmed
    ]


def run_observations(runs: Sequence[RunPunctuality]) -> list[Observation]:
    """Turn the partner factories' runs into logistics observations, one a run.

    A run weighs as many observations as the units its buyers committed to: a factory's
    record is the units it makes, as a shop's is the parcels it ships (docs/trust.md).
    """
    return [
        Observation(
            Dimension.LOGISTICS,
            RUN_ON_TIME if run.on_time else RUN_LATE,
            run.at,
            "production_run",
            weight=run.units,
        )
        for run in runs
    ]


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
    await catalog.get_shop(ctx, shop_id)  # an unknown shop is a 404
    return shop_id in await keep_shop_scores(ctx, [shop_id])


async def keep_shop_scores(ctx: Ctx, shop_ids: Sequence[str]) -> dict[str, ScoreOut]:
    """Keep today's score of each shop not kept yet, scored together; return those kept now."""
    today = ctx.now().date()
    kept = set(
        await ctx.db.scalars(
            select(ShopScore.shop_id).where(
                ShopScore.day == today, ShopScore.shop_id.in_(sorted(set(shop_ids)))
            )
        )
    )
    scores = await shop_scores(ctx, [shop_id for shop_id in shop_ids if shop_id not in kept])
    ctx.db.add_all(
        ShopScore(shop_id=shop_id, **_kept(ctx, trust)) for shop_id, trust in scores.items()
    )
    return scores


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
    return (await anchors_trust(ctx, {anchor_id: session_ids}))[anchor_id]


async def anchors_trust(
    ctx: Ctx, sessions_of: Mapping[str, Sequence[str]]
) -> dict[str, AnchorTrustOut]:
    """Compute many anchors' reputations now, reading each kind of fact once for them all."""
    as_of = ctx.now()
    since = as_of - timedelta(days=score.WINDOW_DAYS)
    anchor_of = {
        session: anchor for anchor, sessions in sessions_of.items() for session in sessions
    }
    excluded = await flags.excluded_orders(ctx)
    left_out = {anchor_id: excluded for anchor_id in sessions_of}
    facts = await grouped_facts(ctx, BY_SESSION, anchor_of, since, as_of, left_out)
    orders = await orders_of_sessions(ctx, sorted(anchor_of))
    order_of = {order_id: anchor_of[session] for order_id, session in orders.items()}
    stars = await _reviews(ctx, Review.order_id, order_of, left_out, since, as_of)
    misdescribed = await penalties.misdescriptions_of_orders(ctx, order_of, since, as_of)
    made = {}
    for anchor_id, sessions in sessions_of.items():
        # An anchor with no session yet has no group among the facts: it has none.
        own = facts.get(anchor_id) or ShopFacts(0, [], [], [])
        observations = [
            *score.review_observations(stars.get(anchor_id, [])),
            *fact_observations(own),
            *misdescription_observations(
                at for order_id, at in misdescribed.items() if order_of[order_id] == anchor_id
            ),
        ]
        result = score.shop_score(observations, as_of, own.buyers)
        made[anchor_id] = AnchorTrustOut(
            anchor_id=anchor_id, sessions=len(sessions), **score_fields(as_of, result)
        )
    return made


async def keep_anchor_score(ctx: Ctx, anchor_id: str, session_ids: list[str]) -> bool:
    """Keep the anchor's reputation of today unless kept already; tell whether it was kept now."""
    return bool(await keep_anchor_scores(ctx, {anchor_id: session_ids}))


async def keep_anchor_scores(ctx: Ctx, sessions_of: Mapping[str, Sequence[str]]) -> int:
    """Keep today's reputation of each anchor not kept yet, scored together; return how many."""
    done = await anchors_scored_on(ctx, ctx.now().date(), list(sessions_of))
    due = {anchor_id: s for anchor_id, s in sessions_of.items() if anchor_id not in done}
    scores = await anchors_trust(ctx, due)
    ctx.db.add_all(
        AnchorScore(anchor_id=anchor_id, **_kept(ctx, trust)) for anchor_id, trust in scores.items()
    )
    return len(scores)


async def anchors_scored_on(
    ctx: Ctx, day: date, anchor_ids: Sequence[str] | None = None
) -> set[str]:
    """Return the anchors (of all, or of these) whose reputation of a day is kept."""
    query = select(AnchorScore.anchor_id).where(AnchorScore.day == day)
    if anchor_ids is not None:
        query = query.where(AnchorScore.anchor_id.in_(sorted(set(anchor_ids))))
    return set(await ctx.db.scalars(query))


async def anchor_scores_on(ctx: Ctx, day: date, anchor_ids: Sequence[str]) -> dict[str, float]:
    """Return the reputation kept for a day of each of these anchors that has one."""
    found: dict[str, float] = {}
    for chunk in id_chunks(anchor_ids):
        rows = await ctx.db.execute(
            select(AnchorScore.anchor_id, AnchorScore.score).where(
                AnchorScore.day == day, AnchorScore.anchor_id.in_(chunk)
            )
        )
        found.update({str(anchor_id): float(kept) for anchor_id, kept in rows})
    return found


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
