"""The checkout benchmark runs end to end, briefly, and finds nothing lost or oversold."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

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


@pytest.mark.server
def test_checkout_benchmark_reports_every_figure_and_loses_no_order() -> None:
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
        ],
        capture_output=True,
        timeout=180,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr.decode()[-3000:]
    result = json.loads(finished.stdout.decode().strip().splitlines()[-1])
    assert result.keys() >= EXPECTED_KEYS
    assert result["orders_per_s"] > 0
    assert result["lost"] == 0
    assert result["oversold"] == 0
