"""The analytics benchmark runs end to end on a tiny history: every month answered, the
rollups and the raw rows agreeing, the history as large as asked."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from typing import Any

import pytest

from laotie.bench.analytics_history import Sizes, spread
from laotie.bench.common import postgres_bindir

pytestmark = pytest.mark.any_backend  # it starts its own server and database


def _run_tiny_benchmark(*options: str) -> dict[str, Any]:
    finished = subprocess.run(
        [
            sys.executable,
            "-c",
            "from laotie.cli import main; main()",
            "bench",
            "analytics",
            *("--shops", "4", "--buyers", "60", "--anchors", "6"),
            *("--orders", "400", "--visits", "2001", "--days", "70", "--requests", "12"),
            "--json",
            *options,
        ],
        capture_output=True,
        timeout=240,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr.decode()[-3000:]
    result: dict[str, Any] = json.loads(finished.stdout.decode().strip().splitlines()[-1])
    assert (result["shops"], result["sessions"], result["visits"]) == (4, 4 * 70, 2001)
    assert result["watch_minutes"] == 2 * 2001  # two minutes a visit on average, exactly
    assert (result["orders"], result["live_orders"]) == (400, 320)
    assert result["filled_days"] == 69  # yesterday is not final yet
    assert result["months_counted"] >= 1 and result["months_s"] > 0
    assert result["failures"] == {}
    assert result["same_answers"] == result["requests"] == 12
    assert result["p99_ms"] >= result["p50_ms"] > 0
    assert result["raw_p99_ms"] >= result["raw_p50_ms"] > 0
    return result


def test_the_analytics_benchmark_answers_every_month_alike_from_rollups_and_raw_rows() -> None:
    assert _run_tiny_benchmark()["database"] == "sqlite"


@pytest.mark.postgres
def test_the_analytics_benchmark_runs_on_postgresql() -> None:
    # The benchmark starts its own throwaway cluster, as the test runner does.
    if postgres_bindir() is None or (os.geteuid() == 0 and shutil.which("runuser") is None):
        reason = "PostgreSQL server programs not found (initdb)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    assert _run_tiny_benchmark("--database", "postgresql")["database"] == "postgresql"


def test_the_days_share_a_size_exactly_and_in_proportion() -> None:
    weights = [1.0, 2.5, 0.25, 7.0]
    parts = spread(1_000_003, weights)
    assert sum(parts) == 1_000_003
    for part, weight in zip(parts, weights, strict=True):
        assert abs(part - 1_000_003 * weight / sum(weights)) < 1


def test_live_orders_never_outnumber_the_signed_in_visits() -> None:
    assert Sizes(orders=1_000, visits=10_000).live_orders == 800  # four in five
    assert Sizes(orders=1_000, visits=100).live_orders == 80  # one visit in five is anonymous
