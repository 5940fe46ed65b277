"""The experiment trust-vs-gmv: paired worlds, intervals that are Student's t, its files."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from laotie.sim.experiment import (
    CHART,
    RESULTS,
    TABLES,
    conditions,
    paired,
    playing_order,
    run_experiment,
    tables,
)
from laotie.sim.settings import WorldSettings

pytestmark = pytest.mark.any_backend  # its worlds live on SQLite files of their own


def test_a_paired_difference_has_the_t_interval_of_its_differences() -> None:
    row = paired([11.0, 22.0, 33.0], [10.0, 20.0, 30.0])  # differences 1, 2, 3
    assert (row["trust"], row["gmv"], row["difference"]) == (22.0, 20.0, 2.0)
    half = 4.302653 * 1.0 / math.sqrt(3)  # t(0.975, 2) × sd / √n
    assert row["low"] == pytest.approx(2.0 - half, abs=1e-5)
    assert row["high"] == pytest.approx(2.0 + half, abs=1e-5)


def test_a_row_of_money_is_in_whole_yuan_and_a_share_to_four_places() -> None:
    money = paired([6_781.0, 6_900.0], [6_815.0, 6_920.0])  # differences −34 and −20
    share = paired([0.6277, 0.61], [0.6212, 0.60])
    results = {
        "seeds": [1, 2],
        "seconds": 1.0,
        "conditions": [{"name": "churn 1", "measures": {"gmv": money, "honest_share": share}}],
    }
    table = tables(results)
    assert "| total GMV (yuan) | 6,840 | 6,868 | -27 | [" in table
    assert "| GMV share of honest shops | 0.6189 | 0.6106 | 0.0083 | [" in table


def test_the_null_control_and_the_condition_it_controls_are_played_first() -> None:
    order = [c.name for c in playing_order(conditions((0.5, 1.0, 2.0)))]
    assert order == ["null control (churn 1)", "churn 1", "churn 0.5", "churn 2"]


def test_the_conditions_sweep_churn_and_end_with_a_null_control() -> None:
    found = conditions((0.5, 1.0, 2.0))
    assert [(c.churn, c.trust_matters) for c in found] == [
        (0.5, True),
        (1.0, True),
        (2.0, True),
        (1.0, False),
    ]


def test_the_experiment_pairs_each_seeds_worlds_and_writes_its_results(tmp_path: Path) -> None:
    tiny = WorldSettings(shops=4, buyers=20, days=1, opens_per_day=2.0)
    said: list[str] = []
    results = run_experiment(tiny, [1, 2], tmp_path, workers=2, churns=(1.0,), say=said.append)
    assert said[0] == "8 worlds, 2 at a time"
    assert [c["name"] for c in results["conditions"]] == ["churn 1", "null control (churn 1)"]
    gmv = results["conditions"][0]["measures"]["gmv"]
    assert len(gmv["pairs"]) == 2
    assert gmv["difference"] == pytest.approx(sum(a - b for a, b in gmv["pairs"]) / 2, abs=1e-5)
    worlds = sorted(p.parent.name for p in tmp_path.glob("worlds/*/*/summary.json"))
    names = [f"seed{seed}-{policy}" for seed in (1, 2) for policy in ("trust", "gmv")]
    assert worlds == sorted(names * 2)  # each condition played each seed under both
    assert json.loads((tmp_path / RESULTS).read_text())["seeds"] == [1, 2]
    assert "### null control (churn 1)" in (tmp_path / TABLES).read_text()
    assert (tmp_path / CHART).stat().st_size > 0
    again: list[str] = []  # run again: every world is taken from what was played
    rerun = run_experiment(tiny, [1, 2], tmp_path, workers=2, churns=(1.0,), say=again.append)
    assert all(line.endswith("earlier s") for line in again[1:]), again
    assert rerun["conditions"] == results["conditions"]
