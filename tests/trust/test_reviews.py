"""Reviews: only the buyer of a delivered order, once a line, one follow-up, one reply."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from laotie.core.clock import FrozenClock
from tests.factories import sign_in
from tests.orders.world import World, buy, buy_and_pay, make_world, order

STARS = {"product_stars": 5, "logistics_stars": 4, "service_stars": 3}


async def _delivered(client: httpx.AsyncClient, world: World, quantity: int = 1) -> dict[str, Any]:
    """Buy, pay, ship and receive one line; return the order."""
    order_id = await buy_and_pay(client, world.buyer, [(world.sku_ids[0], quantity)])
    shipped = await client.post(
        f"/api/orders/{order_id}/shipment",
        json={"carrier": "SF", "tracking_no": "SF1"},
        headers=world.seller.headers,
    )
    assert shipped.status_code == 200, shipped.text
    received = await client.post(f"/api/orders/{order_id}/receipt", headers=world.buyer.headers)
    assert received.json()["status"] == "delivered"
    return await order(client, world.buyer, order_id)


async def _review(
    client: httpx.AsyncClient, world: World, placed: dict[str, Any], **fields: Any
) -> httpx.Response:
    body = {"line_id": placed["lines"][0]["id"], **STARS, "text": "good tea", **fields}
    return await client.post(
        f"/api/orders/{placed['id']}/reviews", json=body, headers=world.buyer.headers
    )


async def test_the_buyer_reviews_a_delivered_line_once_and_everyone_reads_it(
    client: httpx.AsyncClient, uow: Any
) -> None:
    world = await make_world(client, uow)
    placed = await _delivered(client, world)
    made = await _review(client, world, placed, images=["https://img.example.com/a.jpg"])
    assert made.status_code == 201, made.text
    review = made.json()
    assert (review["product_stars"], review["logistics_stars"], review["service_stars"]) == (
        5,
        4,
        3,
    )
    assert "buyer_id" not in review  # a review never says who bought
    again = await _review(client, world, placed)
    assert (again.status_code, again.json()["code"]) == (409, "already_reviewed")
    public = await client.get(f"/api/shops/{world.shop_id}/reviews")
    assert [r["id"] for r in public.json()] == [review["id"]]
    by_product = await client.get(f"/api/products/{review['product_id']}/reviews")
    assert [r["id"] for r in by_product.json()] == [review["id"]]
    mine = await client.get(f"/api/orders/{placed['id']}/reviews", headers=world.buyer.headers)
    assert [r["id"] for r in mine.json()] == [review["id"]]


async def test_an_undelivered_order_or_someone_elses_is_not_reviewed(
    client: httpx.AsyncClient, uow: Any
) -> None:
    world = await make_world(client, uow)
    unpaid = (await buy(client, world.buyer, [(world.sku_ids[0], 1)])).json()["orders"][0]
    early = await _review(client, world, unpaid)
    assert (early.status_code, early.json()["code"]) == (409, "not_delivered")
    placed = await _delivered(client, world)
    body = {"line_id": placed["lines"][0]["id"], **STARS}
    other = await client.post(
        f"/api/orders/{placed['id']}/reviews", json=body, headers=world.other_buyer.headers
    )
    assert (other.status_code, other.json()["code"]) == (404, "not_found")
    wrong_line = await _review(client, world, placed, line_id="oln_nothere")
    assert wrong_line.status_code == 404


async def test_stars_outside_one_to_five_and_unknown_fields_are_refused(
    client: httpx.AsyncClient, uow: Any
) -> None:
    world = await make_world(client, uow)
    placed = await _delivered(client, world)
    for bad in ({"product_stars": 0}, {"service_stars": 6}, {"extra": 1}, {"images": ["ftp://x"]}):
        refused = await _review(client, world, placed, **bad)
        assert (refused.status_code, refused.json()["code"]) == (422, "invalid_input"), bad
    assert (await client.get(f"/api/shops/{world.shop_id}/reviews")).json() == []


async def test_one_follow_up_within_the_window_and_one_reply_from_the_shop(
    client: httpx.AsyncClient, uow: Any, clock: FrozenClock
) -> None:
    world = await make_world(client, uow)
    placed = await _delivered(client, world)
    review_id = (await _review(client, world, placed)).json()["id"]
    follow_up = {"text": "still good after a month"}
    stranger = await client.post(
        f"/api/reviews/{review_id}/follow-up", json=follow_up, headers=world.other_buyer.headers
    )
    assert stranger.status_code == 404
    added = await client.post(
        f"/api/reviews/{review_id}/follow-up", json=follow_up, headers=world.buyer.headers
    )
    assert added.json()["follow_up_text"] == "still good after a month"
    twice = await client.post(
        f"/api/reviews/{review_id}/follow-up", json=follow_up, headers=world.buyer.headers
    )
    assert (twice.status_code, twice.json()["code"]) == (409, "follow_up_given")
    not_owner = await client.post(
        f"/api/reviews/{review_id}/reply", json={"text": "thanks"}, headers=world.buyer.headers
    )
    assert not_owner.status_code == 403
    replied = await client.post(
        f"/api/reviews/{review_id}/reply", json={"text": "thank you"}, headers=world.seller.headers
    )
    assert replied.json()["reply_text"] == "thank you"
    again = await client.post(
        f"/api/reviews/{review_id}/reply", json={"text": "again"}, headers=world.seller.headers
    )
    assert (again.status_code, again.json()["code"]) == (409, "reply_given")


async def test_reviews_and_follow_ups_close_180_days_after_delivery(
    client: httpx.AsyncClient, uow: Any, clock: FrozenClock
) -> None:
    world = await make_world(client, uow, stocks=(10, 5))
    first, second = await _delivered(client, world), await _delivered(client, world)
    review_id = (await _review(client, world, first)).json()["id"]
    clock.advance(timedelta(days=181))
    world.buyer.token = await sign_in(client, world.buyer.email)  # the old token expired
    late = await _review(client, world, second)
    assert (late.status_code, late.json()["code"]) == (409, "review_window_closed")
    late_follow_up = await client.post(
        f"/api/reviews/{review_id}/follow-up", json={"text": "x"}, headers=world.buyer.headers
    )
    assert late_follow_up.json()["code"] == "review_window_closed"
