"""The garbage collector's settings for a serving process.

A live room holds thousands of connections, each with its long-lived objects (protocol,
transport, buffers, subscription), and CPython's cyclic collector scans every tracked
object in a full collection: with 5,000 viewers a full pass stopped the event loop for
0.1 to 0.5 s, every few seconds, which was the room's whole latency tail. Reference
counting frees almost everything anyway; the collector is only for cycles.

So, once the server has started, the objects made so far (modules, the app, its
settings) are frozen out of every future scan, and the collector runs less often: a
young generation of 50,000 objects instead of 700, and full passes after 20 middle ones
instead of 10. Cycles are still collected; only later.

The middle generation, though, is collected after every second young pass, not every
tenth (or twentieth). It holds what survived the young passes since its own last pass,
and when a crowd joins in a few seconds that is every new viewer's objects at once:
collected rarely, it grew to a million objects and its one pass stopped the loop for
0.4 s, seconds after the crowd had settled. Collected often, the same objects move on
in passes of 80 ms while the crowd is still arriving.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 50_000
MIDDLE_THRESHOLD = 2
OLDEST_THRESHOLD = 20


def tune_for_serving() -> None:
    """Freeze what start-up made and make collections rarer (see the module doc)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, MIDDLE_THRESHOLD, OLDEST_THRESHOLD)
