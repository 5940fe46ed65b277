"""Brushing (刷单) detection: pure functions over the paid orders of a window.

Four signals, each naming a shop, the orders that brushed it and the buyers who placed
them, with the evidence an operator reads (docs/trust.md, Brushing):

- `dense_block`: a dense buyer–shop block found by greedy peeling in the manner of FRAUDAR
  (Hooi et al., 2016): buyers who keep ordering from the same shops far more than the
  graph around them does;
- `shared_fingerprint`: at least `MIN_GROUP` buyers of a shop sharing a device, a payment
  account or an address (an address of the client alone is weak: offices share one);
- `order_burst`: within an hour, a shop's orders divided by its distinct buyers reaches
  `BURST_RATIO` (the same few accounts ordering again and again);
- `instant_five_stars`: receipt confirmed by the buyer within `INSTANT_CONFIRM` of
  shipping (no parcel travels that fast) and five stars within `FIVE_STARS_AFTER`.

The buyers of a shop's suspicious orders are the ring; their orders at other shops are
its camouflage, excluded from those shops' scores too, though those shops carry no blame.
"""

from __future__ import annotations

import heapq
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from laotie.orders.trust_facts import OrderPrint

MIN_GROUP = 3
BURST_WINDOW = timedelta(hours=1)
BURST_RATIO = 3.0
BURST_MIN_ORDERS = 6
INSTANT_CONFIRM = timedelta(hours=2)
FIVE_STARS_AFTER = timedelta(hours=24)
# A block of the peeling counts when its density (weighted orders a node) reaches this and
# its buyers placed, on average, this many orders each at its shops.
DENSE_MIN = 1.0
DENSE_ORDERS_PER_BUYER = 3.0
DENSE_BLOCKS = 10  # blocks peeled at most per run


class Signal(StrEnum):
    """Why orders look like brushing."""

    DENSE_BLOCK = "dense_block"
    SHARED_FINGERPRINT = "shared_fingerprint"
    ORDER_BURST = "order_burst"
    INSTANT_FIVE_STARS = "instant_five_stars"


@dataclass(frozen=True, slots=True)
class ReviewPrint:
    """What detection reads of a review: its order, its stars and when it was written."""

    order_id: str
    stars: tuple[int, int, int]
    at: datetime


@dataclass(slots=True)
class Suspect:
    """Orders of one shop that one signal finds suspicious, with its evidence."""

    signal: Signal
    shop_id: str
    order_ids: set[str]
    buyer_ids: set[str]
    evidence: dict[str, Any] = field(default_factory=dict)


def detect(orders: Sequence[OrderPrint], reviews: Iterable[ReviewPrint]) -> list[Suspect]:
    """Run every signal over a window's orders and reviews."""
    return [
        *dense_blocks(orders),
        *shared_fingerprints(orders),
        *order_bursts(orders),
        *instant_five_stars(orders, reviews),
    ]


def camouflage(orders: Sequence[OrderPrint], suspects: Sequence[Suspect]) -> dict[str, set[str]]:
    """Return, by shop, its ring's orders at other shops.

    The ring is the buyers of the shop's suspicious orders and the accounts sharing a
    strong fingerprint (device, payment account, address) with one of them anywhere:
    a ring member that never brushed still shares the ring's phones.
    """
    linked = _linked_accounts(orders)
    ring: dict[str, set[str]] = defaultdict(set)
    for suspect in suspects:
        ring[suspect.shop_id] |= suspect.buyer_ids
    elsewhere: dict[str, set[str]] = defaultdict(set)
    for shop_id, buyers in ring.items():
        members = buyers | {other for buyer in buyers for other in linked.get(buyer, ())}
        for order in orders:
            if order.buyer_id in members and order.shop_id != shop_id:
                elsewhere[shop_id].add(order.order_id)
    return elsewhere


