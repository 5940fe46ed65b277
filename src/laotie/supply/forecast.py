"""How many units a running campaign will end with, from its commitments so far.

Two methods, both on the cumulative units committed against the campaign's elapsed share
of its time (0 at opening, 1 at the deadline):

- **pace**: the units so far, scaled to the whole time (`units × 1 / elapsed`);
- **Bass**: the Bass diffusion curve `m · F(t)` with
  `F(t) = (1 − e^{−(p+q)t}) / (1 + (q/p) e^{−(p+q)t})`, fitted by least squares (scipy),
  read at the deadline. Word of mouth (`q`) is what a live room adds: buyers commit
  because others did. It needs a curve to fit: with fewer than `MIN_POINTS` distinct
  moments, or a fit that does not converge, it falls back to pace.

The Bass curve is read at the last tenth of the time and raised by the deadline's rush:
the share of a campaign's units that come in its last tenth, which buyers leave to the
end. `RUSH` is the median measured on simulated campaigns (`docs/supply.md`, "Forecasts",
where both methods' error is reported); a platform with closed campaigns of its own
would measure it on them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

MIN_POINTS = 6
LAST_TENTH = 0.9  # the rush: units committed after this share of the time
RUSH = 0.016  # measured on 200 simulated campaigns (seed 1); see `calibrated_rush`
BASS, PACE = "bass", "pace"


@dataclass(frozen=True, slots=True)
class Forecast:
    """What a campaign is expected to end with, and how that was reckoned."""

    units: int
    method: str  # bass | pace
    elapsed: float  # the share of the campaign's time gone when it was made


def bass_share(t: float, p: float, q: float) -> float:
    """The share of a Bass curve's final total reached at time t (the total at t = ∞)."""
    decay = math.exp(-(p + q) * t)
    return (1.0 - decay) / (1.0 + (q / p) * decay)


def forecast(
    elapsed: Sequence[float], units: Sequence[int], now: float, rush: float = RUSH
) -> Forecast:
    """Forecast a campaign's final units from its cumulative units committed at the
    elapsed shares of its time (ascending, the last at `now`, 0 < now <= 1): the Bass
    curve where one fits, else the pace."""
    if now <= 0.0:
        raise ValueError("a forecast needs some of the campaign's time gone")
    so_far = units[-1] if units else 0
    fitted = fit_bass(elapsed, units) if now < LAST_TENTH else None
    if fitted is None:
        return Forecast(pace_units(so_far, now), PACE, min(now, 1.0))
    m, p, q = fitted
    if rush > 0.0:
        final = m * bass_share(LAST_TENTH, p, q) / (1.0 - rush)
    else:
        final = m * bass_share(1.0, p, q)
    return Forecast(max(so_far, round(final)), BASS, now)


def pace_units(so_far: int, now: float) -> int:
    """The units so far, at their pace to the deadline."""
    return max(so_far, round(so_far / min(now, 1.0)))


def fit_bass(elapsed: Sequence[float], units: Sequence[int]) -> tuple[float, float, float] | None:
    """Fit the Bass curve to cumulative units; (m, p, q), or None without a curve to fit."""
    if len(set(elapsed)) < MIN_POINTS or not units or units[-1] <= 0:
        return None
    from scipy.optimize import curve_fit  # loaded when a curve is fitted, not at start-up

    def curve(t: Sequence[float], m: float, p: float, q: float) -> list[float]:
        return [m * bass_share(x, p, q) for x in t]

    last = float(units[-1])
    try:
        (m, p, q), _ = curve_fit(
            curve,
            list(elapsed),
            [float(u) for u in units],
            p0=(last * 2.0, 0.5, 2.0),
            bounds=((last, 1e-3, 0.0), (last * 50.0, 20.0, 50.0)),
            maxfev=2_000,
        )
    except (RuntimeError, ValueError):
        return None
    return float(m), float(p), float(q)


def calibrated_rush(finished: Sequence[tuple[Sequence[float], Sequence[int]]]) -> float:
    """The median share of units committed in the last tenth of closed campaigns' time."""
    shares = []
    for elapsed, units in finished:
        if not units or units[-1] <= 0:
            continue
        before = max((u for t, u in zip(elapsed, units, strict=True) if t <= LAST_TENTH), default=0)
        shares.append(1.0 - before / units[-1])
    if not shares:
        return 0.0
    shares.sort()
    middle = len(shares) // 2
    return shares[middle] if len(shares) % 2 else (shares[middle - 1] + shares[middle]) / 2
