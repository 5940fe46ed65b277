"""The simulated world: the same seed plays the same world, byte for byte, on the services."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from laotie.cli import app
from laotie.sim import buyers
from laotie.sim.output import CHARTS, summary_text
from laotie.sim.settings import ShopKind, WorldSettings
from laotie.sim.world import Outcome, simulate
from laotie.traffic.schemas import FeedPolicy

pytestmark = pytest.mark.any_backend  # its worlds live on SQLite files of their own

TINY = WorldSettings(shops=6, buyers=40, days=1, seed=3, opens_per_day=2.0, burst_share=1.0)


def _play(settings: WorldSettings, folder: Path) -> Outcome:
    return asyncio.run(simulate(settings, folder))


def test_the_same_seed_gives_a_byte_identical_summary_and_another_seed_another(
    tmp_path: Path,
) -> None:
    first = summary_text(_play(TINY, tmp_path / "a").report)
    again = summary_text(_play(TINY, tmp_path / "b").report)
    assert first == again
    other = json.loads(
        summary_text(_play(WorldSettings(**{**vars(TINY), "seed": 4}), tmp_path / "c").report)
    )
    mine = json.loads(first)
    assert other["world"]["seed"] == 4
    assert (other["metrics"], other["counts"]) != (mine["metrics"], mine["counts"])
    assert mine["counts"]["feed_opens"] > 0 and mine["counts"]["visits"] > 0
    assert mine["platform"]["fake_orders"] > 0  # the brushing shop's ring bought in its room


def test_the_world_has_every_kind_of_shop_even_when_tiny() -> None:
    counts = TINY.kind_counts()
    assert sum(counts.values()) == 6
    assert all(counts[kind] >= 1 for kind in ShopKind)


def test_simulate_writes_its_files_and_hands_the_gmv_policy_to_the_feed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[FeedPolicy | None] = []
    real = buyers.recommend

    async def spy(*args: Any, **kwargs: Any) -> Any:
        asked.append(kwargs.get("policy"))
        return await real(*args, **kwargs)

    monkeypatch.setattr(buyers, "recommend", spy)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app,
        [
            "simulate",
            "--days",
            "1",
            "--shops",
            "4",
            "--buyers",
            "30",
            "--policy",
            "gmv",
            "--seed",
            "5",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "expected" in result.output and "played 1 days" in result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["world"]["policy"] == "gmv"
    assert {"gmv_minor", "refund_rate", "repurchase_rate", "gini", "top20_shop_share"} <= set(
        summary["metrics"]
    )
    for name in ("shops.csv", "days.csv", *CHARTS):
        assert (out / name).stat().st_size > 0
    assert len((out / "shops.csv").read_text().splitlines()) == 1 + 4
    assert asked and set(asked) == {FeedPolicy.GMV}
