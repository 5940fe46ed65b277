"""Categories: the defaults, operators adding more, products refusing unknown ones."""

from __future__ import annotations

from typing import Any

import httpx

from laotie.catalog.service import do_ensure_default_categories, list_categories
from tests.catalog_factories import make_operator, make_product, make_seller, make_shop


async def test_a_fresh_deployment_lists_the_default_categories(client: httpx.AsyncClient) -> None:
    answer = await client.get("/api/categories")
    assert answer.status_code == 200
    categories = {c["slug"]: c for c in answer.json()}
    assert [c["slug"] for c in answer.json()][:2] == ["apparel", "beauty"]
    assert {"apparel", "beauty", "food", "home", "electronics", "jade"} <= set(categories)
    assert categories["food"]["return_window_days"] == 0
    assert categories["apparel"]["return_window_days"] is None
    assert categories["jade"]["return_window_days"] == 15


async def test_ensuring_the_defaults_again_changes_nothing(uow: Any) -> None:
    async with uow() as ctx:
        await do_ensure_default_categories(ctx)
        before = await list_categories(ctx)
    async with uow() as ctx:
        await do_ensure_default_categories(ctx)
        after = await list_categories(ctx)
    assert before == after
    assert len(after) == 6


async def test_operator_adds_a_category_that_products_then_use(
    client: httpx.AsyncClient, uow: Any
) -> None:
    operator = await make_operator(client, uow)
    body = {"slug": "tea", "name": "Tea", "return_window_days": 7, "position": 70}
    answer = await client.post("/api/categories", json=body, headers=operator.headers)
    assert answer.status_code == 201
    assert answer.json() == body
    seller = await make_seller(client)
    product = await make_product(client, seller, await make_shop(client, seller), category="tea")
    shown = await client.get(f"/api/products/{product.id}")
    assert shown.json()["category"] == "tea"
    slugs = [c["slug"] for c in (await client.get("/api/categories")).json()]
    assert slugs[-1] == "tea"


async def test_only_operators_add_categories(client: httpx.AsyncClient) -> None:
    seller = await make_seller(client)
    answer = await client.post(
        "/api/categories", json={"slug": "tea", "name": "Tea"}, headers=seller.headers
    )
    assert answer.status_code == 403


async def test_an_existing_category_is_not_added_twice(client: httpx.AsyncClient, uow: Any) -> None:
    operator = await make_operator(client, uow)
    body = {"slug": "tea", "name": "Tea"}
    assert (await client.post("/api/categories", json=body, headers=operator.headers)).is_success
    again = await client.post("/api/categories", json=body, headers=operator.headers)
    assert again.status_code == 409
    assert again.json()["code"] == "category_exists"


async def test_category_slugs_are_lowercase_words(client: httpx.AsyncClient, uow: Any) -> None:
    operator = await make_operator(client, uow)
    for slug in ("Tea", "tea leaves", "-tea", "t" * 41):
        answer = await client.post(
            "/api/categories", json={"slug": slug, "name": "Tea"}, headers=operator.headers
        )
        assert answer.status_code == 422, slug


async def test_a_product_in_an_unknown_category_is_refused(client: httpx.AsyncClient) -> None:
    seller = await make_seller(client)
    shop_id = await make_shop(client, seller)
    answer = await client.post(
        f"/api/shops/{shop_id}/products",
        json={"title": "Mystery", "category": "nowhere", "skus": [{"price_minor": 100}]},
        headers=seller.headers,
    )
    assert answer.status_code == 422
    assert answer.json()["code"] == "category_unknown"
