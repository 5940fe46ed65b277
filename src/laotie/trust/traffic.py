"""The trust multiplier g(score) by which the recommendation feed weighs a shop (docs/trust.md).

A shop at the platform prior (a new shop) gets 1; every `DOUBLING` score points above
doubles it, every `DOUBLING` below halves it; below `FLOOR` the feed sends it nobody.
"""

from __future__ import annotations

from laotie.trust import score

FLOOR = 4.0
DOUBLING = 0.5
NEUTRAL = score.PRIOR


def traffic_multiplier(value: float) -> float:
    """Return g(score): 0 below the floor, else 2 ** ((score - prior) / DOUBLING)."""
    if value < FLOOR:
        return 0.0
    return float(2 ** ((min(value, score.HIGHEST) - NEUTRAL) / DOUBLING))
