"""The world's concentration measures and its expected counts, on numbers worked by hand."""

from __future__ import annotations

from laotie.sim.report import gini, top_share
from laotie.sim.settings import ShopKind, WorldSettings
from laotie.sim.world import expected_counts


def test_gini_is_zero_for_equal_shops_and_near_one_for_one_shop_taking_all() -> None:
    assert gini([5, 5, 5, 5]) == 0.0
    assert gini([0, 0, 0, 10]) == 0.75  # (n - 1) / n: the most a Gini of four shops can be
    assert gini([1, 2, 3, 4]) == 0.25  # 2 × (1 + 4 + 9 + 16) / (4 × 10) − 5 / 4
    assert gini([]) == 0.0 and gini([0, 0]) == 0.0


def test_the_top_fifth_of_shops_holds_its_share_of_gmv() -> None:
    assert top_share([10, 0, 0, 0, 0, 0, 0, 0, 0, 10], 0.2) == 1.0
    assert top_share([1] * 10, 0.2) == 0.2
    assert top_share([3, 1], 0.2) == 0.75  # at least one shop is the top


def test_the_default_world_splits_its_shops_by_kind_and_expects_orders() -> None:
    default = WorldSettings()
    assert default.kind_counts() == {
        ShopKind.HONEST: 36,
        ShopKind.LOW_QUALITY: 9,
        ShopKind.DISHONEST: 9,
        ShopKind.BRUSHING: 6,
    }
    expected = expected_counts(default)
    assert expected["feed_opens"] == 30_000
    assert 0 < expected["orders"] < expected["visits"] < expected["feed_opens"]
    assert expected_counts(default) == expected  # fixed: its draws are its own
