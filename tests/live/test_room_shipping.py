"""Room orders ship like any order, and an address the shop does not serve takes no unit."""

from __future__ import annotations

from typing import Any

import httpx

from laotie.accounts.permissions import Role
from tests.factories import ADDRESS, sign_up
from tests.live.sale_room import buy, start_sale

LHASA = {**ADDRESS, "province_code": "540000", "city_code": "540100", "district_code": "540102"}


async def _shop_of(client: httpx.AsyncClient, room: dict[str, Any]) -> str:
    session = await client.get(f"/api/live/sessions/{room['session_id']}")
    return str(session.json()["shop_id"])


async def _no_tibet(client: httpx.AsyncClient, room: dict[str, Any]) -> None:
    shop_id = await _shop_of(client, room)
    answer = await client.put(
        f"/api/shops/{shop_id}/freight",
        json={
            "default": {"mode": "flat", "amount_minor": 500},
            "provinces": {"540000": {"mode": "not_delivered"}},
        },
        headers=room["anchor"].headers,
    )
    assert answer.status_code == 200, answer.text


async def test_a_sale_order_to_an_unserved_address_is_refused_before_the_gate(
    client: httpx.AsyncClient, room: dict[str, Any], app: Any
) -> None:
    await _no_tibet(client, room)
    sale = (await start_sale(client, room, quantity=3)).json()
    buyer = await sign_up(client, Role.BUYER)
    tibet = await client.post("/api/addresses", json=LHASA, headers=buyer.headers)
    refused = await buy(client, room, buyer, address_id=tibet.json()["id"])
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "not_delivered_there"
    gate = app.state.live.gate
    assert await gate.left(sale["sale_id"]) == 3
    count = await gate.count(sale["sale_id"])
    assert count is not None and count.left == 3
    granted = await buy(client, room, buyer)  # the default address, in 浙江
    assert granted.status_code == 201, granted.text
    made = granted.json()["orders"][0]
    assert (made["freight_minor"], made["total_minor"]) == (500, 5_900 + 500)
    assert made["ship_to"]["city"] == "杭州市"
    assert await gate.left(sale["sale_id"]) == 2


async def test_a_plain_room_order_carries_the_address_and_freight(
    client: httpx.AsyncClient, room: dict[str, Any]
) -> None:
    await _no_tibet(client, room)
    buyer = await sign_up(client, Role.BUYER)
    placed = await buy(client, room, buyer)
    assert placed.status_code == 201, placed.text
    made = placed.json()["orders"][0]
    assert (made["freight_minor"], made["total_minor"], made["city_tier"]) == (
        500,
        9_900 + 500,
        "new_first",
    )
    tibet = await client.post("/api/addresses", json=LHASA, headers=buyer.headers)
    refused = await buy(client, room, buyer, address_id=tibet.json()["id"])
    assert refused.json()["code"] == "not_delivered_there"


async def test_a_room_buyer_without_an_address_is_refused(
    client: httpx.AsyncClient, room: dict[str, Any]
) -> None:
    await start_sale(client, room, quantity=3)
    buyer = await sign_up(client, Role.BUYER, address=False)
    refused = await buy(client, room, buyer)
    assert refused.json()["code"] == "address_required"
