"""A simulated world's measures, read from the database its services wrote.

GMV, refunds, repurchase and the private domain's share come from the paid orders and
their visits (`orders.outcomes`, `live.room.visits`), the trust scores from the trust
engine; only what the database cannot know comes from the agents: a shop's kind and
hidden quality, which accounts were a ring's, how many feeds were opened.

The measures count genuine buyers' orders: a ring's fake orders are paid orders the
platform sees (`platform`), but no buyer's money. Definitions (DESIGN.md): a repeat
buyer of a shop paid for two of its orders in the world; a repeat order is an order by
a repeat buyer; an order is private domain when its visit was.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from laotie.analytics.concentration import gini, top_share
from laotie.analytics.repurchase import repurchase
from laotie.core.clock import as_utc
from laotie.core.context import Ctx
from laotie.live.room.visits import VisitFact, visits_between
from laotie.orders.outcomes import OrderOutcome, order_outcomes
from laotie.sim.agents import World
from laotie.sim.common import START
from laotie.sim.settings import ShopKind
from laotie.trust.service import shop_trust

DIGITS = 6  # floats in the summary are rounded to this many decimals, so it is stable


@dataclass
class Report:
    """The summary, and the tables of shops and days."""

    summary: dict[str, Any]
    shops: list[dict[str, Any]] = field(default_factory=list)
    days: list[dict[str, Any]] = field(default_factory=list)


async def measure(ctx: Ctx, world: World) -> Report:
    """Read the world's orders, visits and scores, and measure them."""
    s = world.settings
    end = START + timedelta(days=s.days)
    paid = await order_outcomes(ctx, START, end)
    seen = await visits_between(ctx, START, end)
    genuine = [o for o in paid if o.buyer_id not in world.ring_buyers]
    fake = [o for o in paid if o.buyer_id in world.ring_buyers]
    private = {v.visit_id for v in seen if v.private}
    shops = await _shop_rows(ctx, world, genuine, fake)
    metrics = _metrics(world, genuine, private, shops)
    summary = {
        "world": s.as_dict(),
        "metrics": metrics,
        "platform": {
            "gmv_minor": sum(o.total_minor for o in paid),
            "orders": len(paid),
            "fake_orders": len(fake),
            "fake_gmv_minor": sum(o.total_minor for o in fake),
        },
        "counts": _counts(world, seen, genuine),
    }
    return Report(summary, shops, _day_rows(s.days, genuine, fake, seen, private))


def _metrics(
    world: World, orders: Sequence[OrderOutcome], private: set[str], shops: list[dict[str, Any]]
) -> dict[str, Any]:
    """The experiment's measures over the genuine buyers' paid orders."""
    gmv = sum(o.total_minor for o in orders)
    repeat = _repeat_orders(orders)
    pairs = [
        repurchase(paid, START - timedelta(seconds=1), START + timedelta(days=world.settings.days))
        for paid in _paid_by_shop(orders).values()
    ]
    buyers, repeaters = sum(p.buyers for p in pairs), sum(p.repeat_buyers for p in pairs)
    by_kind = Counter[str]()
    for row in shops:
        by_kind[row["kind"]] += row["gmv_minor"]
    values = [row["gmv_minor"] for row in shops]
    return {
        "gmv_minor": gmv,
        "orders": len(orders),
        "buyers": len({o.buyer_id for o in orders}),
        "refund_rate": _share(sum(o.refunded_minor for o in orders), gmv),
        "refunded_order_share": _share(sum(o.refunded_minor > 0 for o in orders), len(orders)),
        "repurchase_rate": _share(repeaters, buyers),
        "private_share_of_gmv": _share(
            sum(o.total_minor for o in orders if o.visit_id in private), gmv
        ),
        "private_share_of_repurchase": _share(
            sum(o.visit_id in private for o in repeat), len(repeat)
        ),
        "gmv_share_by_kind": {kind.value: _share(by_kind[kind.value], gmv) for kind in ShopKind},
        "top20_shop_share": round(top_share(values, 0.2), DIGITS),
        "gini": round(gini(values), DIGITS),
    }


