"""The shop experience score's formula: observations in, dimensions and a score out, nothing else.

Pure functions over plain values, so that the formula published in `docs/trust.md` is
this module and nothing more: gathering the observations from orders, reviews and cases
is the job of the caller. Every dimension is a weighted mean of 1-to-5 observations,
each weighed by its age (a 30-day half-life inside a 90-day window), smoothed toward the
platform prior as if `PRIOR_WEIGHT` observations of the prior had been made; the score
is the dimensions' weighted sum, held between 3.00 and 5.00.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

FORMULA_VERSION = "shop-score-1"
WINDOW_DAYS = 90
HALF_LIFE_DAYS = 30.0
# Per dimension, a buyer's reviews of one shop count once in this many days.
PAIR_DAYS = 7
# The platform prior: the mean a dimension starts from, and how many observations it is worth.
PRIOR = 4.5
PRIOR_WEIGHT = 20.0
LOWEST, HIGHEST = 3.0, 5.0
# Fewer distinct paying buyers than this in the window: a new shop, which scores the prior.
# Counted in buyers, not observations, so that no review (a bad one least of all) can turn
# a new shop into a scored one and so raise what it shows.
NEW_SHOP_BUYERS = 10


class Dimension(StrEnum):
    """What the shop score is made of (DESIGN.md, Trust)."""

    PRODUCT = "product"
    LOGISTICS = "logistics"
    SERVICE = "service"
    LOYALTY = "loyalty"


# The tiers buyers see, from the top: the first whose floor the score reaches.
TIERS: tuple[tuple[str, float], ...] = (("excellent", 4.7), ("good", 4.4), ("fair", 4.0))
LOWEST_TIER = "low"
NEW_TIER = "new"

WEIGHTS: Mapping[Dimension, float] = {
    Dimension.PRODUCT: 0.35,
    Dimension.LOGISTICS: 0.25,
    Dimension.SERVICE: 0.25,
    Dimension.LOYALTY: 0.15,
}


@dataclass(frozen=True, slots=True)
class Observation:
    """One 1-to-5 signal about a shop in one dimension, and when it was made."""

    dimension: Dimension
    value: float
    at: datetime
    # What made it: "review", "shipped", "production_run", "quality_refund", "case", "repurchase".
    source: str
    # How many observations this one stands for (the loyalty rank: the buyers it ranked; a
    # production run: the units its buyers committed to).
    weight: float = 1.0


@dataclass(frozen=True, slots=True)
class ReviewStars:
    """A review's three stars, its buyer and its time: what the pair cap reads."""

    buyer_id: str
    at: datetime
    product: int
    logistics: int
    service: int


@dataclass(frozen=True, slots=True)
class DimensionInputs:
    """A dimension's aggregate inputs: enough, with the constants, to recompute its value."""

    dimension: Dimension
    weighted_sum: float  # the sum of weight × value over the counted observations
    weight: float  # the sum of their weights
    count: int  # how many observations counted

    @property
    def value(self) -> float:
        """The dimension's smoothed mean: the observations and the prior's pseudo-observations."""
        return (self.weighted_sum + PRIOR * PRIOR_WEIGHT) / (self.weight + PRIOR_WEIGHT)


@dataclass(frozen=True, slots=True)
class Score:
    """A shop's score and what it is made of."""

    value: float  # 3.00 to 5.00, rounded to two decimals
    new: bool  # too little data: the score is the prior
    buyers: int  # distinct paying buyers in the window
    dimensions: tuple[DimensionInputs, ...]


def decay(age: timedelta) -> float:
    """Return an observation's weight at this age: 1 when fresh, halving every 30 days."""
    return float(0.5 ** (max(age.total_seconds(), 0.0) / 86_400 / HALF_LIFE_DAYS))


def in_window(at: datetime, as_of: datetime) -> bool:
    """Tell whether an observation made at `at` counts on `as_of`."""
    return as_of - timedelta(days=WINDOW_DAYS) < at <= as_of


def counted_reviews(reviews: Iterable[ReviewStars]) -> list[ReviewStars]:
    """Keep a buyer's first review of the shop, then its next at least 7 days later, and so on."""
    last_counted: dict[str, datetime] = {}
    kept: list[ReviewStars] = []
    for review in sorted(reviews, key=lambda r: (r.at, r.buyer_id)):
        before = last_counted.get(review.buyer_id)
        if before is None or review.at - before >= timedelta(days=PAIR_DAYS):
            last_counted[review.buyer_id] = review.at
            kept.append(review)
    return kept


def review_observations(reviews: Iterable[ReviewStars]) -> list[Observation]:
    """Turn the counted reviews into one observation per dimension each."""
    made: list[Observation] = []
    for review in counted_reviews(reviews):
        made += [
            Observation(Dimension.PRODUCT, review.product, review.at, "review"),
            Observation(Dimension.LOGISTICS, review.logistics, review.at, "review"),
            Observation(Dimension.SERVICE, review.service, review.at, "review"),
        ]
    return made


def dimension_inputs(
    dimension: Dimension, observations: Iterable[Observation], as_of: datetime
) -> DimensionInputs:
    """Sum a dimension's observations in the window, each weighed by its age."""
    weighted_sum = weight = 0.0
    count = 0
    for seen in observations:
        if seen.dimension != dimension or not in_window(seen.at, as_of):
            continue
        w = decay(as_of - seen.at) * seen.weight
        weighted_sum += w * seen.value
        weight += w
        count += 1
    return DimensionInputs(dimension, weighted_sum, weight, count)


def shop_score(observations: Sequence[Observation], as_of: datetime, buyers: int) -> Score:
    """Return the shop's score on `as_of` from its observations and its buyers in the window."""
    dimensions = tuple(dimension_inputs(d, observations, as_of) for d in Dimension)
    return score_of(dimensions, buyers)


def score_of(dimensions: Sequence[DimensionInputs], buyers: int) -> Score:
    """Combine the dimensions' inputs into the score (the prior for a new shop)."""
    new = buyers < NEW_SHOP_BUYERS
    combined = PRIOR if new else sum(WEIGHTS[d.dimension] * d.value for d in dimensions)
    value = round(min(max(combined, LOWEST), HIGHEST), 2)
    return Score(value, new, buyers, tuple(dimensions))


def tier_of(score: Score) -> str:
    """Return the tier a score shows: `new`, or the first tier whose floor it reaches."""
    if score.new:
        return NEW_TIER
    return next((name for name, floor in TIERS if score.value >= floor), LOWEST_TIER)
