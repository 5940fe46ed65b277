"""How concentrated a total is across its holders: the top share and the Gini coefficient.

Pure functions over non-negative integers (GMV by shop, in minor units), shared by the
platform's claims report and the simulated world's measures.
"""

from __future__ import annotations

from collections.abc import Sequence


def top_share(values: Sequence[int], fraction: float) -> float:
    """Return the share of the total held by the top `fraction` of the holders (at least one).

    0 without a total: nothing is concentrated in anyone.
    """
    ranked, total = sorted(values, reverse=True), sum(values)
    if not ranked or not total:
        return 0.0
    top = max(1, round(len(ranked) * fraction))
    return sum(ranked[:top]) / total


def gini(values: Sequence[int]) -> float:
    """Return the Gini coefficient of the values: 0 all equal, (n - 1) / n all in one.

    The mean absolute difference over twice the mean, computed from the sorted values as
    2 Σ i·x_(i) / (n Σ x) − (n + 1) / n; 0 without a total.
    """
    ranked, total = sorted(values), sum(values)
    if not ranked or not total:
        return 0.0
    n = len(ranked)
    weighted = sum((i + 1) * value for i, value in enumerate(ranked))
    return 2 * weighted / (n * total) - (n + 1) / n