def _linked_accounts(orders: Sequence[OrderPrint]) -> dict[str, set[str]]:
    """Return, by buyer, the other buyers sharing one of its strong fingerprints."""
    sharing: dict[tuple[str, str], set[str]] = defaultdict(set)
    for order in orders:
        for kind, value in _strong_prints(order):
            sharing[(kind, value)].add(order.buyer_id)
    linked: dict[str, set[str]] = defaultdict(set)
    for buyers in sharing.values():
        if len(buyers) > 1:
            for buyer in buyers:
                linked[buyer] |= buyers - {buyer}
    return linked


def _strong_prints(order: OrderPrint) -> list[tuple[str, str]]:
    """The fingerprints that name a person: a device, a payment account, an address."""
    named = (
        ("device", order.device_id),
        ("payer_account", order.payer_account),
        ("address", order.address_key),
    )
    return [(kind, value) for kind, value in named if value]


# ---------------------------------------------------------------- shared fingerprints


def shared_fingerprints(orders: Sequence[OrderPrint]) -> list[Suspect]:
    """Flag the orders of `MIN_GROUP` or more buyers of a shop sharing a strong fingerprint."""
    groups: dict[tuple[str, str, str], list[OrderPrint]] = defaultdict(list)
    for order in orders:
        for kind, value in _strong_prints(order):
            groups[(order.shop_id, kind, value)].append(order)
    found: list[Suspect] = []
    for (shop_id, kind, value), shared in groups.items():
        buyers = {order.buyer_id for order in shared}
        if len(buyers) < MIN_GROUP:
            continue
        ips = {order.client_ip for order in shared if order.client_ip}
        evidence = {"fingerprint": kind, "value": value, "buyers": len(buyers), "ips": len(ips)}
        found.append(
            Suspect(
                Signal.SHARED_FINGERPRINT,
                shop_id,
                {order.order_id for order in shared},
                buyers,
                evidence,
            )
        )
    return found


# ---------------------------------------------------------------- order bursts


def order_bursts(orders: Sequence[OrderPrint]) -> list[Suspect]:
    """Flag the orders of each hour in which a shop's orders reach BURST_RATIO per buyer."""
    by_shop: dict[str, list[OrderPrint]] = defaultdict(list)
    for order in orders:
        by_shop[order.shop_id].append(order)
    found = []
    for shop_id, placed in by_shop.items():
        placed.sort(key=lambda order: order.paid_at)
        burst = _burst_orders(placed)
        if burst:
            buyers = {order.buyer_id for order in burst}
            evidence = {"orders": len(burst), "buyers": len(buyers), "window_minutes": 60}
            found.append(
                Suspect(
                    Signal.ORDER_BURST,
                    shop_id,
                    {order.order_id for order in burst},
                    buyers,
                    evidence,
                )
            )
    return found


def _burst_orders(placed: Sequence[OrderPrint]) -> list[OrderPrint]:
    """Return the orders of every sliding hour whose orders per buyer reach the ratio."""
    flagged: dict[str, OrderPrint] = {}
    start = 0
    for end, order in enumerate(placed):
        while order.paid_at - placed[start].paid_at > BURST_WINDOW:
            start += 1
        window = placed[start : end + 1]
        buyers = len({o.buyer_id for o in window})
        if len(window) >= BURST_MIN_ORDERS and len(window) / buyers >= BURST_RATIO:
            flagged.update((o.order_id, o) for o in window)
    return list(flagged.values())


# ---------------------------------------------------------------- instant confirm, five stars


def instant_five_stars(
    orders: Sequence[OrderPrint], reviews: Iterable[ReviewPrint]
) -> list[Suspect]:
    """Flag a shop's orders confirmed at once after shipping and reviewed five stars soon after."""
    stars = {review.order_id: review for review in reviews}
    by_shop: dict[str, list[OrderPrint]] = defaultdict(list)
    for order in orders:
        review = stars.get(order.order_id)
        if review is not None and _instant_and_perfect(order, review):
            by_shop[order.shop_id].append(order)
    found = []
    for shop_id, quick in by_shop.items():
        buyers = {order.buyer_id for order in quick}
        if len(quick) < MIN_GROUP:
            continue
        evidence = {"orders": len(quick), "buyers": len(buyers)}
        found.append(
            Suspect(
                Signal.INSTANT_FIVE_STARS,
                shop_id,
                {order.order_id for order in quick},
                buyers,
                evidence,
            )
        )
    return found


