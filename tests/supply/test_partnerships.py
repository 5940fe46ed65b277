"""Partnerships: a shop asks a verified factory, the factory answers, either ends it."""

from __future__ import annotations

from typing import Any

import httpx

from laotie.supply.partners import is_partner
from tests.catalog_factories import make_operator, make_seller, make_shop
from tests.supply.factories import make_factory


async def test_a_shop_asks_a_factory_which_accepts_and_either_may_end_it(
    client: httpx.AsyncClient, uow: Any
) -> None:
    operator = await make_operator(client, uow)
    owner, factory = await make_factory(client, operator)
    seller = await make_seller(client)
    shop_id = await make_shop(client, seller)
    asked = await client.post(
        f"/api/shops/{shop_id}/partners",
        json={"factory_id": factory["id"], "note": "Coats for autumn"},
        headers=seller.headers,
    )
    assert asked.status_code == 201, asked.text
    assert asked.json()["status"] == "requested" and asked.json()["note"] == "Coats for autumn"
    again = await client.post(
        f"/api/shops/{shop_id}/partners", json={"factory_id": factory["id"]}, headers=seller.headers
    )
    assert again.status_code == 409 and again.json()["code"] == "partnership_exists"

    incoming = await client.get(f"/api/factories/{factory['id']}/partners", headers=owner.headers)
    assert [(p["shop_id"], p["status"]) for p in incoming.json()] == [(shop_id, "requested")]
    answer = f"/api/factories/{factory['id']}/partners/{shop_id}/answer"
    accepted = await client.post(answer, json={"answer": "accept"}, headers=owner.headers)
    assert accepted.status_code == 200 and accepted.json()["status"] == "active"
    twice = await client.post(answer, json={"answer": "decline"}, headers=owner.headers)
    assert twice.status_code == 409 and twice.json()["code"] == "partnership_not_requested"
    async with uow() as ctx:
        assert await is_partner(ctx, shop_id, factory["id"])

    ended = await client.delete(
        f"/api/shops/{shop_id}/partners/{factory['id']}", headers=owner.headers
    )
    assert ended.status_code == 200 and ended.json()["status"] == "ended"
    async with uow() as ctx:
        assert not await is_partner(ctx, shop_id, factory["id"])
    listed = await client.get(f"/api/shops/{shop_id}/partners", headers=seller.headers)
    assert [p["status"] for p in listed.json()] == ["ended"]
    # Asked anew after an end: a new request.
    anew = await client.post(
        f"/api/shops/{shop_id}/partners", json={"factory_id": factory["id"]}, headers=seller.headers
    )
    assert anew.status_code == 201 and anew.json()["status"] == "requested"


async def test_an_unverified_factory_cannot_be_asked_and_strangers_see_nothing(
    client: httpx.AsyncClient, uow: Any
) -> None:
    owner, factory = await make_factory(client)
    seller = await make_seller(client)
    shop_id = await make_shop(client, seller)
    asked = await client.post(
        f"/api/shops/{shop_id}/partners", json={"factory_id": factory["id"]}, headers=seller.headers
    )
    assert asked.status_code == 409 and asked.json()["code"] == "factory_unverified"
    listed = await client.get(f"/api/shops/{shop_id}/partners", headers=seller.headers)
    assert listed.json() == []

    operator = await make_operator(client, uow)
    _, other = await make_factory(client, operator)
    stranger = await make_seller(client, "Stranger")
    theirs = await client.get(f"/api/factories/{other['id']}/partners", headers=owner.headers)
    assert theirs.status_code == 404
    not_mine = await client.get(f"/api/shops/{shop_id}/partners", headers=stranger.headers)
    assert not_mine.status_code == 403
    unknown = await client.post(
        f"/api/shops/{shop_id}/partners", json={"factory_id": "fac_nobody"}, headers=seller.headers
    )
    assert unknown.status_code == 404
