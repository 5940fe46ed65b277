"""The feed benchmark runs end to end, briefly: every viewer's feed answered, figures printed."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.any_backend  # it starts its own server on a SQLite file


def test_the_feed_benchmark_answers_every_feed_it_asks_for() -> None:
    finished = subprocess.run(
        [
            sys.executable,
            "-c",
            "from laotie.cli import main; main()",
            "bench",
            "feed",
            "--rooms",
            "30",
            "--follows",
            "200",
            "--impressions",
            "1000",
            "--duration",
            "0.6",
            "--warmup",
            "0.2",
            "--concurrency",
            "4",
            "--json",
        ],
        capture_output=True,
        timeout=240,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr.decode()[-3000:]
    result = json.loads(finished.stdout.decode().strip().splitlines()[-1])
    assert (result["rooms"], result["viewers"], result["follow_edges"]) == (30, 20, 200)
    assert result["failures"] == {}  # every feed answered 200 with rooms in it
    assert result["feeds_per_s"] > 0 and result["p99_ms"] >= result["p50_ms"] > 0
