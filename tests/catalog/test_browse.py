"""Browsing and searching products on sale."""

from __future__ import annotations

from datetime import timedelta

import httpx

from laotie.core.clock import FrozenClock
from tests.catalog_factories import make_product, make_seller, make_shop, sku


async def _titles(client: httpx.AsyncClient, **params: object) -> list[str]:
    answer = await client.get("/api/products", params=params)
    assert answer.status_code == 200, answer.text
    return [item["title"] for item in answer.json()["items"]]


async def test_listing_shows_shop_name_and_lowest_active_price(client: httpx.AsyncClient) -> None:
    seller = await make_seller(client)
    shop_id = await make_shop(client, seller, name="Kettle Corner")
    product = await make_product(
        client, seller, shop_id, skus=[sku(3_000, size="S"), sku(5_000, size="L")]
    )
    await client.patch(
        f"/api/skus/{product.sku_ids[0]}", json={"active": False}, headers=seller.headers
    )
    page = (await client.get("/api/products")).json()
    assert page["total"] == 1
    item = page["items"][0]
    assert (item["shop_name"], item["lowest_price_minor"], item["currency"]) == (
        "Kettle Corner",
        5_000,
        "CNY",
    )
    assert item["image"] is None
    owner = await client.get("/api/products", params={"shop_id": shop_id}, headers=seller.headers)
    assert owner.json()["items"][0]["lowest_price_minor"] == 3_000


async def test_browse_filters_by_category_and_shop(client: httpx.AsyncClient) -> None:
    seller = await make_seller(client)
    first, second = await make_shop(client, seller), await make_shop(client, seller)
    await make_product(client, seller, first, title="Shirt", category="apparel")
    await make_product(client, seller, first, title="Tea", category="food")
    await make_product(client, seller, second, title="Bangle", category="jade")
    assert await _titles(client, category="food") == ["Tea"]
    assert sorted(await _titles(client, shop_id=first)) == ["Shirt", "Tea"]
    assert await _titles(client, shop_id=second, category="apparel") == []
    assert await _titles(client, category="nowhere") == []


async def test_search_matches_every_word_in_title_or_description_ignoring_case(
    client: httpx.AsyncClient,
) -> None:
    seller = await make_seller(client)
    shop_id = await make_shop(client, seller)
    await make_product(client, seller, shop_id, title="Green Tea", description="Longjing, spring")
    await make_product(client, seller, shop_id, title="Black tea", description="Keemun")
    await make_product(client, seller, shop_id, title="Teapot", description="Yixing clay")
    assert sorted(await _titles(client, q="TEA")) == ["Black tea", "Green Tea", "Teapot"]
    assert await _titles(client, q="spring green") == ["Green Tea"]
    assert await _titles(client, q="clay") == ["Teapot"]
    assert await _titles(client, q="coffee") == []
    assert len(await _titles(client, q="   ")) == 3


async def test_search_takes_percent_and_underscore_literally(client: httpx.AsyncClient) -> None:
    seller = await make_seller(client)
    shop_id = await make_shop(client, seller)
    await make_product(client, seller, shop_id, title="Silk 100% pure")
    await make_product(client, seller, shop_id, title="Silk 1000 threads")
    await make_product(client, seller, shop_id, title="size_M tee")
    await make_product(client, seller, shop_id, title="sizeXM tee")
    await make_product(client, seller, shop_id, title="back\\slash")
    assert await _titles(client, q="100%") == ["Silk 100% pure"]
    assert await _titles(client, q="%") == ["Silk 100% pure"]
    assert await _titles(client, q="size_m") == ["size_M tee"]
    assert await _titles(client, q="_") == ["size_M tee"]
    assert await _titles(client, q="k\\s") == ["back\\slash"]


async def test_products_are_paged_newest_first(
    client: httpx.AsyncClient, clock: FrozenClock
) -> None:
    seller = await make_seller(client)
    shop_id = await make_shop(client, seller)
    for title in ("one", "two", "three"):
        await make_product(client, seller, shop_id, title=title)
        clock.advance(timedelta(minutes=1))
    page = (await client.get("/api/products", params={"limit": 2, "offset": 1})).json()
    assert (page["total"], page["limit"], page["offset"]) == (3, 2, 1)
    assert [item["title"] for item in page["items"]] == ["two", "one"]
    assert (await client.get("/api/products", params={"limit": 101})).status_code == 422
    assert (await client.get("/api/products", params={"offset": -1})).status_code == 422
