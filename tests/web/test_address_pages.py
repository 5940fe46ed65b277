"""The address book page, the freight on the cart, the address on orders and in the back office."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.catalog_factories import make_product, make_seller, make_shop, sku
from tests.web.pages import PageUser, browsing, flash_of


@pytest.fixture
async def users(app: Any) -> Any:
    """Make signed-in page users: `await users("seller")`."""
    async with browsing(app) as make:
        yield make


async def test_the_address_page_adds_one_refuses_an_unknown_place_and_deletes(
    users: Any,
) -> None:
    buyer: PageUser = await users(ships=False)
    page = await buyer.get("/addresses")
    assert page.status_code == 200
    assert "西湖区" in page.text and "2024" in page.text  # the divisions and the tier source
    refused = await buyer.post(
        "/addresses",
        {"recipient": "王五", "phone": "13700137000", "place": "999999", "street": "x"},
    )
    assert "no such district" in flash_of(await buyer.get(refused.headers["location"]))
    added = await buyer.post(
        "/addresses",
        {"recipient": "王五", "phone": "13700137000", "place": "441900", "street": "y"},
    )
    assert added.status_code == 303
    listed = (await buyer.http.get("/api/addresses")).json()
    assert [(a["city"], a["district"], a["is_default"]) for a in listed] == [("东莞市", None, True)]
    await buyer.post(f"/addresses/{listed[0]['id']}/delete")
    assert (await buyer.http.get("/api/addresses")).json() == []


async def test_the_cart_shows_freight_and_the_seller_sees_where_to_ship(
    client: httpx.AsyncClient, users: Any
) -> None:
    seller = await make_seller(client)
    shop_id = await make_shop(client, seller)
    made = await make_product(client, seller, shop_id, skus=[sku(5_000, 4, size="M")])
    template = {"default": {"mode": "per_unit", "amount_minor": 250}}
    await client.put(f"/api/shops/{shop_id}/freight", json=template, headers=seller.headers)
    buyer: PageUser = await users()
    await buyer.post("/cart/items", {"sku_id": made.sku_ids[0], "quantity": "2"})
    cart = (await buyer.get("/cart")).text
    assert "¥5.00" in cart  # freight: 2 × 2.50
    assert "¥105.00" in cart  # to pay
    key = await buyer.key_from("/cart")
    paid = await buyer.post("/cart/checkout", {"idempotency_key": key})
    await buyer.http.post(paid.headers["location"], data={"action": "pay"})
    (order,) = (await buyer.http.get("/api/orders")).json()
    assert (order["freight_minor"], order["total_minor"]) == (500, 10_500)
    assert "西湖区" in (await buyer.get(f"/orders/{order['id']}")).text
    back_office: PageUser = await users(email=seller.email)
    assert "西湖区" in (await back_office.get("/seller")).text


async def test_the_seller_sets_freight_on_its_page(client: httpx.AsyncClient, users: Any) -> None:
    seller = await make_seller(client)
    shop_id = await make_shop(client, seller)
    page_user: PageUser = await users(email=seller.email)
    assert (await page_user.get("/seller/freight")).status_code == 200
    saved = await page_user.post(
        "/seller/freight",
        {
            "mode_default": "flat",
            "amount_default": "8.00",
            "mode_540000": "not_delivered",
            "mode_330000": "free",
        },
    )
    assert saved.status_code == 303
    template = (await client.get(f"/api/shops/{shop_id}/freight")).json()
    assert template["default"] == {"mode": "flat", "amount_minor": 800}
    assert template["provinces"]["540000"]["mode"] == "not_delivered"
    assert template["provinces"]["330000"]["mode"] == "free"
    shown = (await page_user.get("/seller/freight")).text
    assert 'value="8.00"' in shown
