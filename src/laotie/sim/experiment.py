"""The experiment trust-vs-gmv: does a feed guided by trust beat one guided by GMV alone?

The same worlds (paired seeds) are played under both feed policies; each measure is
reported as the mean paired difference (trust − gmv) with a 95% t interval. Three
conditions sweep churn sensitivity, and a null control plays worlds in which the
buyers' trust changes nothing they do, so that a difference that survives there comes
from the feed's g(trust) alone and not from the world's behavioural assumptions.
Worlds play in separate processes, `workers` at a time. Written up in
docs/experiments/trust-vs-gmv.md.
"""

from __future__ import annotations

import asyncio
import json
import math
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, replace
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from laotie.sim.output import SUMMARY, write_outputs
from laotie.sim.settings import WorldSettings
from laotie.sim.world import simulate

POLICIES = ("trust", "gmv")
CHURNS = (0.5, 1.0, 2.0)
RESULTS = "results.json"
TABLES = "results.md"
CHART = "paired_differences.png"


@dataclass(frozen=True)
class Measure:
    """A measure of a world's summary, and how to read it there."""

    key: str
    label: str
    read: Callable[[dict[str, Any]], float]


def _metric(name: str) -> Callable[[dict[str, Any]], float]:
    return lambda summary: float(summary["metrics"][name])


def _kind_share(*kinds: str) -> Callable[[dict[str, Any]], float]:
    return lambda summary: sum(summary["metrics"]["gmv_share_by_kind"][k] for k in kinds)


MEASURES = (
    Measure("gmv", "total GMV (yuan)", lambda s: s["metrics"]["gmv_minor"] / 100),
    Measure("refund_rate", "refund rate (of GMV)", _metric("refund_rate")),
    Measure("repurchase_rate", "repurchase rate", _metric("repurchase_rate")),
    Measure("private_gmv", "private-domain share of GMV", _metric("private_share_of_gmv")),
    Measure(
        "private_repurchase",
        "private-domain share of repurchase",
        _metric("private_share_of_repurchase"),
    ),
    Measure("honest_share", "GMV share of honest shops", _kind_share("honest")),
    Measure(
        "dishonest_share",
        "GMV share of dishonest and brushing shops",
        _kind_share("dishonest", "brushing"),
    ),
    Measure("top20_share", "GMV share of the top 20% of shops", _metric("top20_shop_share")),
    Measure("gini", "Gini of GMV across shops", _metric("gini")),
)


@dataclass(frozen=True)
class Condition:
    """A family of paired worlds: a churn sensitivity, with or without trust mattering."""

    name: str
    churn: float
    trust_matters: bool


