"""Simulated C2M campaigns, and how well a campaign's final units are forecast at half time.

A campaign's time runs from 0 (opened) to 1 (the deadline). Each simulated campaign:

- has `M` potential committers, lognormal around 150 (σ of the log 0.6);
- its organic commitments follow a Bass diffusion with innovation `p` ~ U(0.5, 3) and
  imitation `q` ~ U(0, 6) per campaign time: each potential committer's moment is drawn
  from the Bass distribution, and those before the deadline commit then;
- in its last tenth, each potential committer who has not committed does so with
  probability `ρ` ~ U(0, 0.3), at a uniform moment of that tenth: the deadline's rush;
- a commitment is 1 unit (70%), 2 (20%) or 3 (10%).

`evaluate` draws a training set to measure the rush (`forecast.calibrated_rush`) and a test
set, forecasts each test campaign at half time with both methods, and reports the mean
absolute percentage error (MAPE) of each against the units the campaign ended with.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any

from laotie.supply import forecast as f

HALF = 0.5
UNITS = ((1, 0.7), (2, 0.2), (3, 0.1))


@dataclass(frozen=True, slots=True)
class Curve:
    """A campaign's commitments: their moments (ascending) and the cumulative units."""

    elapsed: list[float]
    units: list[int]

    @property
    def final(self) -> int:
        """Units at the deadline."""
        return self.units[-1] if self.units else 0

    def until(self, now: float) -> tuple[list[float], list[int]]:
        """The curve as seen at `now`, ending with a point at `now` itself."""
        cut = [i for i, t in enumerate(self.elapsed) if t <= now]
        elapsed = [self.elapsed[i] for i in cut] + [now]
        units = [self.units[i] for i in cut]
        return elapsed, [*units, units[-1] if units else 0]


def bass_moment(u: float, p: float, q: float) -> float:
    """The moment at which the Bass distribution's share reaches u (its inverse)."""
    x = (1.0 - u) / (1.0 + u * q / p)
    return -math.log(x) / (p + q)


def simulate(rng: random.Random) -> Curve:
    """One campaign's commitments, as the model above draws them."""
    potential = max(1, round(rng.lognormvariate(math.log(150), 0.6)))
    p, q, rush = rng.uniform(0.5, 3.0), rng.uniform(0.0, 6.0), rng.uniform(0.0, 0.3)
    moments = []
    for _ in range(potential):
        t = bass_moment(rng.random(), p, q)
        if t <= 1.0:
            moments.append(t)
        elif rng.random() < rush:
            moments.append(rng.uniform(f.LAST_TENTH, 1.0))
    moments.sort()
    sizes = [rng.choices([n for n, _ in UNITS], [w for _, w in UNITS])[0] for _ in moments]
    cumulative, total = [], 0
    for size in sizes:
        total += size
        cumulative.append(total)
    return Curve(moments, cumulative)


def evaluate(campaigns: int = 200, seed: int = 1) -> dict[str, Any]:
    """Measure the rush on `campaigns` simulated campaigns, then forecast as many others
    at half time with both methods; return each method's MAPE and how often it fell back."""
    rng = random.Random(seed)  # noqa: S311 (a simulation, not a secret)
    training = [simulate(rng) for _ in range(campaigns)]
    rush = f.calibrated_rush([(c.elapsed, c.units) for c in training])
    tests = [c for c in (simulate(rng) for _ in range(campaigns)) if c.final > 0]
    errors: dict[str, list[float]] = {"bass": [], "pace": []}
    fell_back = 0
    for campaign in tests:
        elapsed, units = campaign.until(HALF)
        made = f.forecast(elapsed, units, HALF, rush)
        fell_back += made.method != f.BASS
        errors["bass"].append(abs(made.units - campaign.final) / campaign.final)
        paced = f.pace_units(units[-1], HALF)
        errors["pace"].append(abs(paced - campaign.final) / campaign.final)
    return {
        "experiment": "c2m-forecast",
        "campaigns": len(tests),
        "training_campaigns": len(training),
        "seed": seed,
        "at": HALF,
        "rush": round(rush, 4),
        "mape": {name: round(100 * sum(e) / len(e), 1) for name, e in errors.items()},
        "median_ape": {name: round(100 * sorted(e)[len(e) // 2], 1) for name, e in errors.items()},
        "bass_fell_back_to_pace": fell_back,
    }
