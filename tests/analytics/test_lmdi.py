"""Additive LMDI-I: the terms explain the change of GMV exactly, in minor units."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from laotie.analytics.lmdi import (
    ENTRY,
    EXIT,
    Segment,
    attribute,
    by_factor,
    largest_remainder,
    log_mean,
)


def live(uv: int, watch_s: int, buyers: int, orders: int, gmv: int) -> Segment:
    """A live segment from its counts, with the identity's factors."""
    return Segment(
        gmv,
        {
            "uv": uv,
            "watch_per_viewer": watch_s / uv,
            "conversion": buyers / watch_s,
            "frequency": orders / buyers,
            "order_value": gmv / orders,
        },
    )


def test_a_change_in_one_factor_is_owed_to_that_factor_alone() -> None:
    before = {"public": live(100, 6_000, 10, 12, 120_000)}
    after = {"public": live(100, 6_000, 10, 12, 150_000)}  # dearer orders, nothing else

    terms = attribute(before, after)

    assert by_factor(terms) == {
        "uv": 0,
        "watch_per_viewer": 0,
        "conversion": 0,
        "frequency": 0,
        "order_value": 30_000,
    }


def test_twice_the_viewers_at_the_same_rates_is_owed_to_uv() -> None:
    before = {"private": live(50, 3_000, 5, 5, 50_000)}
    after = {"private": live(100, 6_000, 10, 10, 100_000)}

    assert by_factor(attribute(before, after))["uv"] == 50_000


def test_the_terms_of_a_known_case_match_the_formula() -> None:
    before = {"s": Segment(100, {"x": 10.0, "y": 10.0})}
    after = {"s": Segment(300, {"x": 20.0, "y": 15.0})}

    terms = {t.factor: t.value for t in attribute(before, after)}

    weight = (300 - 100) / math.log(3)
    assert terms["x"] == pytest.approx(weight * math.log(2))
    assert terms["y"] == pytest.approx(weight * math.log(1.5))


def test_a_segment_in_one_period_only_is_one_entry_or_exit_term() -> None:
    shelf = Segment(40_000, {"uv": 20, "conversion": 0.2, "order_value": 10_000})
    public = live(100, 6_000, 10, 12, 120_000)

    appeared = attribute({"public": public}, {"public": public, "shelf": shelf})
    gone = attribute({"public": public, "shelf": shelf}, {"public": public})

    assert [(t.segment, t.factor, t.minor) for t in appeared if t.segment == "shelf"] == [
        ("shelf", ENTRY, 40_000)
    ]
    assert [(t.segment, t.factor, t.minor) for t in gone if t.segment == "shelf"] == [
        ("shelf", EXIT, -40_000)
    ]


def test_a_segment_without_gmv_counts_as_absent() -> None:
    # Viewers but no orders: c is zero and its logarithm undefined, so it is an entry.
    idle = Segment(0, {"uv": 30, "watch_per_viewer": 60.0, "conversion": 0.0})
    busy = live(30, 1_800, 3, 3, 9_000)

    terms = attribute({"public": idle}, {"public": busy})

    assert [(t.factor, t.minor) for t in terms] == [(ENTRY, 9_000)]


def test_a_present_segment_with_a_zero_factor_is_refused() -> None:
    broken = Segment(100, {"uv": 0.0})
    with pytest.raises(ValueError, match="not positive"):
        attribute({"s": Segment(50, {"uv": 5.0})}, {"s": broken})


def test_the_logarithmic_mean_of_equal_numbers_is_the_number() -> None:
    assert log_mean(7.0, 7.0) == 7.0
    assert log_mean(math.e, 1.0) == pytest.approx(math.e - 1)


def test_largest_remainder_gives_the_missing_units_to_the_largest_fractions() -> None:
    assert largest_remainder([1.6, 1.3, 0.1], 3) == [2, 1, 0]
    assert largest_remainder([-1.5, 2.5], 1) == [-1, 2]  # a tie goes to the first
    assert largest_remainder([], 0) == []


segments = st.builds(
    live,
    uv=st.integers(1, 10_000),
    watch_s=st.integers(1, 10_000_000),
    buyers=st.integers(1, 1_000),
    orders=st.integers(1, 3_000),
    gmv=st.integers(1, 10**10),
)
periods = st.dictionaries(st.sampled_from(["private", "public", "shelf"]), segments, max_size=3)


@given(periods, periods)
def test_the_rounded_terms_sum_to_the_change_exactly(before: dict, after: dict) -> None:
    terms = attribute(before, after)

    change = sum(s.gmv_minor for s in after.values()) - sum(s.gmv_minor for s in before.values())
    assert sum(t.minor for t in terms) == change
    assert all(abs(t.minor - t.value) < 1 for t in terms)


@given(periods, periods)
def test_each_segments_exact_terms_sum_to_its_own_change(before: dict, after: dict) -> None:
    terms = attribute(before, after)

    for name in before.keys() | after.keys():
        own = sum(t.value for t in terms if t.segment == name)
        was = before[name].gmv_minor if name in before else 0
        now = after[name].gmv_minor if name in after else 0
        assert own == pytest.approx(now - was, rel=1e-9, abs=1e-3)
