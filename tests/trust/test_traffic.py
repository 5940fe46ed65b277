"""g(score), the feed's trust multiplier: zero below the floor, one at the prior, rising."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from laotie.trust import score
from laotie.trust.traffic import FLOOR, traffic_multiplier

SCORES = st.floats(min_value=score.LOWEST, max_value=score.HIGHEST)


def test_the_published_points_of_the_curve() -> None:
    assert traffic_multiplier(FLOOR - 0.01) == 0.0
    assert traffic_multiplier(3.0) == 0.0
    assert traffic_multiplier(4.0) == 0.5
    assert traffic_multiplier(score.PRIOR) == 1.0  # a new shop
    assert traffic_multiplier(5.0) == 2.0


@given(SCORES, SCORES)
def test_a_higher_score_never_gets_less_traffic(a: float, b: float) -> None:
    low, high = sorted((a, b))
    assert traffic_multiplier(low) <= traffic_multiplier(high)
