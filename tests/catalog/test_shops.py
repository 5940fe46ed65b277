"""Shops: opening, renaming, verification by operators, listing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from laotie.accounts.permissions import Role
from laotie.core.clock import FrozenClock
from tests.catalog_factories import make_operator, make_seller, make_shop
from tests.factories import sign_up


async def test_seller_opens_a_shop_in_the_platform_currency(client: httpx.AsyncClient) -> None:
    seller = await make_seller(client)
    answer = await client.post(
        "/api/shops",
        json={"name": "  Old Iron Tea  ", "description": "pu'er"},
        headers=seller.headers,
    )
    assert answer.status_code == 201
    shop = answer.json()
    assert shop["name"] == "Old Iron Tea"
    assert shop["owner_id"] == seller.id
    assert shop["currency"] == "CNY"
    assert (shop["verified"], shop["deposit_minor"]) == (False, 0)
    assert (await client.get(f"/api/shops/{shop['id']}")).json() == shop


async def test_buyer_cannot_open_a_shop(client: httpx.AsyncClient) -> None:
    buyer = await sign_up(client, Role.BUYER)
    answer = await client.post("/api/shops", json={"name": "Nope"}, headers=buyer.headers)
    assert answer.status_code == 403
    assert answer.json()["code"] == "forbidden"


async def test_anonymous_caller_cannot_open_a_shop(client: httpx.AsyncClient) -> None:
    answer = await client.post("/api/shops", json={"name": "Nope"})
    assert answer.status_code == 401


async def test_shop_names_are_unique_whatever_the_letter_case(client: httpx.AsyncClient) -> None:
    first, second = await make_seller(client), await make_seller(client)
    await make_shop(client, first, name="Jade Valley")
    answer = await client.post("/api/shops", json={"name": "JADE valley"}, headers=second.headers)
    assert answer.status_code == 409
    assert answer.json()["code"] == "shop_name_taken"


async def test_owner_renames_a_shop_but_not_to_a_taken_name(client: httpx.AsyncClient) -> None:
    seller = await make_seller(client)
    await make_shop(client, seller, name="Taken")
    shop_id = await make_shop(client, seller, name="Mine")
    same = await client.patch(
        f"/api/shops/{shop_id}", json={"name": "Mine", "description": "d"}, headers=seller.headers
    )
    assert same.status_code == 200
    assert same.json()["description"] == "d"
    renamed = await client.patch(
        f"/api/shops/{shop_id}", json={"name": "Mine Too"}, headers=seller.headers
    )
    assert renamed.json()["name"] == "Mine Too"
    assert renamed.json()["description"] == "d"
    taken = await client.patch(
        f"/api/shops/{shop_id}", json={"name": "taken"}, headers=seller.headers
    )
    assert taken.status_code == 409
    assert taken.json()["code"] == "shop_name_taken"


async def test_another_seller_cannot_edit_my_shop(client: httpx.AsyncClient) -> None:
    owner, other = await make_seller(client), await make_seller(client)
    shop_id = await make_shop(client, owner)
    answer = await client.patch(
        f"/api/shops/{shop_id}", json={"description": "mine now"}, headers=other.headers
    )
    assert answer.status_code == 403
    missing = await client.patch(
        "/api/shops/shp_missing", json={"description": "x"}, headers=owner.headers
    )
    assert missing.status_code == 404


async def test_only_operators_verify_shops(client: httpx.AsyncClient, uow: Any) -> None:
    seller = await make_seller(client)
    shop_id = await make_shop(client, seller)
    verdict = {"verified": True}
    own = await client.post(
        f"/api/shops/{shop_id}/verification", json=verdict, headers=seller.headers
    )
    assert own.status_code == 403
    operator = await make_operator(client, uow)
    answer = await client.post(
        f"/api/shops/{shop_id}/verification", json=verdict, headers=operator.headers
    )
    assert answer.status_code == 200
    shop = (await client.get(f"/api/shops/{shop_id}")).json()
    assert (shop["verified"], shop["deposit_minor"]) == (True, 0)
    missing = await client.post(
        "/api/shops/shp_missing/verification", json=verdict, headers=operator.headers
    )
    assert missing.status_code == 404


async def test_a_deposit_is_paid_in_not_typed_by_an_operator(
    client: httpx.AsyncClient, uow: Any
) -> None:
    operator = await make_operator(client, uow)
    seller = await make_seller(client)
    shop_id = await make_shop(client, seller)
    answer = await client.post(
        f"/api/shops/{shop_id}/verification",
        json={"verified": True, "deposit_minor": 200_000},
        headers=operator.headers,
    )
    assert answer.status_code == 422
    assert answer.json()["code"] == "invalid_input"
    assert (await client.get(f"/api/shops/{shop_id}")).json()["deposit_minor"] == 0


async def test_shops_are_listed_oldest_first_by_owner_and_verification(
    client: httpx.AsyncClient, uow: Any, clock: FrozenClock
) -> None:
    first, second = await make_seller(client), await make_seller(client)
    a = await make_shop(client, first)
    clock.advance(timedelta(minutes=1))
    b = await make_shop(client, first)
    clock.advance(timedelta(minutes=1))
    c = await make_shop(client, second)
    operator = await make_operator(client, uow)
    await client.post(
        f"/api/shops/{c}/verification",
        json={"verified": True},
        headers=operator.headers,
    )
    every = await client.get("/api/shops")
    assert [shop["id"] for shop in every.json()] == [a, b, c]
    mine = await client.get("/api/shops", params={"owner_id": first.id})
    assert [shop["id"] for shop in mine.json()] == [a, b]
    verified = await client.get("/api/shops", params={"verified": "true"})
    assert [shop["id"] for shop in verified.json()] == [c]
    paged = await client.get("/api/shops", params={"limit": 1, "offset": 1})
    assert [shop["id"] for shop in paged.json()] == [b]


async def test_unknown_shop_is_not_found(client: httpx.AsyncClient) -> None:
    answer = await client.get("/api/shops/shp_nothing")
    assert answer.status_code == 404
    assert answer.json()["code"] == "not_found"


async def test_shop_input_is_bounded_and_strict(client: httpx.AsyncClient) -> None:
    seller = await make_seller(client)
    for body, code in (
        ({"name": "  "}, "blank"),
        ({"name": "x" * 81}, "invalid_input"),
        ({"name": "ok", "verified": True}, "invalid_input"),
    ):
        answer = await client.post("/api/shops", json=body, headers=seller.headers)
        assert answer.status_code == 422, body
        assert answer.json()["code"] == code


async def test_texts_with_control_characters_and_malformed_ids_are_invalid_input(
    client: httpx.AsyncClient,
) -> None:
    seller = await make_seller(client)
    for name in ("Tea\x00House", "Tea\nHouse"):
        answer = await client.post("/api/shops", json={"name": name}, headers=seller.headers)
        assert answer.status_code == 422, repr(name)
        assert answer.json()["code"] == "control_characters"
    shop_id = await make_shop(client, seller)
    multi_line = await client.patch(
        f"/api/shops/{shop_id}", json={"description": "line\nline"}, headers=seller.headers
    )
    assert multi_line.status_code == 200
    nul = await client.patch(
        f"/api/shops/{shop_id}", json={"description": "a\x00b"}, headers=seller.headers
    )
    assert nul.status_code == 422
    assert (await client.get("/api/shops/shp%00x")).status_code == 422
    assert (await client.get("/api/products", params={"q": "a\x00"})).status_code == 422
