"""An anchor's reputation: the shop formula over the orders placed in the anchor's rooms."""

from __future__ import annotations

from typing import Any

import httpx

from laotie.accounts.permissions import Role
from laotie.live.session.reputation import score_anchors_daily
from laotie.trust import score
from tests.factories import sign_up
from tests.live.sale_room import buy
from tests.orders.world import buy as buy_from_shelf
from tests.orders.world import pay

STARS = {"product_stars": 1, "logistics_stars": 1, "service_stars": 1}


async def test_the_reputation_reads_the_rooms_orders_and_only_theirs(
    client: httpx.AsyncClient, room: dict[str, Any], app: Any
) -> None:
    anchor = room["anchor"]
    buyers = [await sign_up(client, Role.BUYER, name=f"Viewer {i}") for i in range(3)]
    order_ids = []
    for buyer in buyers:
        bought = await buy(client, room, buyer)
        assert bought.status_code == 201, bought.text
        order_ids.append(bought.json()["orders"][0]["id"])
        await pay(client, buyer, order_ids[-1:])
    shelf = await buy_from_shelf(client, buyers[0], [(room["sku_id"], 1)])  # not the room's
    await pay(client, buyers[0], [shelf.json()["orders"][0]["id"]])
    shipping = {"carrier": "SF", "tracking_no": "SF7"}
    for order_id in (order_ids[0], shelf.json()["orders"][0]["id"]):
        await client.post(f"/api/orders/{order_id}/shipment", json=shipping, headers=anchor.headers)
    await client.post(f"/api/orders/{order_ids[0]}/receipt", headers=buyers[0].headers)
    placed = (await client.get(f"/api/orders/{order_ids[0]}", headers=buyers[0].headers)).json()
    reviewed = await client.post(
        f"/api/orders/{order_ids[0]}/reviews",
        json={"line_id": placed["lines"][0]["id"], **STARS},
        headers=buyers[0].headers,
    )
    assert reviewed.status_code == 201, reviewed.text

    answer = await client.get(f"/api/live/anchors/{anchor.id}/reputation")
    assert answer.status_code == 200, answer.text
    reputation = answer.json()
    assert (reputation["anchor_id"], reputation["sessions"], reputation["buyers"]) == (
        anchor.id,
        1,
        3,
    )
    assert (reputation["new"], reputation["tier"], reputation["score"]) == (
        True,
        "new",
        score.PRIOR,
    )
    counts = {d["dimension"]: d["count"] for d in reputation["dimensions"]}
    # The room's one review (three stars) and its one shipment; the shelf order's are out.
    assert counts == {"product": 1, "logistics": 2, "service": 1, "loyalty": 0}
    logistics = next(d for d in reputation["dimensions"] if d["dimension"] == "logistics")
    assert logistics["weighted_sum"] == 1 + 5  # a one-star review and a shipment on time

    assert await score_anchors_daily(app.state) == 1
    assert await score_anchors_daily(app.state) == 0  # kept once a day
    history = await client.get(f"/api/live/anchors/{anchor.id}/reputation/history")
    assert [(d["score"], d["buyers"]) for d in history.json()] == [(score.PRIOR, 3)]


async def test_only_anchors_have_a_reputation(client: httpx.AsyncClient) -> None:
    buyer = await sign_up(client, Role.BUYER)
    for path in (
        f"/api/live/anchors/{buyer.id}/reputation",
        "/api/live/anchors/usr_none/reputation",
    ):
        answer = await client.get(path)
        assert (answer.status_code, answer.json()["code"]) == (404, "not_found")
    history = await client.get(f"/api/live/anchors/{buyer.id}/reputation/history")
    assert history.status_code == 404


async def test_an_anchor_who_never_went_live_has_the_prior_reputation(
    client: httpx.AsyncClient,
) -> None:
    anchor = await sign_up(client, Role.SELLER, Role.ANCHOR, name="New anchor")
    answer = await client.get(f"/api/live/anchors/{anchor.id}/reputation")
    assert answer.status_code == 200, answer.text
    assert (answer.json()["sessions"], answer.json()["score"]) == (0, score.PRIOR)
    assert (await client.get(f"/anchors/{anchor.id}")).status_code == 200  # its profile page
