"""The room fan-out benchmark runs end to end, briefly, and its probes receive chat."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEADLINE_KEYS = {
    "p50_ms",
    "p99_ms",
    "frames_per_s",
    "rss_kib_per_viewer",
    "baseline",
    "ratio",
    "client_cpu",
    "client_bound",
    "viewers",
    "dropped",
    "errors",
}
BASELINE_KEYS = {"p50_ms", "p99_ms", "frames_per_s", "rss_kib_per_viewer", "viewers"}


@pytest.mark.server
def test_room_fanout_benchmark_reports_every_figure_for_both_servers() -> None:
    finished = subprocess.run(
        [
            sys.executable,
            "-c",
            "from laotie.cli import main; main()",
            "bench",
            "room-fanout",
            "--viewers",
            "50",
            "--probes",
            "10",
            "--chatters",
            "5",
            "--duration",
            "3",
            "--json",
        ],
        capture_output=True,
        timeout=300,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr.decode()[-3000:]
    result = json.loads(finished.stdout.decode().strip().splitlines()[-1])
    assert result.keys() >= HEADLINE_KEYS
    assert result["baseline"].keys() >= BASELINE_KEYS
    for server in (result["laotie"], result["baseline"]):
        assert server["viewers"] == 50
        assert server["probe_messages"] > 0
        assert server["timed"] > 0  # probes received the chat lines, stamped
