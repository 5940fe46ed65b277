"""The world's expected counts, on numbers worked by hand (its concentration measures are
analytics', tested in tests/analytics/test_claims.py)."""

from __future__ import annotations

from laotie.sim.settings import ShopKind, WorldSettings
from laotie.sim.world import expected_counts


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
