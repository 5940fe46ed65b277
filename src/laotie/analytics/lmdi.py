"""Which factor moved GMV between two periods: additive LMDI-I (DESIGN.md, "The GMV identity").

A period's GMV is a sum over segments, each a product of factors (for a live domain
UV × share × T × c × F × AOV, for the shelf UV × conversion × AOV). The change of a
segment present in both periods is split over its factors:

    ΔGMV_k = L(GMV₁, GMV₀) · ln(x_k1 / x_k0)      L(a, b) = (a − b) / (ln a − ln b), L(a, a) = a

and, because the factors multiply to the segment's GMV, its terms sum to its change
exactly (Ang 2005, "The LMDI approach to decomposition analysis"). A segment present in
one period only gives one entry or exit term, its whole GMV. A segment with zero GMV in a
period counts as absent in it: a factor is then zero and its logarithm undefined.

The terms are real numbers; the report shows minor units, rounded by largest remainder so
that the rounded terms still sum to the change to the unit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

ENTRY = "entry"  # the factor name of a segment's term when it appears
EXIT = "exit"  # and when it disappears


@dataclass(frozen=True, slots=True)
class Segment:
    """A segment's GMV in minor units and its factors, whose product is that GMV."""

    gmv_minor: int
    factors: Mapping[str, float]

    @property
    def present(self) -> bool:
        """Whether the segment counts in its period: only with GMV (DESIGN's zero rule)."""
        return self.gmv_minor > 0


@dataclass(frozen=True, slots=True)
class Term:
    """One segment's share of the change, owed to one factor (or its entry or exit)."""

    segment: str
    factor: str
    value: float  # exact, in minor units
    minor: int  # rounded, so that the terms sum to the change


def log_mean(a: float, b: float) -> float:
    """The logarithmic mean L(a, b) of two positive numbers, L(a, a) = a."""
    if a <= 0 or b <= 0:
        raise ValueError("the logarithmic mean needs two positive numbers")
    if math.isclose(a, b, rel_tol=1e-12):
        return (a + b) / 2  # the limit, without dividing zero by zero
    return (a - b) / (math.log(a) - math.log(b))


def attribute(before: Mapping[str, Segment], after: Mapping[str, Segment]) -> list[Term]:
    """Split the change of GMV from `before` to `after` over segments and factors.

    The rounded terms sum to the change in minor units exactly; the order of the terms is
    the segments' sorted names, each with its factors in the order they were given.
    """
    exact: list[tuple[str, str, float]] = []
    for name in sorted(before.keys() | after.keys()):
        exact.extend(_segment_terms(name, before.get(name), after.get(name)))
    change = _gmv(after) - _gmv(before)
    rounded = largest_remainder([value for _, _, value in exact], change)
    return [
        Term(segment, factor, value, minor)
        for (segment, factor, value), minor in zip(exact, rounded, strict=True)
    ]


def _gmv(segments: Mapping[str, Segment]) -> int:
    return sum(segment.gmv_minor for segment in segments.values() if segment.present)


def _segment_terms(
    name: str, before: Segment | None, after: Segment | None
) -> list[tuple[str, str, float]]:
    """The exact terms of one segment: per factor, or one entry or exit."""
    was = before if before is not None and before.present else None
    now = after if after is not None and after.present else None
    if was is not None and now is not None:
        return _factor_terms(name, was, now)
    if now is not None:
        return [(name, ENTRY, float(now.gmv_minor))]
    if was is not None:
        return [(name, EXIT, -float(was.gmv_minor))]
    return []


def _factor_terms(name: str, before: Segment, after: Segment) -> list[tuple[str, str, float]]:
    """LMDI-I terms of a segment present in both periods."""
    if list(before.factors) != list(after.factors):
        raise ValueError(f"segment {name!r} has other factors in the two periods")
    weight = log_mean(float(after.gmv_minor), float(before.gmv_minor))
    terms = []
    for factor, was in before.factors.items():
        now = after.factors[factor]
        if was <= 0 or now <= 0:
            raise ValueError(f"segment {name!r} has GMV but its {factor} is not positive")
        terms.append((name, factor, weight * math.log(now / was)))
    return terms


def largest_remainder(values: Sequence[float], total: int) -> list[int]:
    """Round each value down, then give the units still missing to the largest remainders.

    `values` should sum to `total` up to floating-point error; the answer sums to `total`
    exactly. Ties go to the earlier value, so the rounding is deterministic.
    """
    floors = [math.floor(value) for value in values]
    missing = total - sum(floors)
    if not values:
        if total:
            raise ValueError("nothing to round to a non-zero total")
        return []
    if not 0 <= missing <= len(values):
        raise ValueError(f"the values sum to {sum(values)}, far from {total}")
    by_remainder = sorted(range(len(values)), key=lambda i: (floors[i] - values[i], i))
    for i in by_remainder[:missing]:
        floors[i] += 1
    return floors


def by_factor(terms: Sequence[Term]) -> dict[str, int]:
    """Sum the rounded terms of each factor over the segments (entry and exit included)."""
    totals: dict[str, int] = {}
    for term in terms:
        totals[term.factor] = totals.get(term.factor, 0) + term.minor
    return totals
