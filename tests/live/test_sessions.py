"""Live sessions over HTTP: scheduling, one live show per anchor, the room's cart and pin."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from laotie.accounts.permissions import Role
from laotie.core.clock import FrozenClock
from laotie.live.room import state as room
from laotie.live.session.service import pin_changes
from tests.catalog_factories import make_product, make_shop, sku
from tests.factories import ApiUser, sign_up
from tests.orders.world import make_shop_with_skus


class RecordingHub:
    """Stands in for the room fan-out: remembers what would be broadcast, in order."""

    def __init__(self) -> None:
        self.published: list[tuple[str, Any]] = []

    async def publish(self, room_name: str, event: Any) -> Any:
        self.published.append((room_name, event))
        return event


@pytest.fixture(autouse=True)
def recording_hub(app: Any) -> RecordingHub:
    """Record broadcasts instead of fanning them out."""
    hub = RecordingHub()
    app.state.hub = hub
    return hub


async def _anchor_with_products(
    client: httpx.AsyncClient, uow: Any
) -> tuple[ApiUser, str, list[str]]:
    seller = await sign_up(client, Role.SELLER, Role.ANCHOR, name="Anchor")
    shop_id = await make_shop(client, seller)
    products = [
        (await make_product(client, seller, shop_id, title=title, skus=[sku(stock=stock)])).id
        for title, stock in (("Pu'er cake", 10), ("Gaiwan cup", 3))
    ]
    return seller, shop_id, products


async def _schedule(
    client: httpx.AsyncClient, anchor: ApiUser, shop_id: str, clock: FrozenClock, **extra: Any
) -> httpx.Response:
    body = {
        "shop_id": shop_id,
        "title": "Tea tasting",
        "scheduled_at": (clock.now() + timedelta(hours=1)).isoformat(),
        **extra,
    }
    return await client.post("/api/live/sessions", json=body, headers=anchor.headers)


async def test_anchor_schedules_goes_live_pins_and_ends(
    client: httpx.AsyncClient, uow: Any, clock: FrozenClock, app: Any
) -> None:
    anchor, shop_id, products = await _anchor_with_products(client, uow)
    scheduled = await _schedule(client, anchor, shop_id, clock, product_ids=products)
    assert scheduled.status_code == 201, scheduled.text
    session = scheduled.json()
    assert session["status"] == "scheduled"
    assert session["cart"] == products
    live = await client.post(f"/api/live/sessions/{session['id']}/start", headers=anchor.headers)
    assert live.json()["status"] == "live"
    pinned = await client.put(
        f"/api/live/sessions/{session['id']}/pin",
        json={"product_id": products[0]},
        headers=anchor.headers,
    )
    assert pinned.json()["pinned_product_id"] == products[0]
    ended = await client.post(f"/api/live/sessions/{session['id']}/end", headers=anchor.headers)
    assert ended.json()["status"] == "ended"
    types = [event.type for _, event in app.state.hub.published]
    assert types == ["status", "pin", "status"]


async def test_one_live_session_per_anchor(
    client: httpx.AsyncClient, uow: Any, clock: FrozenClock
) -> None:
    anchor, shop_id, _ = await _anchor_with_products(client, uow)
    first = (await _schedule(client, anchor, shop_id, clock)).json()
    second = (await _schedule(client, anchor, shop_id, clock)).json()
    assert (
        await client.post(f"/api/live/sessions/{first['id']}/start", headers=anchor.headers)
    ).status_code == 200
    refused = await client.post(f"/api/live/sessions/{second['id']}/start", headers=anchor.headers)
    assert refused.status_code == 409
    assert refused.json()["code"] == "already_live"
    await client.post(f"/api/live/sessions/{first['id']}/end", headers=anchor.headers)
    again = await client.post(f"/api/live/sessions/{second['id']}/start", headers=anchor.headers)
    assert again.status_code == 200


async def test_cart_takes_only_the_shops_products_and_unpins_what_leaves(
    client: httpx.AsyncClient, uow: Any, clock: FrozenClock, app: Any
) -> None:
    anchor, shop_id, products = await _anchor_with_products(client, uow)
    other = await sign_up(client, Role.SELLER, name="Other")
    await make_shop_with_skus(uow, other.id, (1,), (500,))
    foreign = (await client.get("/api/products", params={"q": "Linen"})).json()["items"]
    foreign_ids = [p["id"] for p in foreign if p["id"] not in products]
    session = (await _schedule(client, anchor, shop_id, clock)).json()
    url = f"/api/live/sessions/{session['id']}"
    refused = await client.put(
        f"{url}/cart", json={"product_ids": foreign_ids[:1]}, headers=anchor.headers
    )
    assert refused.status_code == 422
    assert refused.json()["code"] == "product_not_in_shop"
    await client.post(f"{url}/start", headers=anchor.headers)
    not_in_cart = await client.put(
        f"{url}/pin", json={"product_id": products[0]}, headers=anchor.headers
    )
    assert not_in_cart.json()["code"] == "product_not_in_cart"
    await client.put(f"{url}/cart", json={"product_ids": products}, headers=anchor.headers)
    await client.put(f"{url}/pin", json={"product_id": products[1]}, headers=anchor.headers)
    shrunk = await client.put(
        f"{url}/cart", json={"product_ids": products[:1]}, headers=anchor.headers
    )
    assert shrunk.json()["cart"] == products[:1]
    assert shrunk.json()["pinned_product_id"] is None
    async with uow() as ctx:  # the pin history ends where the pin did
        history = await pin_changes(ctx, session["id"])
    assert [change.product_id for change in history] == [products[1], None]
    cart_event = [e for _, e in app.state.hub.published if e.type == "cart"][-1]
    assert [item["product_id"] for item in cart_event.data["items"]] == products[:1]
    assert cart_event.data["items"][0]["stock"] > 0


async def test_strangers_cannot_run_someone_elses_show(
    client: httpx.AsyncClient, uow: Any, clock: FrozenClock
) -> None:
    anchor, shop_id, _ = await _anchor_with_products(client, uow)
    stranger = await sign_up(client, Role.SELLER, Role.ANCHOR, name="Stranger")
    refused = await _schedule(client, stranger, shop_id, clock)
    assert refused.status_code == 403
    assert refused.json()["code"] == "not_your_shop"
    session = (await _schedule(client, anchor, shop_id, clock)).json()
    start = await client.post(f"/api/live/sessions/{session['id']}/start", headers=stranger.headers)
    assert start.status_code == 404
    buyer = await sign_up(client, Role.BUYER)
    assert (await _schedule(client, buyer, shop_id, clock)).status_code == 403


def test_snapshot_plus_events_equals_the_state_after_them() -> None:
    state = room.empty_state()
    events = [
        ("cart", {"items": [{"product_id": "p1", "stock": 5}, {"product_id": "p2", "stock": 1}]}),
        ("pin", {"product_id": "p2"}),
        ("chat", {"id": 1, "author": "A", "text": "<b>hi</b>"}),
        ("stock", {"product_id": "p1", "stock": 4}),
        ("cart", {"items": [{"product_id": "p1", "stock": 4}]}),
        ("likes", {"total": 30}),
        ("chat_delete", {"id": 1}),
    ]
    states = [state]
    for event_type, data in events:
        states.append(room.apply(states[-1], event_type, data))
    final = states[-1]
    assert final["pin"] is None  # p2 left the cart
    assert final["cart"] == [{"product_id": "p1", "stock": 4}]
    assert final["chat"] == []
    assert final["likes"] == 30
    for k, snapshot in enumerate(states):
        replayed = snapshot
        for event_type, data in events[k:]:
            replayed = room.apply(replayed, event_type, data)
        assert replayed == final
    assert states[0] == room.empty_state()  # apply never changes its input
