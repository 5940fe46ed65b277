"""The flash-sale benchmark runs end to end, briefly, in both modes, and oversells nothing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

KEYS = {"orders_per_s", "soldout_per_s", "p50_ms", "p99_ms", "oversold", "lost", "sold", "stock"}
KEYS |= {"baseline_rps", "ratio", "client_cpu", "client_bound"}


def _bench(*options: str) -> dict[str, object]:
    finished = subprocess.run(
        [
            sys.executable,
            "-c",
            "from laotie.cli import main; main()",
            "bench",
            "flash-sale",
            *options,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr[-3000:]
    result: dict[str, object] = json.loads(finished.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.server
def test_single_mode_sells_exactly_the_sale_and_reports_every_figure() -> None:
    result = _bench(
        "--buyers",
        "8",
        "--units",
        "40",
        "--baseline-duration",
        "0.5",
        "--soldout-duration",
        "0.5",
        "--json",
    )
    assert set(result) >= KEYS
    assert (result["oversold"], result["lost"], result["sold"]) == (0, 0, 40)


@pytest.mark.server
def test_cluster_mode_sells_exactly_the_sale() -> None:
    have_servers = shutil.which("redis-server") and (
        os.environ.get("LAOTIE_TEST_POSTGRES_URL")
        or shutil.which("initdb")
        or os.path.isdir("/usr/lib/postgresql")
    )
    if not have_servers:
        if os.environ.get("CI"):
            pytest.fail("cluster mode needs PostgreSQL and Redis")
        pytest.skip("cluster mode needs PostgreSQL and Redis")
    result = _bench(
        "--mode",
        "cluster",
        "--buyers",
        "6",
        "--units",
        "30",
        "--baseline-duration",
        "0.5",
        "--soldout-duration",
        "0.5",
        "--json",
    )
    assert (result["oversold"], result["lost"], result["sold"]) == (0, 0, 30)


def test_an_unknown_mode_is_refused() -> None:
    finished = subprocess.run(
        [
            sys.executable,
            "-c",
            "from laotie.cli import main; main()",
            "bench",
            "flash-sale",
            "--mode",
            "moon",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert finished.returncode != 0
    assert "single or cluster" in finished.stderr
