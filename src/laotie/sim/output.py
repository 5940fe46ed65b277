"""A simulated world's files: the summary JSON, the shops' and days' tables, and charts.

The summary is written with sorted keys and rounded floats, so the same seed writes the
same bytes. The charts are PNGs drawn with matplotlib (its Agg backend, no display):
daily GMV by shop kind, each shop's final trust score against its hidden quality, and
the Lorenz curve of GMV across shops.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from laotie.sim.report import Report
from laotie.sim.settings import ShopKind

SUMMARY = "summary.json"
SHOPS = "shops.csv"
DAYS = "days.csv"
CHARTS = ("gmv_by_day.png", "trust_vs_quality.png", "gmv_lorenz.png")
COLOURS = {
    ShopKind.HONEST: "#2a9d8f",
    ShopKind.LOW_QUALITY: "#e9c46a",
    ShopKind.DISHONEST: "#e76f51",
    ShopKind.BRUSHING: "#6d597a",
}


def summary_text(report: Report) -> str:
    """The summary as the JSON written: sorted keys, two-space indents, a final newline."""
    return json.dumps(report.summary, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_outputs(report: Report, folder: Path) -> list[Path]:
    """Write the summary, the tables and the charts into `folder`; return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    written = [folder / SUMMARY, folder / SHOPS, folder / DAYS]
    written[0].write_text(summary_text(report), encoding="utf-8")
    _table(written[1], report.shops)
    _table(written[2], report.days)
    return written + draw_charts(report, folder)


def _table(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as file:
        if not rows:
            return
        writer = csv.DictWriter(file, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def draw_charts(report: Report, folder: Path) -> list[Path]:
    """Draw the three charts; return their paths."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    paths = [folder / name for name in CHARTS]
    for path, draw in zip(paths, (_gmv_by_day, _trust_vs_quality, _lorenz), strict=True):
        figure, axes = pyplot.subplots(figsize=(7, 4.2), dpi=100)
        draw(axes, report)
        figure.tight_layout()
        figure.savefig(path, metadata={"Software": None})
        pyplot.close(figure)
    return paths


def _gmv_by_day(axes: Any, report: Report) -> None:
    """Daily GMV, from the days' table; each kind's share of the world's GMV in the legend."""
    days = [row["day"] for row in report.days]
    axes.bar(days, [row["gmv_minor"] / 100 for row in report.days], color="#264653")
    shares = report.summary["metrics"]["gmv_share_by_kind"]
    legend = ", ".join(f"{kind} {share:.0%}" for kind, share in shares.items())
    axes.set(xlabel="day", ylabel="GMV (yuan)", title=f"GMV by day ({legend})")
    axes.title.set_fontsize(8)


def _trust_vs_quality(axes: Any, report: Report) -> None:
    for kind in ShopKind:
        rows = [row for row in report.shops if row["kind"] == kind.value]
        axes.scatter(
            [row["hidden_quality"] for row in rows],
            [row["trust_score"] for row in rows],
            s=[8 + row["gmv_minor"] / 2_000 for row in rows],
            color=COLOURS[kind],
            label=kind.value,
            alpha=0.8,
        )
    axes.set(xlabel="hidden quality", ylabel="final trust score", title="Trust against quality")
    axes.legend(fontsize=7)


def _lorenz(axes: Any, report: Report) -> None:
    values = sorted(row["gmv_minor"] for row in report.shops)
    total = sum(values) or 1
    running, points = 0, [0.0]
    for value in values:
        running += value
        points.append(running / total)
    steps = [i / len(values) for i in range(len(values) + 1)] if values else [0.0]
    axes.plot(steps, points, color="#264653", label="shops' GMV")
    axes.plot([0, 1], [0, 1], color="#999999", linestyle="--", label="equal")
    gini = report.summary["metrics"]["gini"]
    axes.set(xlabel="share of shops", ylabel="share of GMV", title=f"Lorenz curve (Gini {gini})")
    axes.legend(fontsize=7)
