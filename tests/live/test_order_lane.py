"""The room-order lane answers what the route would, and hands everything unusual to the route."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from laotie.accounts.permissions import Role
from laotie.live.sale.lane import MAX_BODY_BYTES, RoomOrderLane, parse_order, read_body
from tests.factories import ApiUser, sign_up
from tests.live.sale_room import start_sale

FELL_THROUGH = 599


class Fallback:
    """Stands for the FastAPI app behind the lane: records what reached it."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = await receive()
        self.bodies.append(message.get("body", b""))
        await send({"type": "http.response.start", "status": FELL_THROUGH, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})


@pytest.fixture
def fallback() -> Fallback:
    return Fallback()


@pytest.fixture
async def lane(app: Any, fallback: Fallback) -> httpx.AsyncClient:
    """A client of the lane alone, in front of the recording fallback, on the real app's state."""
    inner = RoomOrderLane(fallback)

    async def with_app(scope: Scope, receive: Receive, send: Send) -> None:
        scope["app"] = app  # as Starlette sets it before its middleware runs
        await inner(scope, receive, send)

    transport = httpx.ASGITransport(app=with_app)
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def _cached_buyer(client: httpx.AsyncClient, app: Any) -> ApiUser:
    """A buyer whose token the cache knows, as after its first request."""
    buyer = await sign_up(client, Role.BUYER, name="Bo")
    assert (await client.get("/api/auth/me", headers=buyer.headers)).status_code == 200
    assert app.state.token_cache.get(buyer.token, app.state.clock.now()) is not None
    return buyer


def _order(room: dict[str, Any], buyer: ApiUser, **extra: Any) -> dict[str, Any]:
    return {
        "url": f"/api/live/sessions/{room['session_id']}/orders",
        "json": {"sku_id": room["sku_id"], "quantity": 1, **extra},
        "headers": {**buyer.headers, "Idempotency-Key": uuid.uuid4().hex},
    }


async def test_the_lane_answers_a_sale_order_as_the_route_does(
    client: httpx.AsyncClient,
    lane: httpx.AsyncClient,
    app: Any,
    room: dict[str, Any],
    fallback: Fallback,
) -> None:
    assert (await start_sale(client, room, per_buyer_limit=3)).status_code == 201
    buyer = await _cached_buyer(client, app)
    through_lane = await lane.post(**_order(room, buyer))
    app.state.token_cache.forget(buyer.token)
    through_route = await client.post(**_order(room, buyer))
    assert fallback.bodies == []
    assert through_lane.status_code == through_route.status_code == 201, through_lane.text
    assert through_lane.headers["content-type"] == through_route.headers["content-type"]
    lane_order, route_order = through_lane.json()["orders"][0], through_route.json()["orders"][0]
    assert lane_order.keys() == route_order.keys()
    assert lane_order["live_session_id"] == room["session_id"]
    stored = await client.get(f"/api/orders/{lane_order['id']}", headers=buyer.headers)
    assert {k: stored.json()[k] for k in lane_order if k in stored.json()} == {
        k: v for k, v in lane_order.items() if k in stored.json()
    }


