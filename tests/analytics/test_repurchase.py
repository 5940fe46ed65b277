"""Repurchase by DESIGN.md's definition: an order in the period and an earlier one of the
same shop at most 365 days before it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from laotie.analytics.repurchase import LOOKBACK_DAYS, Repurchase, repurchase

START = datetime(2026, 3, 1, tzinfo=UTC)
END = START + timedelta(days=90)


def days(n: float) -> timedelta:
    return timedelta(days=n)


def test_a_repeat_buyer_paid_in_the_period_and_earlier_within_the_lookback() -> None:
    paid = [
        ("ann", START + days(10)),  # once in the period only: a buyer, not a repeat one
        ("bob", START - days(100)),  # before the period, then in it: repeat
        ("bob", START + days(5)),
        ("cy", START + days(1)),  # twice in the period: the second has an earlier one
        ("cy", START + days(30)),
        ("dee", START + days(20) - days(LOOKBACK_DAYS + 1)),  # a year and a day before
        ("dee", START + days(20)),
        ("eve", START - days(10)),  # never in the period: not a buyer of it
    ]
    counted = repurchase(paid, START, END)
    assert counted == Repurchase(buyers=4, repeat_buyers=2)
    assert counted.rate == 0.5


def test_the_lookback_is_365_days_inclusive_and_the_period_excludes_its_start() -> None:
    exactly = [("ann", START + days(1) - days(LOOKBACK_DAYS)), ("ann", START + days(1))]
    assert repurchase(exactly, START, END).repeat_buyers == 1
    at_start = [("bob", START - days(3)), ("bob", START)]
    assert repurchase(at_start, START, END) == Repurchase(0, 0)
    assert Repurchase(0, 0).rate == 0.0


@given(
    st.lists(
        st.tuples(st.sampled_from("abcdef"), st.integers(min_value=-400, max_value=89)),
        max_size=30,
    )
)
def test_repeat_buyers_are_buyers_and_more_orders_never_lower_them(
    orders: list[tuple[str, int]],
) -> None:
    paid = [(buyer, START + days(day) + timedelta(hours=1)) for buyer, day in orders]
    counted = repurchase(paid, START, END)
    assert 0 <= counted.repeat_buyers <= counted.buyers <= len({b for b, _ in orders})
    more = repurchase([*paid, *paid[:1]], START, END)  # a second order at the same moment
    assert more.repeat_buyers >= counted.repeat_buyers
