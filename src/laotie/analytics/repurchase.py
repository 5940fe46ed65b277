"""Repurchase (DESIGN.md): a repeat buyer of a shop in a period paid for an order in it
and for an earlier order of the same shop at most 365 days before that one; the
repurchase rate is repeat buyers over buyers in the period.

Pure functions over paid orders' (buyer, paid at) pairs, and a reader that gathers them
for every shop at once, since the loyalty ranking compares shops with each other.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from laotie.core.context import Ctx
from laotie.orders.trust_facts import paid_orders

LOOKBACK_DAYS = 365


@dataclass(frozen=True, slots=True)
class Repurchase:
    """A shop's buyers in a period and how many of them were repeat buyers."""

    buyers: int
    repeat_buyers: int

    @property
    def rate(self) -> float:
        """Repeat buyers over buyers; 0 without buyers."""
        return self.repeat_buyers / self.buyers if self.buyers else 0.0


def repurchase(
    paid: Iterable[tuple[str, datetime]], since: datetime, until: datetime
) -> Repurchase:
    """Count the buyers paying in (since, until] and the repeat buyers among them.

    `paid` holds a shop's paid orders from `since` less the lookback up to `until`.
    """
    times: dict[str, list[datetime]] = defaultdict(list)
    for buyer_id, paid_at in paid:
        times[buyer_id].append(paid_at)
    lookback = timedelta(days=LOOKBACK_DAYS)
    buyers = repeat = 0
    for moments in times.values():
        moments.sort()
        in_period = [i for i, at in enumerate(moments) if since < at <= until]
        if not in_period:
            continue
        buyers += 1
        # Sorted, so the nearest earlier order of a period order is the one just before it.
        if any(i > 0 and moments[i] - moments[i - 1] <= lookback for i in in_period):
            repeat += 1
    return Repurchase(buyers, repeat)


async def shops_repurchase(ctx: Ctx, since: datetime, until: datetime) -> dict[str, Repurchase]:
    """Return the repurchase of every shop with buyers in (since, until]."""
    by_shop: dict[str, list[tuple[str, datetime]]] = defaultdict(list)
    for order in await paid_orders(ctx, since - timedelta(days=LOOKBACK_DAYS), until):
        by_shop[order.shop_id].append((order.buyer_id, order.paid_at))
    made = {shop_id: repurchase(paid, since, until) for shop_id, paid in by_shop.items()}
    return {shop_id: counted for shop_id, counted in made.items() if counted.buyers}
