"""`laotie simulate`: play a world with a progress bar, write its files, say what it cost."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

from laotie.sim.output import write_outputs
from laotie.sim.settings import WorldSettings
from laotie.sim.world import Outcome, expected_counts, simulate


def run_simulation(settings: WorldSettings, out: Path, say: Callable[[str], None]) -> Outcome:
    """Play the world into `out`, showing its days go by; print the expected and real counts."""
    expected = expected_counts(settings)
    say("expected (before churn): " + ", ".join(f"{k} {v:,}" for k, v in expected.items()))
    out.mkdir(parents=True, exist_ok=True)
    columns = ("{task.description}", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, transient=False) as progress:
        task = progress.add_task("simulated days", total=settings.days)
        outcome = asyncio.run(simulate(settings, out, lambda _day: progress.advance(task)))
    paths = write_outputs(outcome.report, out)
    counts = outcome.report.summary["counts"]
    metrics = outcome.report.summary["metrics"]
    say(
        f"played {settings.days} days in {outcome.seconds:.1f} s ({outcome.events:,} events): "
        f"{counts['feed_opens']:,} feed opens, {counts['visits']:,} visits, "
        f"{metrics['orders']:,} paid orders, GMV {metrics['gmv_minor'] / 100:,.2f}"
    )
    for kind, seconds in outcome.spent:
        say(f"  {kind}: {seconds:.1f} s")
    say("wrote " + ", ".join(str(path) for path in paths))
    return outcome
