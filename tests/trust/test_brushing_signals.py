"""The brushing signals on made-up orders: each finds its pattern and leaves honest ones be."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from laotie.orders.trust_facts import OrderPrint
from laotie.trust.brushing import (
    ReviewPrint,
    Signal,
    camouflage,
    dense_blocks,
    densest_block,
    detect,
    instant_five_stars,
    order_bursts,
    shared_fingerprints,
)

T0 = datetime(2026, 5, 1, 9, tzinfo=UTC)


def _order(n: int, shop: str, buyer: str, at: datetime = T0, **extra: object) -> OrderPrint:
    made = OrderPrint(
        order_id=f"ord{n}",
        shop_id=shop,
        buyer_id=buyer,
        paid_at=at,
        total_minor=5_000,
        device_id=f"dev-{buyer}",
        client_ip=f"ip-{buyer}",
        address_key=f"addr-{buyer}",
        payer_account=f"sbx:{buyer}",
        shipped_at=at + timedelta(hours=20),
        delivered_at=at + timedelta(days=3),
        buyer_confirmed=False,
    )
    return replace(made, **extra)  # type: ignore[arg-type]


def _honest_world() -> list[OrderPrint]:
    """Two hundred buyers, each ordering once or twice at a few of ten shops, days apart."""
    made, n = [], 0
    for b in range(200):
        for k in range(1 + b % 2):
            n += 1
            made.append(_order(n, f"shop{(b * 7 + k * 3) % 10}", f"b{b}", T0 + timedelta(hours=n)))
    return made


def test_honest_orders_raise_nothing_even_from_one_office_address() -> None:
    orders = _honest_world()
    office = [replace(o, client_ip="office") if o.buyer_id < "b5" else o for o in orders]
    assert detect(office, []) == []


def test_three_buyers_on_one_device_at_one_shop_are_a_group() -> None:
    ring = [_order(i, "shopX", f"r{i}", device_id="dev-ring") for i in range(3)]
    (found,) = shared_fingerprints([*_honest_world(), *ring])
    assert (found.signal, found.shop_id, found.buyer_ids) == (
        Signal.SHARED_FINGERPRINT,
        "shopX",
        {"r0", "r1", "r2"},
    )
    assert found.evidence["fingerprint"] == "device"
    assert shared_fingerprints(ring[:2]) == []  # two people may share a tablet


def test_an_hour_of_the_same_accounts_ordering_again_and_again_is_a_burst() -> None:
    burst = [_order(100 + i, "shopX", f"r{i % 2}", T0 + timedelta(minutes=5 * i)) for i in range(6)]
    (found,) = order_bursts([*_honest_world(), *burst])
    assert (found.shop_id, len(found.order_ids), found.buyer_ids) == ("shopX", 6, {"r0", "r1"})
    spread = [replace(o, paid_at=T0 + timedelta(hours=2 * i)) for i, o in enumerate(burst)]
    assert order_bursts(spread) == []


def test_receipt_confirmed_at_once_then_five_stars_is_instant() -> None:
    quick = [
        _order(
            i,
            "shopX",
            f"r{i}",
            shipped_at=T0 + timedelta(hours=1),
            delivered_at=T0 + timedelta(hours=1, minutes=10),
            buyer_confirmed=True,
        )
        for i in range(3)
    ]
    five = [ReviewPrint(o.order_id, (5, 5, 5), T0 + timedelta(hours=2)) for o in quick]
    (found,) = instant_five_stars(quick, five)
    assert found.order_ids == {"ord0", "ord1", "ord2"}
    four = [replace(r, stars=(5, 4, 5)) for r in five]
    assert instant_five_stars(quick, four) == []
    late = [replace(r, at=T0 + timedelta(days=3)) for r in five]
    assert instant_five_stars(quick, late) == []


def test_peeling_finds_the_ring_that_keeps_ordering_from_one_shop() -> None:
    honest = _honest_world()
    ring = [
        _order(1_000 + 10 * r + k, "shopX", f"ring{r}", T0 + timedelta(days=k))
        for r in range(12)
        for k in range(5)
    ]
    found = dense_blocks([*honest, *ring])
    assert [(s.shop_id, s.buyer_ids) for s in found] == [("shopX", {f"ring{r}" for r in range(12)})]
    assert dense_blocks(honest) == []


def test_camouflage_is_the_rings_orders_at_other_shops() -> None:
    ring = [_order(i, "shopX", f"r{i}", device_id="dev-ring") for i in range(3)]
    elsewhere = _order(50, "shop1", "r1")
    honest = _order(51, "shop1", "b9")
    suspects = shared_fingerprints([*ring, elsewhere, honest])
    assert camouflage([*ring, elsewhere, honest], suspects) == {"shopX": {"ord50"}}


@given(
    st.dictionaries(
        st.tuples(st.sampled_from("abcdefgh"), st.sampled_from("STUV")),
        st.integers(min_value=1, max_value=6),
        min_size=1,
    )
)
def test_the_densest_block_is_at_least_as_dense_as_the_whole_graph(
    edges: dict[tuple[str, str], int],
) -> None:
    buyers, shops, density = densest_block(dict(edges))
    assert buyers | shops
    degree: dict[str, int] = {}
    for _, shop in edges:
        degree[shop] = degree.get(shop, 0) + 1
    whole = sum(c / math.log(degree[s] + 5) for (_, s), c in edges.items())
    nodes = len({b for b, _ in edges}) + len(degree)
    assert density >= whole / nodes - 1e-9
