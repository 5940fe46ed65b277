"""Products and SKUs: listing, editing, hiding, and who may do it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from pydantic import BaseModel

from laotie.accounts.permissions import Actor, Role
from laotie.accounts.service import access_user
from laotie.catalog import schemas
from laotie.catalog.service import (
    access_own_shop,
    access_own_sku,
    get_shop,
    product_detail,
    shop_owner_id,
    shops_of_owner,
)
from laotie.core.errors import AppError
from tests.catalog_factories import make_operator, make_product, make_seller, make_shop, sku
from tests.factories import sign_up


async def test_owner_lists_a_product_with_skus_in_the_order_given(
    client: httpx.AsyncClient,
) -> None:
    seller = await make_seller(client)
    shop_id = await make_shop(client, seller, name="Linen Lane")
    answer = await client.post(
        f"/api/shops/{shop_id}/products",
        json={
            "title": "Linen shirt",
            "description": "Washed linen",
            "images": ["https://img.example.com/a.jpg"],
            "category": "apparel",
            "skus": [sku(12_900, 3, size="S"), sku(13_900, 0, 2, size="M"), sku(14_900, size="L")],
        },
        headers=seller.headers,
    )
    assert answer.status_code == 201
    product = answer.json()
    assert product["shop_name"] == "Linen Lane"
    assert product["status"] == "active"
    assert product["images"] == ["https://img.example.com/a.jpg"]
    assert [s["attributes"]["size"] for s in product["skus"]] == ["S", "M", "L"]
    medium = product["skus"][1]
    assert medium["price_minor"] == medium["was_price_minor"] == 13_900
    assert (medium["stock"], medium["per_buyer_limit"], medium["currency"]) == (0, 2, "CNY")
    assert (await client.get(f"/api/products/{product['id']}")).json() == product


async def test_a_product_needs_at_least_one_sku(client: httpx.AsyncClient) -> None:
    seller = await make_seller(client)
    shop_id = await make_shop(client, seller)
    answer = await client.post(
        f"/api/shops/{shop_id}/products",
        json={"title": "Empty", "category": "home", "skus": []},
        headers=seller.headers,
    )
    assert answer.status_code == 422
    assert answer.json()["code"] == "invalid_input"


@pytest.mark.parametrize(
    "bad_sku",
    [
        {"price_minor": 0},
        {"price_minor": -5},
        {"price_minor": 1_000_000_001},
        {"price_minor": 100, "stock": -1},
        {"price_minor": 100, "per_buyer_limit": 0},
        {"price_minor": 100, "attributes": {"colour": ""}},
        {"price_minor": 100, "cost": 1},
    ],
)
async def test_sku_input_is_bounded(client: httpx.AsyncClient, bad_sku: dict[str, Any]) -> None:
    seller = await make_seller(client)
    shop_id = await make_shop(client, seller)
    answer = await client.post(
        f"/api/shops/{shop_id}/products",
        json={"title": "T", "category": "home", "skus": [bad_sku]},
        headers=seller.headers,
    )
    assert answer.status_code == 422
    empty_value = bad_sku.get("attributes") == {"colour": ""}
    assert answer.json()["code"] == ("blank" if empty_value else "invalid_input")


async def test_images_must_be_web_addresses(client: httpx.AsyncClient) -> None:
    seller = await make_seller(client)
    shop_id = await make_shop(client, seller)
    answer = await client.post(
        f"/api/shops/{shop_id}/products",
        json={
            "title": "T",
            "category": "home",
            "images": ["javascript:alert(1)"],
            "skus": [sku()],
        },
        headers=seller.headers,
    )
    assert answer.status_code == 422


async def test_two_skus_with_the_same_attributes_are_refused(client: httpx.AsyncClient) -> None:
    seller = await make_seller(client)
    shop_id = await make_shop(client, seller)
    answer = await client.post(
        f"/api/shops/{shop_id}/products",
        json={"title": "T", "category": "home", "skus": [sku(size="M"), sku(size="M")]},
        headers=seller.headers,
    )
    assert answer.status_code == 409
    assert answer.json()["code"] == "duplicate_variant"
    product = await make_product(client, seller, shop_id, skus=[sku(size="M")])
    added = await client.post(
        f"/api/products/{product.id}/skus", json=sku(size="M"), headers=seller.headers
    )
    assert added.status_code == 409
    assert added.json()["code"] == "duplicate_variant"


async def test_owner_adds_a_sku_after_the_others(client: httpx.AsyncClient) -> None:
    seller = await make_seller(client)
    shop_id = await make_shop(client, seller)
    product = await make_product(client, seller, shop_id, skus=[sku(size="S"), sku(size="M")])
    added = await client.post(
        f"/api/products/{product.id}/skus", json=sku(15_000, 4, size="XL"), headers=seller.headers
    )
    assert added.status_code == 201
    assert added.json()["was_price_minor"] == 15_000
    shown = (await client.get(f"/api/products/{product.id}")).json()
    assert [s["attributes"]["size"] for s in shown["skus"]] == ["S", "M", "XL"]


async def test_a_product_holds_at_most_fifty_skus(client: httpx.AsyncClient) -> None:
    seller = await make_seller(client)
    shop_id = await make_shop(client, seller)
    many = [sku(n=str(i)) for i in range(schemas.MAX_SKUS_PER_PRODUCT)]
    product = await make_product(client, seller, shop_id, skus=many)
    one_more = await client.post(
        f"/api/products/{product.id}/skus", json=sku(n="extra"), headers=seller.headers
    )
    assert one_more.status_code == 422
    assert one_more.json()["code"] == "too_many_skus"


async def test_owner_updates_a_product(client: httpx.AsyncClient) -> None:
    seller = await make_seller(client)
    shop_id = await make_shop(client, seller)
    product = await make_product(client, seller, shop_id)
    changes = {
        "title": "Washed linen shirt",
        "description": "Now softer",
        "images": ["https://img.example.com/b.jpg", "https://img.example.com/c.jpg"],
        "category": "home",
    }
    answer = await client.patch(f"/api/products/{product.id}", json=changes, headers=seller.headers)
    assert answer.status_code == 200
    body = answer.json()
    assert {key: body[key] for key in changes} == changes
    unknown = await client.patch(
        f"/api/products/{product.id}", json={"category": "nowhere"}, headers=seller.headers
    )
    assert unknown.json()["code"] == "category_unknown"


async def test_another_seller_cannot_touch_my_products_skus_or_stock(
    client: httpx.AsyncClient,
) -> None:
    owner, other = await make_seller(client), await make_seller(client)
    shop_id = await make_shop(client, owner)
    product = await make_product(client, owner, shop_id)
    sku_id = product.sku_ids[0]
    attempts = [
        client.post(f"/api/shops/{shop_id}/products", json=_example(schemas.ProductCreateIn),
                    headers=other.headers),
        client.patch(f"/api/products/{product.id}", json={"status": "hidden"},
                     headers=other.headers),
        client.post(f"/api/products/{product.id}/skus", json=sku(size="XXL"),
                    headers=other.headers),
        client.patch(f"/api/skus/{sku_id}", json={"price_minor": 1}, headers=other.headers),
        client.post(f"/api/skus/{sku_id}/stock-adjustments", json={"delta": -10},
                    headers=other.headers),
    ]  # fmt: skip
    for attempt in attempts:
        answer = await attempt
        assert answer.status_code == 403, answer.request.url
        assert answer.json()["code"] == "forbidden"
    shown = (await client.get(f"/api/products/{product.id}")).json()
    assert (shown["status"], len(shown["skus"])) == ("active", 1)
    assert (shown["skus"][0]["price_minor"], shown["skus"][0]["stock"]) == (9_900, 10)


async def test_buyers_cannot_list_products(client: httpx.AsyncClient) -> None:
    seller = await make_seller(client)
    shop_id = await make_shop(client, seller)
    buyer = await sign_up(client, Role.BUYER)
    answer = await client.post(
        f"/api/shops/{shop_id}/products",
        json=_example(schemas.ProductCreateIn),
        headers=buyer.headers,
    )
    assert answer.status_code == 403


async def test_unknown_products_and_skus_are_not_found(client: httpx.AsyncClient) -> None:
    seller = await make_seller(client)
    assert (await client.get("/api/products/prd_none")).status_code == 404
    patch = await client.patch("/api/products/prd_none", json={}, headers=seller.headers)
    assert patch.status_code == 404
    sku_patch = await client.patch("/api/skus/sku_none", json={}, headers=seller.headers)
    assert sku_patch.status_code == 404
    other_shop = await client.post(
        "/api/shops/shp_none/products", json=_example(schemas.ProductCreateIn),
        headers=seller.headers,
    )  # fmt: skip
    assert other_shop.status_code == 404


async def test_hidden_products_are_invisible_to_buyers_but_not_to_the_owner(
    client: httpx.AsyncClient, uow: Any
) -> None:
    seller = await make_seller(client)
    shop_id = await make_shop(client, seller)
    product = await make_product(client, seller, shop_id, title="Secret kettle")
    hidden = await client.patch(
        f"/api/products/{product.id}", json={"status": "hidden"}, headers=seller.headers
    )
    assert hidden.json()["status"] == "hidden"
    buyer = await sign_up(client, Role.BUYER)
    assert (await client.get(f"/api/products/{product.id}")).status_code == 404
    as_buyer = await client.get(f"/api/products/{product.id}", headers=buyer.headers)
    assert as_buyer.status_code == 404
    as_owner = await client.get(f"/api/products/{product.id}", headers=seller.headers)
    assert as_owner.json()["status"] == "hidden"
    operator = await make_operator(client, uow)
    as_operator = await client.get(f"/api/products/{product.id}", headers=operator.headers)
    assert as_operator.status_code == 200
    listing = {"shop_id": shop_id}
    buyer_page = await client.get("/api/products", params=listing, headers=buyer.headers)
    assert buyer_page.json()["items"] == []
    owner_page = await client.get("/api/products", params=listing, headers=seller.headers)
    assert [(i["id"], i["status"]) for i in owner_page.json()["items"]] == [(product.id, "hidden")]
    search = await client.get("/api/products", params={"q": "kettle"}, headers=seller.headers)
    assert search.json()["total"] == 0
    shown = await client.patch(
        f"/api/products/{product.id}", json={"status": "active"}, headers=seller.headers
    )
    assert shown.status_code == 200
    assert (await client.get(f"/api/products/{product.id}")).status_code == 200


async def test_inactive_skus_are_shown_to_the_owner_only(client: httpx.AsyncClient) -> None:
    seller = await make_seller(client)
    shop_id = await make_shop(client, seller)
    product = await make_product(client, seller, shop_id, skus=[sku(size="S"), sku(size="M")])
    small, medium = product.sku_ids
    off = await client.patch(f"/api/skus/{small}", json={"active": False}, headers=seller.headers)
    assert off.json()["active"] is False
    public = (await client.get(f"/api/products/{product.id}")).json()
    assert [s["id"] for s in public["skus"]] == [medium]
    owner = (await client.get(f"/api/products/{product.id}", headers=seller.headers)).json()
    assert [s["id"] for s in owner["skus"]] == [small, medium]
    await client.patch(f"/api/skus/{medium}", json={"active": False}, headers=seller.headers)
    page = await client.get("/api/products", params={"shop_id": shop_id})
    assert page.json()["items"] == []


async def test_per_buyer_limit_is_set_kept_and_removed(client: httpx.AsyncClient) -> None:
    seller = await make_seller(client)
    shop_id = await make_shop(client, seller)
    sku_id = (await make_product(client, seller, shop_id)).sku_ids[0]
    url = f"/api/skus/{sku_id}"
    assert (await client.patch(url, json={"per_buyer_limit": 3}, headers=seller.headers)).json()[
        "per_buyer_limit"
    ] == 3
    kept = await client.patch(url, json={"active": True}, headers=seller.headers)
    assert kept.json()["per_buyer_limit"] == 3
    removed = await client.patch(url, json={"per_buyer_limit": None}, headers=seller.headers)
    assert removed.json()["per_buyer_limit"] is None


async def test_other_features_read_plain_data(client: httpx.AsyncClient, uow: Any) -> None:
    seller, other = await make_seller(client), await make_seller(client)
    shop_id = await make_shop(client, seller)
    product = await make_product(client, seller, shop_id)
    me = await _actor(uow, seller.id)
    them = await _actor(uow, other.id)
    async with uow() as ctx:
        shop = await get_shop(ctx, shop_id)
        assert await shop_owner_id(ctx, shop_id) == seller.id
        assert await shops_of_owner(ctx, seller.id) == [shop]
        assert await access_own_shop(ctx, me, shop_id) == shop
        own_sku = await access_own_sku(ctx, me, product.sku_ids[0])
        assert (own_sku.product_id, own_sku.shop_id) == (product.id, shop_id)
        detail = await product_detail(ctx, product.id, None)
        assert detail.skus == [own_sku]
        with pytest.raises(AppError) as refused:
            await access_own_sku(ctx, them, product.sku_ids[0])
        assert refused.value.status == 403
        with pytest.raises(AppError) as missing:
            await shop_owner_id(ctx, "shp_none")
        assert missing.value.status == 404


@pytest.mark.parametrize(
    "model",
    [
        schemas.ShopCreateIn,
        schemas.ShopUpdateIn,
        schemas.ShopVerificationIn,
        schemas.CategoryIn,
        schemas.SkuIn,
        schemas.ProductCreateIn,
        schemas.ProductUpdateIn,
        schemas.SkuUpdateIn,
        schemas.StockAdjustmentIn,
    ],
)
def test_every_request_example_is_valid(model: type[BaseModel]) -> None:
    model.model_validate(_example(model))


def _example(model: type[BaseModel]) -> dict[str, Any]:
    extra = model.model_config.get("json_schema_extra")
    assert isinstance(extra, dict)
    examples = extra["examples"]
    assert isinstance(examples, list)
    return dict(examples[0])


async def _actor(uow: Any, user_id: str) -> Actor:
    async with uow() as ctx:
        return await access_user(ctx, user_id)
