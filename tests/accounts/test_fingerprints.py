"""Sign-ins and checkouts keep where they came from: the client's address and device."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from laotie.accounts.models import SignIn
from laotie.core.fingerprint import DEVICE_COOKIE, DEVICE_HEADER, device_of
from laotie.orders.models import Order
from tests.factories import PASSWORD
from tests.orders.world import buy, make_world


async def test_a_sign_in_and_a_checkout_keep_the_address_and_the_device(
    client: httpx.AsyncClient, uow: Any
) -> None:
    world = await make_world(client, uow)
    signed = await client.post(
        "/api/auth/tokens",
        json={"email": world.buyer.email, "password": PASSWORD},
        headers={DEVICE_HEADER: "phone-0001-abcd"},
    )
    assert signed.status_code == 201, signed.text
    placed = await buy(client, world.buyer, [(world.sku_ids[0], 1)])
    order_id = placed.json()["orders"][0]["id"]
    async with uow() as ctx:
        sign_ins = (
            await ctx.db.scalars(select(SignIn).where(SignIn.user_id == world.buyer.id))
        ).all()
        order = await ctx.db.get(Order, order_id)
    assert [(s.ip, s.device_id) for s in sign_ins][-1] == ("127.0.0.1", "phone-0001-abcd")
    assert order is not None and (order.client_ip, order.device_id) == ("127.0.0.1", None)
    headers = {**world.buyer.headers, DEVICE_HEADER: "phone-0001-abcd"}
    again = await client.post(
        "/api/orders",
        json={"lines": [{"sku_id": world.sku_ids[0], "quantity": 1}]},
        headers={**headers, "Idempotency-Key": "fingerprinted-1"},
    )
    async with uow() as ctx:
        second = await ctx.db.get(Order, again.json()["orders"][0]["id"])
    assert second is not None and second.device_id == "phone-0001-abcd"


async def test_the_pages_name_a_browser_once(client: httpx.AsyncClient) -> None:
    first = await client.get("/")
    device = first.cookies.get(DEVICE_COOKIE)
    assert device and device_of(None, device) == device
    client.cookies.set(DEVICE_COOKIE, device)
    assert DEVICE_COOKIE not in (await client.get("/")).cookies


def test_a_malformed_device_id_is_dropped_and_the_header_comes_first() -> None:
    assert device_of("short", None) is None
    assert device_of("has spaces in it", "cookie-device-1") == "cookie-device-1"
    assert device_of("header-device-1", "cookie-device-1") == "header-device-1"
    assert device_of("x" * 65, None) is None
