"""An anchor answers for what it sold from any shop: a misdescription confirmed on a pool
product's order lowers the anchor's reputation as well as costing the shop its points."""

from __future__ import annotations

from typing import Any

import httpx

from laotie.core.clock import FrozenClock
from laotie.trust.service import MISDESCRIPTION_WEIGHT
from tests.affiliate.world import approved, buy_pooled, make_affiliate_world, set_cart
from tests.catalog_factories import make_operator
from tests.orders.world import pay


async def test_a_confirmed_misdescription_of_a_pool_order_counts_against_the_anchor(
    client: httpx.AsyncClient, clock: FrozenClock, uow: Any
) -> None:
    world = await make_affiliate_world(client, clock)
    operator = await make_operator(client, uow)
    await approved(client, world)
    assert (await set_cart(client, world, [world.pooled.id])).status_code == 200
    order_id = (await buy_pooled(client, world)).json()["orders"][0]["id"]
    await pay(client, world.buyer, [order_id])

    async def product_dimension() -> dict[str, Any]:
        answer = await client.get(f"/api/live/anchors/{world.anchor.id}/reputation")
        assert answer.status_code == 200, answer.text
        return next(d for d in answer.json()["dimensions"] if d["dimension"] == "product")

    before = await product_dimension()
    assert before["count"] == 0
    filed = await client.post(
        f"/api/orders/{order_id}/reports",
        json={"kind": "misdescription", "text": "The clay is not Yixing clay."},
        headers=world.buyer.headers,
    )
    assert filed.status_code == 201, filed.text
    dismissed_first = await product_dimension()
    assert dismissed_first["count"] == 0  # a report counts once an operator confirms it
    confirmed = await client.post(
        f"/api/operator/reports/{filed.json()['id']}/decision",
        json={"confirm": True, "note": "checked"},
        headers=operator.headers,
    )
    assert confirmed.status_code == 200, confirmed.text

    after = await product_dimension()
    assert after["count"] == 1
    assert after["weight"] == MISDESCRIPTION_WEIGHT
    assert after["weighted_sum"] == MISDESCRIPTION_WEIGHT * 1  # one star's worth, thrice
    assert after["value"] < before["value"]
    shop = await client.get(
        f"/api/shops/{world.supplier_shop}/penalties", headers=world.supplier.headers
    )
    assert shop.json()["points"] > 0  # the shop answers for it too, with its points
