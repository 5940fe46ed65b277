"""The trust-attack benchmark runs end to end on a tiny world and its figures add up."""

from __future__ import annotations

from dataclasses import replace

import pytest

from laotie.bench.trust_attack import run_trust_attack
from laotie.sim.trust_world import WorldSettings

pytestmark = pytest.mark.any_backend  # its worlds live on throwaway SQLite files

TINY = WorldSettings(
    honest_shops=3,
    honest_buyers=30,
    office_buyers=10,
    brushing_shops=1,
    ring_size=6,
    days=20,
)


def test_a_tiny_attack_is_measured_against_its_twin() -> None:
    result = run_trust_attack(TINY, [0.0, 0.3])
    assert result["benchmark"] == "trust-attack"
    assert [run["camouflage"] for run in result["sweep"]] == [0.0, 0.3]
    top = result["sweep"][1]
    assert (result["precision"], result["recall"]) == (top["precision"], top["recall"])
    for run in result["sweep"]:
        assert 0 <= run["precision"] <= 1 and 0 <= run["recall"] <= 1
        assert run["fake_orders"] > 0
        assert run["flagged_orders"] == round(run["flagged_orders"])
        assert len(run["scores"]) == len(run["twin_scores"]) == 1
    assert result["sweep"][0]["camouflage_orders"] == 0 < top["camouflage_orders"]
    # Unflagged, five-star fake orders can only lift the brushing shop above its twin.
    assert top["inflation_unflagged"] >= top["inflation"]


def test_the_twin_holds_the_same_honest_orders_without_the_rings() -> None:
    calm = run_trust_attack(replace(TINY, ring_size=3), [0.5])
    (run,) = calm["sweep"]
    honest = run["orders"] - run["fake_orders"] - run["camouflage_orders"]
    assert honest == calm["twin_orders"] > 0