def conditions(churns: Sequence[float] = CHURNS) -> list[Condition]:
    """The churn sweep, then the null control at the middle churn."""
    swept = [Condition(f"churn {churn:g}", churn, True) for churn in churns]
    middle = sorted(churns)[len(churns) // 2]
    return [*swept, Condition(f"null control (churn {middle:g})", middle, False)]


def worlds(
    base: WorldSettings, seeds: Sequence[int], families: Sequence[Condition]
) -> Iterator[tuple[Condition, WorldSettings]]:
    """Every world to play: each condition, seed and policy.

    The worlds that answer the main question come first: the middle churn and its null
    control, then the rest of the sweep, so that a run cut short has the comparison that
    says which assumption drives the result.
    """
    for condition in playing_order(families):
        for seed in seeds:
            for policy in POLICIES:
                yield (
                    condition,
                    replace(
                        base,
                        seed=seed,
                        policy=policy,
                        churn=condition.churn,
                        trust_matters=condition.trust_matters,
                    ),
                )


def playing_order(families: Sequence[Condition]) -> list[Condition]:
    """The null controls and the conditions they control first, then the others."""
    controlled = {c.churn for c in families if not c.trust_matters}
    return sorted(families, key=lambda c: (c.churn not in controlled, c.trust_matters, c.churn))


def play(settings: WorldSettings, folder: str) -> dict[str, Any]:
    """Play one world in this process, write its files, and return its summary."""
    outcome = asyncio.run(simulate(settings, Path(folder)))
    write_outputs(outcome.report, Path(folder))
    return {**outcome.report.summary, "seconds": round(outcome.seconds, 1)}


def run_experiment(
    base: WorldSettings,
    seeds: Sequence[int],
    out: Path,
    workers: int = 2,
    churns: Sequence[float] = CHURNS,
    say: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Play every world, `workers` at a time; write the results, tables and chart into `out`."""
    families = conditions(churns)
    planned = list(worlds(base, seeds, families))
    say(f"{len(planned)} worlds, {workers} at a time")
    started = time.monotonic()
    summaries: dict[tuple[str, int, str], dict[str, Any]] = {}
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
        pending: dict[tuple[str, int, str], dict[str, Any] | Future[dict[str, Any]]] = {}
        for condition, settings in planned:
            folder = _folder(out, condition, settings)
            earlier = _played(folder, settings)
            pending[(condition.name, settings.seed, settings.policy)] = (
                earlier if earlier is not None else pool.submit(play, settings, str(folder))
            )
        for done, (key, waiting) in enumerate(pending.items(), start=1):
            summaries[key] = waiting if isinstance(waiting, dict) else waiting.result()
            say(
                f"[{done}/{len(planned)}] {key[0]}, seed {key[1]}, {key[2]}: "
                f"{summaries[key]['seconds']} s"
            )
    results = {
        "settings": base.as_dict(),
        "seeds": list(seeds),
        "conditions": [analyse(c, seeds, summaries) for c in families],
        "seconds": round(time.monotonic() - started, 1),
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / RESULTS).write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    (out / TABLES).write_text(tables(results))
    draw_differences(results, out / CHART)
    return results


def _played(folder: Path, settings: WorldSettings) -> dict[str, Any] | None:
    """Return the summary of this world if an earlier run of the experiment played it.

    An interrupted experiment run again with `--out` goes on where it stopped: a world's
    summary is written only once it has played to the end, and it names its settings.
    """
    path = folder / SUMMARY
    if not path.exists():
        return None
    summary: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    if summary.get("world") != json.loads(json.dumps(settings.as_dict())):
        return None  # another world's: played again
    return {**summary, "seconds": "earlier"}


def _folder(out: Path, condition: Condition, settings: WorldSettings) -> Path:
    name = condition.name.replace(" ", "-").replace("(", "").replace(")", "")
    return out / "worlds" / name / f"seed{settings.seed}-{settings.policy}"


def analyse(
    condition: Condition, seeds: Sequence[int], summaries: dict[tuple[str, int, str], Any]
) -> dict[str, Any]:
    """Pair each seed's two worlds and summarise every measure's differences."""
    rows = {}
    for measure in MEASURES:
        trust = [measure.read(summaries[(condition.name, seed, "trust")]) for seed in seeds]
        gmv = [measure.read(summaries[(condition.name, seed, "gmv")]) for seed in seeds]
        rows[measure.key] = paired(trust, gmv)
    return {
        "name": condition.name,
        "churn": condition.churn,
        "trust_matters": condition.trust_matters,
        "measures": rows,
    }


def paired(trust: Sequence[float], gmv: Sequence[float]) -> dict[str, Any]:
    """Means under each policy, and the mean paired difference with its 95% t interval."""
    differences = [a - b for a, b in zip(trust, gmv, strict=True)]
    mean = statistics.fmean(differences)
    half = (
        t_quantile(len(differences) - 1)
        * statistics.stdev(differences)
        / math.sqrt(len(differences))
        if len(differences) > 1
        else math.nan
    )
    return {
        "trust": round(statistics.fmean(trust), 6),
        "gmv": round(statistics.fmean(gmv), 6),
        "difference": round(mean, 6),
        "low": round(mean - half, 6),
        "high": round(mean + half, 6),
        "pairs": [[round(a, 6), round(b, 6)] for a, b in zip(trust, gmv, strict=True)],
    }


def t_quantile(freedom: int) -> float:
    """The 97.5% quantile of Student's t with these degrees of freedom."""
    from scipy.stats import t

    return float(t.ppf(0.975, freedom))


# ---------------------------------------------------------------- the written results


def tables(results: dict[str, Any]) -> str:
    """One Markdown table a condition: each measure under both policies, and the difference."""
    labels = {m.key: m.label for m in MEASURES}
    lines = [f"Seeds {results['seeds']}; {results['seconds']} s in all.", ""]
    for condition in results["conditions"]:
        lines += [
            f"### {condition['name']}",
            "",
            "| measure | trust | gmv | trust − gmv | 95% interval |",
            "|---|---:|---:|---:|---|",
        ]
        for key, row in condition["measures"].items():
            # A row of money (its means in the hundreds at least) in whole yuan, the
            # shares and rates to four places: the difference as its means are.
            money = max(abs(row["trust"]), abs(row["gmv"])) >= 100
            trust, gmv, diff, low, high = (
                _fmt(row[name], money) for name in ("trust", "gmv", "difference", "low", "high")
            )
            lines.append(f"| {labels[key]} | {trust} | {gmv} | {diff} | [{low}, {high}] |")
        lines.append("")
    return "\n".join(lines)


def _fmt(value: float, money: bool) -> str:
    return f"{value:,.0f}" if money else f"{value:.4f}"


def draw_differences(results: dict[str, Any], path: Path) -> None:
    """Each measure's paired difference relative to the GMV policy's mean, per condition."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(8, 5), dpi=100)
    keys = [m.key for m in MEASURES]
    for offset, condition in enumerate(results["conditions"]):
        ys = [i + 0.18 * (offset - 1.5) for i in range(len(keys))]
        rows = [condition["measures"][key] for key in keys]
        scale = [abs(row["gmv"]) or 1.0 for row in rows]
        xs = [row["difference"] / s for row, s in zip(rows, scale, strict=True)]
        errors = [
            [(row["difference"] - row["low"]) / s for row, s in zip(rows, scale, strict=True)],
            [(row["high"] - row["difference"]) / s for row, s in zip(rows, scale, strict=True)],
        ]
        axes.errorbar(xs, ys, xerr=errors, fmt="o", capsize=3, label=condition["name"])
    axes.axvline(0, color="#999999", linestyle="--")
    axes.set_yticks(range(len(keys)), [m.label for m in MEASURES], fontsize=8)
    axes.set(
        xlabel="(trust − gmv) / gmv, mean of paired seeds, 95% interval",
        title="The trust-aware feed against the GMV-only feed",
    )
    axes.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, metadata={"Software": None})
    pyplot.close(figure)
