"""Stock on hand: restocking and writing off, never below zero."""

from __future__ import annotations

import httpx

from laotie.catalog.schemas import MAX_STOCK
from tests.catalog_factories import make_product, make_seller, make_shop, sku
from tests.factories import ApiUser


async def _sku(client: httpx.AsyncClient, stock: int) -> tuple[ApiUser, str]:
    seller = await make_seller(client)
    product = await make_product(
        client, seller, await make_shop(client, seller), skus=[sku(stock=stock)]
    )
    return seller, product.sku_ids[0]


async def _adjust(
    client: httpx.AsyncClient, seller: ApiUser, sku_id: str, delta: int
) -> httpx.Response:
    return await client.post(
        f"/api/skus/{sku_id}/stock-adjustments", json={"delta": delta}, headers=seller.headers
    )


async def test_owner_restocks_and_writes_off_units(client: httpx.AsyncClient) -> None:
    seller, sku_id = await _sku(client, 10)
    restocked = await _adjust(client, seller, sku_id, 25)
    assert restocked.status_code == 200
    assert restocked.json()["stock"] == 35
    written_off = await _adjust(client, seller, sku_id, -35)
    assert written_off.json()["stock"] == 0


async def test_writing_off_more_than_on_hand_is_refused(client: httpx.AsyncClient) -> None:
    seller, sku_id = await _sku(client, 3)
    answer = await _adjust(client, seller, sku_id, -4)
    assert answer.status_code == 409
    assert answer.json()["code"] == "insufficient_stock"
    product_id = (await _adjust(client, seller, sku_id, 0)).json()["product_id"]
    shown = await client.get(f"/api/products/{product_id}")
    assert shown.json()["skus"][0]["stock"] == 3


async def test_stock_has_a_ceiling(client: httpx.AsyncClient) -> None:
    seller, sku_id = await _sku(client, MAX_STOCK)
    answer = await _adjust(client, seller, sku_id, 1)
    assert answer.status_code == 409
    assert answer.json()["code"] == "stock_limit"


async def test_adjustments_are_bounded(client: httpx.AsyncClient) -> None:
    seller, sku_id = await _sku(client, 1)
    for delta in (1_000_001, -1_000_001):
        assert (await _adjust(client, seller, sku_id, delta)).status_code == 422
    unknown = await _adjust(client, seller, "sku_none", 1)
    assert unknown.status_code == 404
