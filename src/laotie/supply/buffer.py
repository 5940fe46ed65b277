"""How many units beyond the commitments a production run makes: the newsvendor's rule.

The committed units are sold already; the question is how many more to make for the
buyers who come after the run (from the shelf, a rerun of the show). A unit more is
worth `p − c` if it sells and costs `c − s` if it does not (`s`, what an unsold unit
fetches), so the best stock is the demand's quantile at the critical ratio
`(p − c) / (p − s)`. The demand after the run for a variant is taken as Poisson with mean
`AFTER_SHARE` of its committed units: each committed unit brings that many later buyers.
"""

from __future__ import annotations

from collections.abc import Mapping

AFTER_SHARE = 0.1  # later buyers per committed unit, until sales data says otherwise
SALVAGE_SHARE = 0.3  # what an unsold unit fetches, as a share of its cost


def critical_ratio(price_minor: int, cost_minor: int, salvage_minor: int) -> float:
    """The newsvendor's critical ratio (0 where a unit more could never pay)."""
    if price_minor <= cost_minor:
        return 0.0
    return (price_minor - cost_minor) / (price_minor - salvage_minor)


def buffer_units(committed: Mapping[str, int], price_minor: int, cost_minor: int) -> dict[str, int]:
    """Units to make beyond the committed ones, by variant."""
    from scipy.stats import poisson  # loaded when a run is made, not at start-up

    ratio = critical_ratio(price_minor, cost_minor, round(SALVAGE_SHARE * cost_minor))
    if ratio <= 0.0:
        return {variant: 0 for variant in committed}
    return {
        variant: int(poisson.ppf(ratio, AFTER_SHARE * units)) if units else 0
        for variant, units in committed.items()
    }
