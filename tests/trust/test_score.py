"""The score's formula: smoothing, decay, the pair cap, new shops, and bad news never helps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from laotie.supply.punctuality import RunPunctuality, observed
from laotie.trust.score import (
    LOWEST,
    NEW_SHOP_BUYERS,
    PRIOR,
    Dimension,
    Observation,
    ReviewStars,
    counted_reviews,
    decay,
    dimension_inputs,
    review_observations,
    shop_score,
)
from laotie.trust.service import run_observations

NOW = datetime(2026, 12, 1, tzinfo=UTC)
BUYERS = NEW_SHOP_BUYERS  # enough buyers to be scored rather than new


def _reviews(stars: list[int], days_ago: float = 1.0) -> list[ReviewStars]:
    """One review per star count, each from a buyer of its own."""
    at = NOW - timedelta(days=days_ago)
    return [ReviewStars(f"b{i}", at, s, s, s) for i, s in enumerate(stars)]


def _score(reviews: list[ReviewStars], as_of: datetime = NOW, buyers: int = BUYERS) -> float:
    return shop_score(review_observations(reviews), as_of, buyers).value


def test_three_perfect_reviews_do_not_beat_a_thousand_good_ones() -> None:
    good = [5] * 800 + [4] * 200  # a mean of 4.8
    assert _score(_reviews([5, 5, 5])) < _score(_reviews(good))


def test_a_few_reviews_move_a_dimension_little_from_the_prior() -> None:
    inputs = dimension_inputs(Dimension.PRODUCT, review_observations(_reviews([1])), NOW)
    assert PRIOR - 0.2 < inputs.value < PRIOR


@given(
    st.lists(st.integers(min_value=1, max_value=5), max_size=40),
    st.integers(min_value=0, max_value=30),
)
def test_a_one_star_review_never_raises_the_score(stars: list[int], buyers: int) -> None:
    before = _reviews(stars)
    one_star = ReviewStars("newcomer", NOW - timedelta(hours=1), 1, 1, 1)
    assert _score([*before, one_star], buyers=buyers) <= _score(before, buyers=buyers)


def test_old_news_weighs_less_as_the_clock_moves_and_leaves_the_window() -> None:
    bad = _reviews([1] * 30, days_ago=1)
    good = [ReviewStars(f"g{i}", NOW - timedelta(days=1), 5, 5, 5) for i in range(30)]
    today = _score(bad + good)
    later = NOW + timedelta(days=60)
    fresh_good = [ReviewStars(f"n{i}", later, 5, 5, 5) for i in range(30)]
    # Sixty days on, the bad reviews weigh a quarter as much as fresh good ones.
    assert _score(bad + good + fresh_good, as_of=later) > today
    assert decay(timedelta(days=30)) == 0.5
    gone = NOW + timedelta(days=91)
    assert _score(bad, as_of=gone) == PRIOR  # out of the window: only the prior is left


def test_a_buyer_counts_once_a_week_with_a_shop() -> None:
    at = NOW - timedelta(days=20)
    burst = [ReviewStars("b1", at + timedelta(days=d), 5, 5, 5) for d in (0, 1, 3, 7, 8, 14)]
    kept = counted_reviews(burst)
    assert [r.at for r in kept] == [at, at + timedelta(days=7), at + timedelta(days=14)]
    others = [ReviewStars("b2", at, 5, 5, 5)]
    assert len(counted_reviews(burst + others)) == 4


def test_a_new_shop_scores_the_prior_whatever_its_reviews() -> None:
    for stars in ([1] * 50, [5] * 50, []):
        score = shop_score(review_observations(_reviews(stars)), NOW, NEW_SHOP_BUYERS - 1)
        assert (score.value, score.new) == (PRIOR, True)


def test_the_score_stays_between_three_and_five() -> None:
    assert _score(_reviews([1] * 5_000)) == LOWEST
    assert _score(_reviews([5] * 5_000)) <= 5.0


def test_observations_of_other_kinds_count_in_their_dimension() -> None:
    late = [Observation(Dimension.LOGISTICS, 1, NOW - timedelta(days=2), "shipped")] * 40
    score = shop_score(late, NOW, BUYERS)
    logistics = next(d for d in score.dimensions if d.dimension == Dimension.LOGISTICS)
    product = next(d for d in score.dimensions if d.dimension == Dimension.PRODUCT)
    assert (logistics.count, product.count) == (40, 0)
    assert logistics.value < PRIOR == product.value


def _seen(dimension: Dimension, value: int, days: int, times: int = 1) -> list[Observation]:
    return [Observation(dimension, value, NOW - timedelta(days=days), "x")] * times


# docs/trust.md, "A worked example": the shop's observations, 12 buyers, on 1 December.
EXAMPLE = [
    *_seen(Dimension.PRODUCT, 5, 0, 8),
    *_seen(Dimension.PRODUCT, 3, 30, 2),
    *_seen(Dimension.PRODUCT, 1, 60),
    *_seen(Dimension.LOGISTICS, 5, 0, 10),
    *_seen(Dimension.LOGISTICS, 1, 30),
    *_seen(Dimension.SERVICE, 5, 0, 4),
]


def test_the_worked_example_of_the_published_formula() -> None:
    # docs/trust.md, "A worked example": the same observations, the same figures.
    score = shop_score(EXAMPLE, NOW, buyers=12)
    values = {d.dimension: round(d.value, 4) for d in score.dimensions}
    assert values == {
        Dimension.PRODUCT: 4.5556,
        Dimension.LOGISTICS: 4.6066,
        Dimension.SERVICE: 4.5833,
        Dimension.LOYALTY: 4.5,
    }
    assert (score.value, score.new) == (4.57, False)


def _run(units: int, due_days_ago: int, shipped_days_ago: int | None) -> RunPunctuality:
    """A partner factory's run of the example's shop, timed as on 1 December."""
    due = NOW - timedelta(days=due_days_ago)
    shipped = None if shipped_days_ago is None else NOW - timedelta(days=shipped_days_ago)
    known = observed(shipped, due, NOW)
    assert known is not None
    at, on_time = known
    return RunPunctuality("run", "campaign", "factory", "shop", due, shipped, on_time, at, units)


def test_the_worked_example_with_a_partner_factorys_runs() -> None:
    # docs/trust.md, "Production runs": the example's shop, with a run of 4 units shipped
    # today ahead of its due date and a run of 6 units due 30 days ago, still unshipped.
    runs = [_run(4, due_days_ago=-5, shipped_days_ago=0), _run(6, 30, None)]
    made = run_observations(runs)
    assert [(o.value, o.at, o.weight, o.source) for o in made] == [
        (5, NOW, 4, "production_run"),
        (1, NOW - timedelta(days=30), 6, "production_run"),
    ]
    score = shop_score([*EXAMPLE, *made], NOW, buyers=12)
    logistics = next(d for d in score.dimensions if d.dimension == Dimension.LOGISTICS)
    assert (logistics.weighted_sum, logistics.weight, logistics.count) == (73.5, 17.5, 13)
    assert round(logistics.value, 4) == 4.36
    assert score.value == 4.51
    # Had the second run shipped by its due date, 30 days ago:
    in_time = run_observations([runs[0], _run(6, 30, 30)])
    better = shop_score([*EXAMPLE, *in_time], NOW, buyers=12)
    logistics = next(d for d in better.dimensions if d.dimension == Dimension.LOGISTICS)
    assert (round(logistics.value, 4), better.value) == (4.68, 4.59)
