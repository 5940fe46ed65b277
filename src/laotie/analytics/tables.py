"""Every analytics table as CSV: RFC 4180, a header row, money in minor units, an empty
cell where the JSON has null."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from laotie.analytics.schemas import ChangeOut, IdentityOut

# The factors a segment may have, in the identity's order: the CSV's columns after the
# counts (a shelf leaves the live-only ones empty).
FACTOR_COLUMNS = (
    "uv_factor",
    "share",
    "watch_per_viewer",
    "conversion",
    "frequency",
    "order_value",
    "visitors",
    "orders_per_visitor",
)


def to_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """RFC 4180 text with a header row; None is an empty cell."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if cell is None else cell for cell in row])
    return out.getvalue()


def identity_csv(report: IdentityOut) -> str:
    """One row a segment: its counts, then its factors."""
    header = ("segment", "uv", "watch_seconds", "buyers", "orders", "gmv_minor", *FACTOR_COLUMNS)
    rows = []
    for segment in report.segments:
        factors = segment.factors or {}
        named = {("uv_factor" if name == "uv" else name): value for name, value in factors.items()}
        counts = (segment.uv, segment.watch_seconds, segment.buyers, segment.orders)
        rows.append((segment.name, *counts, segment.gmv_minor, *map(named.get, FACTOR_COLUMNS)))
    return to_csv(header, rows)


def change_csv(report: ChangeOut) -> str:
    """One row a term of the attribution; they sum to the change."""
    rows = ((t.segment, t.factor, t.minor, t.exact) for t in report.terms)
    return to_csv(("segment", "factor", "minor", "exact"), rows)
