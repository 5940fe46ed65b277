"""The checkout benchmark runs end to end, briefly, and finds nothing lost or oversold."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from laotie.bench.common import postgres_bindir

EXPECTED_KEYS = {
    "orders_per_s",
    "p50_ms",
    "p99_ms",
    "place_p50_ms",
    "place_p99_ms",
    "statements_per_order",
    "statements_place_order",
    "baseline_rps",
    "ratio",
    "client_cpu",
    "client_bound",
    "lost",
    "oversold",
}


def _run_checkout_benchmark(*options: str) -> dict[str, object]:
    finished = subprocess.run(
        [
            sys.executable,
            "-c",
            "from laotie.cli import main; main()",
            "bench",
            "checkout",
            "--duration",
            "1",
            "--warmup",
            "0.2",
            "--concurrency",
            "4",
            "--json",
            *options,
        ],
        capture_output=True,
        timeout=240,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr.decode()[-3000:]
    result: dict[str, object] = json.loads(finished.stdout.decode().strip().splitlines()[-1])
    assert result.keys() >= EXPECTED_KEYS
    assert isinstance(result["orders_per_s"], float) and result["orders_per_s"] > 0
    assert result["lost"] == 0
    assert result["oversold"] == 0
    return result


@pytest.mark.server
def test_checkout_benchmark_reports_every_figure_and_loses_no_order() -> None:
    assert _run_checkout_benchmark()["database"] == "sqlite"


@pytest.mark.server
@pytest.mark.postgres
def test_checkout_benchmark_on_postgresql_loses_no_order() -> None:
    # The benchmark starts its own throwaway cluster, as the test runner does.
    if postgres_bindir() is None or (os.geteuid() == 0 and shutil.which("runuser") is None):
        reason = "PostgreSQL server programs not found (initdb)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    assert _run_checkout_benchmark("--database", "postgresql")["database"] == "postgresql"