async def test_the_lane_refuses_with_the_routes_codes(
    client: httpx.AsyncClient,
    lane: httpx.AsyncClient,
    app: Any,
    room: dict[str, Any],
    fallback: Fallback,
) -> None:
    assert (await start_sale(client, room, quantity=1, per_buyer_limit=1)).status_code == 201
    buyer, other = await _cached_buyer(client, app), await _cached_buyer(client, app)
    assert (await lane.post(**_order(room, buyer))).status_code == 201
    sold_out = await lane.post(**_order(room, other))
    assert (sold_out.status_code, sold_out.json()["code"]) == (409, "sold_out")
    no_key = _order(room, other)
    del no_key["headers"]["Idempotency-Key"]
    refused = await lane.post(**no_key)
    assert (refused.status_code, refused.json()["code"]) == (400, "idempotency_key_missing")
    short_key = _order(room, other)
    short_key["headers"]["Idempotency-Key"] = "short"
    refused = await lane.post(**short_key)
    assert (refused.status_code, refused.json()["code"]) == (400, "idempotency_key_invalid")
    assert fallback.bodies == []


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"extra": {"coupon": "x"}}, id="unknown field"),
        pytest.param({"extra": {"quantity": "1"}}, id="quantity as text"),
        pytest.param({"extra": {"quantity": True}}, id="quantity as boolean"),
        pytest.param({"extra": {"quantity": 0}}, id="quantity out of bounds"),
        pytest.param({"extra": {"sku_id": ""}}, id="empty sku"),
        pytest.param({"headers": {"Authorization": ""}}, id="no token"),
        pytest.param({"headers": {"Content-Type": "text/plain"}}, id="not json"),
    ],
)
async def test_anything_unusual_goes_to_the_route_with_its_body(
    client: httpx.AsyncClient,
    lane: httpx.AsyncClient,
    app: Any,
    room: dict[str, Any],
    fallback: Fallback,
    change: dict[str, Any],
) -> None:
    buyer = await _cached_buyer(client, app)
    request = _order(room, buyer, **change.get("extra", {}))
    body = json.dumps(request.pop("json")).encode()
    headers = {
        **request.pop("headers"),
        "Content-Type": "application/json",
        **change.get("headers", {}),
    }
    answer = await lane.post(request["url"], content=body, headers=headers)
    assert answer.status_code == FELL_THROUGH
    assert fallback.bodies == [body]


async def test_other_requests_pass_by_the_lane(
    lane: httpx.AsyncClient, fallback: Fallback, room: dict[str, Any]
) -> None:
    assert (await lane.get(f"/api/live/sessions/{room['session_id']}/orders")).status_code == 599
    assert (await lane.post("/api/live/sessions/a/b/orders", json={})).status_code == 599
    assert (await lane.post("/api/live/sessions//orders", json={})).status_code == 599
    assert len(fallback.bodies) == 3


def test_the_body_is_read_as_strictly_as_the_model() -> None:
    assert parse_order(b'{"sku_id": "s", "quantity": 2}') is not None
    assert parse_order(b'{"sku_id": "s", "quantity": 2, "visit_id": null}') is not None
    assert parse_order(b'{"sku_id": "s", "quantity": 2.0}') is None
    assert parse_order(b'{"sku_id": "s"}') is None
    assert parse_order(b'["s", 2]') is None
    assert parse_order(b"not json") is None
    assert parse_order(b'{"sku_id": "' + b"s" * 33 + b'", "quantity": 1}') is None
    assert parse_order(b'{"sku_id": "s", "quantity": 1, "visit_id": 5}') is None


async def test_a_large_body_is_handed_on_whole_after_the_part_read() -> None:
    chunk = b"x" * (MAX_BODY_BYTES // 2 + 1)
    messages = [
        {"type": "http.request", "body": chunk, "more_body": True},
        {"type": "http.request", "body": chunk, "more_body": True},
        {"type": "http.request", "body": chunk, "more_body": False},
    ]

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    body = await read_body(receive)
    assert not body.whole and not body.gone
    again = body.replay(receive)
    received = [await again(), await again()]
    assert b"".join(m["body"] for m in received) == chunk * 3
    assert [m["more_body"] for m in received] == [True, False]


async def test_a_client_gone_before_its_body_is_not_answered() -> None:
    async def receive() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    assert (await read_body(receive)).gone


async def test_the_lane_signs_a_cold_token_in_and_refuses_a_bad_one(
    client: httpx.AsyncClient,
    lane: httpx.AsyncClient,
    app: Any,
    room: dict[str, Any],
    fallback: Fallback,
) -> None:
    buyer = await sign_up(client, Role.BUYER)
    app.state.token_cache.forget(buyer.token)
    bought = await lane.post(**_order(room, buyer))
    assert bought.status_code == 201, bought.text
    assert app.state.token_cache.get(buyer.token, app.state.clock.now()) is not None
    forged = _order(room, buyer)
    forged["headers"]["Authorization"] = "Bearer not-a-token"
    refused = await lane.post(**forged)
    assert (refused.status_code, refused.json()["code"]) == (401, "not_authenticated")
    assert fallback.bodies == []