def _paid_by_shop(orders: Sequence[OrderOutcome]) -> dict[str, list[tuple[str, Any]]]:
    """Each shop's (buyer, paid at) pairs, as repurchase reads them."""
    by_shop: dict[str, list[tuple[str, Any]]] = defaultdict(list)
    for order in orders:
        by_shop[order.shop_id].append((order.buyer_id, order.paid_at))
    return by_shop


def _repeat_orders(orders: Sequence[OrderOutcome]) -> list[OrderOutcome]:
    """The orders of buyers who paid a shop twice or more in the world."""
    pairs = Counter((o.buyer_id, o.shop_id) for o in orders)
    return [o for o in orders if pairs[(o.buyer_id, o.shop_id)] > 1]


def _counts(
    world: World, seen: Sequence[VisitFact], orders: Sequence[OrderOutcome]
) -> dict[str, Any]:
    """What happened, counted: visits from the database, the rest from the agents' tally."""
    tally = vars(world.tally)
    sources = Counter(v.source for v in seen)
    return {
        "visits": len(seen),
        "visits_by_source": dict(sorted(sources.items())),
        "watch_hours": round(sum(v.watch_seconds for v in seen) / 3_600, 2),
        "paid_orders": len(orders),
        "shows_visited": len({v.session_id for v in seen}),
        **{key: tally[key] for key in sorted(tally)},
    }


async def _shop_rows(
    ctx: Ctx, world: World, orders: Sequence[OrderOutcome], fake: Sequence[OrderOutcome]
) -> list[dict[str, Any]]:
    """One row a shop: what it hides, its final score, what its genuine buyers paid."""
    mine: dict[str, list[OrderOutcome]] = defaultdict(list)
    for order in orders:
        mine[order.shop_id].append(order)
    faked = Counter(o.shop_id for o in fake)
    rows = []
    for shop in world.shops:
        own = mine[shop.opened.shop_id]
        trust = await shop_trust(ctx, shop.opened.shop_id)
        pairs = Counter(o.buyer_id for o in own)
        rows.append(
            {
                "shop": shop.index,
                "shop_id": shop.opened.shop_id,
                "kind": shop.kind.value,
                "hidden_quality": shop.quality,
                "category": shop.category,
                "price_minor": shop.price_minor,
                "trust_score": trust.score,
                "tier": trust.tier,
                "gmv_minor": sum(o.total_minor for o in own),
                "orders": len(own),
                "refunds": sum(o.refunded_minor > 0 for o in own),
                "refunded_minor": sum(o.refunded_minor for o in own),
                "buyers": len(pairs),
                "repeat_buyers": sum(n > 1 for n in pairs.values()),
                "followers": len(shop.followers),
                "fake_orders": faked[shop.opened.shop_id],
            }
        )
    return rows


def _day_rows(
    days: int,
    orders: Sequence[OrderOutcome],
    fake: Sequence[OrderOutcome],
    seen: Sequence[VisitFact],
    private: set[str],
) -> list[dict[str, Any]]:
    """One row a day: GMV, orders, visits, watch time, the private share, fake orders."""
    paid, faked = _by_day(orders, "paid_at"), _by_day(fake, "paid_at")
    entered = _by_day(seen, "entered_at")
    rows = []
    for day in range(days):
        today, visits = paid.get(day, []), entered.get(day, [])
        gmv = sum(o.total_minor for o in today)
        rows.append(
            {
                "day": day,
                "date": (START + timedelta(days=day)).date().isoformat(),
                "gmv_minor": gmv,
                "orders": len(today),
                "visits": len(visits),
                "watch_hours": round(sum(v.watch_seconds for v in visits) / 3_600, 2),
                "private_share_of_gmv": _share(
                    sum(o.total_minor for o in today if o.visit_id in private), gmv
                ),
                "fake_orders": len(faked.get(day, [])),
            }
        )
    return rows


def _by_day(items: Sequence[Any], moment: str) -> dict[int, list[Any]]:
    """Group rows by the world's day of one of their moments."""
    grouped: dict[int, list[Any]] = defaultdict(list)
    for item in items:
        at = as_utc(getattr(item, moment))
        grouped[int((at - START).total_seconds() // 86_400)].append(item)
    return grouped


def _share(part: float, whole: float) -> float:
    return round(part / whole, DIGITS) if whole else 0.0