def _instant_and_perfect(order: OrderPrint, review: ReviewPrint) -> bool:
    if not order.buyer_confirmed or order.shipped_at is None or order.delivered_at is None:
        return False
    instant = order.delivered_at - order.shipped_at <= INSTANT_CONFIRM
    soon = review.at - order.delivered_at <= FIVE_STARS_AFTER
    return instant and soon and review.stars == (5, 5, 5)


# ---------------------------------------------------------------- dense blocks (FRAUDAR)


def dense_blocks(orders: Sequence[OrderPrint]) -> list[Suspect]:
    """Peel the buyer–shop graph for its densest blocks; flag those dense enough."""
    edges: dict[tuple[str, str], int] = defaultdict(int)
    orders_of: dict[tuple[str, str], set[str]] = defaultdict(set)
    for order in orders:
        edges[(order.buyer_id, order.shop_id)] += 1
        orders_of[(order.buyer_id, order.shop_id)].add(order.order_id)
    found = []
    for _ in range(DENSE_BLOCKS):
        if not edges:
            break
        buyers, shops, density = densest_block(edges)
        pairs = [(b, s) for (b, s) in edges if b in buyers and s in shops]
        placed = sum(edges[pair] for pair in pairs)
        for pair in pairs:  # peeled: the next block is looked for in what remains
            del edges[pair]
        if density < DENSE_MIN or len(buyers) < MIN_GROUP:
            break
        if placed / len(buyers) < DENSE_ORDERS_PER_BUYER:
            continue
        for shop_id in shops:
            ring = {b for b, s in pairs if s == shop_id}
            if len(ring) < MIN_GROUP:
                continue
            evidence = {
                "density": round(density, 3),
                "block_buyers": len(buyers),
                "block_shops": len(shops),
                "orders": placed,
            }
            ids = {o for b in ring for o in orders_of[(b, shop_id)]}
            found.append(Suspect(Signal.DENSE_BLOCK, shop_id, ids, ring, evidence))
    return found


def densest_block(edges: dict[tuple[str, str], int]) -> tuple[set[str], set[str], float]:
    """Greedily peel a weighted bipartite graph; return the densest block met and its density.

    As in FRAUDAR, an edge to a shop weighs its orders times 1 / log(buyers of the shop + 5),
    so that a popular shop's crowd (honest camouflage) adds little; the density of a node
    set is its edges' weight over its size, and the node of least weight goes first.
    """
    degree: dict[str, int] = defaultdict(int)
    for _, shop in edges:
        degree[shop] += 1
    weight = {pair: count / math.log(degree[pair[1]] + 5) for pair, count in edges.items()}
    neighbours: dict[tuple[str, str], dict[tuple[str, str], float]] = defaultdict(dict)
    for (buyer, shop), w in weight.items():
        neighbours[("b", buyer)][("s", shop)] = w
        neighbours[("s", shop)][("b", buyer)] = w
    priority = {node: sum(links.values()) for node, links in neighbours.items()}
    total = sum(weight.values())
    alive = set(priority)
    heap = [(p, node) for node, p in priority.items()]
    heapq.heapify(heap)
    best, best_size, removed_order = total / len(alive), len(alive), []
    while len(alive) > 1:
        p, node = heapq.heappop(heap)
        if node not in alive or p != priority[node]:
            continue  # a stale entry: the node went, or its priority fell since
        alive.remove(node)
        removed_order.append(node)
        total -= priority[node]
        for other, w in neighbours[node].items():
            if other in alive:
                priority[other] -= w
                heapq.heappush(heap, (priority[other], other))
        density = total / len(alive)
        if density > best:
            best, best_size = density, len(alive)
    kept = set(priority) - set(removed_order[: len(priority) - best_size])
    buyers = {name for kind, name in kept if kind == "b"}
    shops = {name for kind, name in kept if kind == "s"}
    return buyers, shops, best
