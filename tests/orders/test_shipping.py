"""Addresses, divisions and tiers, freight templates, and what an order keeps of them."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from laotie.accounts.permissions import Role
from laotie.orders import divisions
from laotie.orders.divisions import CityTier
from tests.factories import ADDRESS, ApiUser, sign_up
from tests.orders.world import buy, buy_and_pay, make_world, order, pay

# 拉萨市 城关区 (西藏), 北京市 朝阳区, 东莞市 (a city without districts).
LHASA = {**ADDRESS, "province_code": "540000", "city_code": "540100", "district_code": "540102"}
BEIJING = {**ADDRESS, "province_code": "110000", "city_code": "110000", "district_code": "110105"}
DONGGUAN = {**ADDRESS, "province_code": "440000", "city_code": "441900", "district_code": None}


async def _add(client: httpx.AsyncClient, user: ApiUser, body: dict[str, Any]) -> httpx.Response:
    return await client.post("/api/addresses", json=body, headers=user.headers)


async def _template(client: httpx.AsyncClient, world: Any, body: dict[str, Any]) -> None:
    answer = await client.put(
        f"/api/shops/{world.shop_id}/freight", json=body, headers=world.seller.headers
    )
    assert answer.status_code == 200, answer.text


def test_every_listed_tier_city_resolves_and_others_are_third_tier() -> None:
    tiers = divisions._registry().tiers
    assert list(tiers.values()).count(CityTier.FIRST) == 4
    assert list(tiers.values()).count(CityTier.NEW_FIRST) == 15
    assert list(tiers.values()).count(CityTier.SECOND) == 30
    assert divisions.city_tier("110000") is CityTier.FIRST  # 北京, a municipality
    assert divisions.city_tier("330100") is CityTier.NEW_FIRST  # 杭州
    assert divisions.city_tier("350200") is CityTier.SECOND  # 厦门
    assert divisions.city_tier("360400") is CityTier.THIRD_AND_BELOW  # 九江
    assert "2024" in divisions.tier_source()


async def test_the_address_book_adds_edits_defaults_and_deletes(
    client: httpx.AsyncClient,
) -> None:
    buyer = await sign_up(client, Role.BUYER, address=False)
    first = (await _add(client, buyer, ADDRESS)).json()
    assert first["is_default"] is True  # the first address is the default
    assert (first["province"], first["city"], first["district"]) == ("浙江省", "杭州市", "西湖区")
    assert first["city_tier"] == "new_first"
    second = await _add(client, buyer, {**BEIJING, "is_default": True})
    assert second.status_code == 201, second.text
    listed = (await client.get("/api/addresses", headers=buyer.headers)).json()
    assert [a["is_default"] for a in listed] == [True, False]
    assert listed[0]["city_tier"] == "first"
    edited = await client.patch(
        f"/api/addresses/{first['id']}", json={"street": "2 Rd"}, headers=buyer.headers
    )
    assert edited.json()["street"] == "2 Rd"
    made_default = await client.post(f"/api/addresses/{first['id']}/default", headers=buyer.headers)
    assert made_default.json()["is_default"] is True
    deleted = await client.delete(f"/api/addresses/{first['id']}", headers=buyer.headers)
    assert deleted.status_code == 204
    left = (await client.get("/api/addresses", headers=buyer.headers)).json()
    assert [(a["id"], a["is_default"]) for a in left] == [(second.json()["id"], True)]
    other = await sign_up(client, Role.BUYER)
    stolen = await client.delete(f"/api/addresses/{left[0]['id']}", headers=other.headers)
    assert stolen.status_code == 404
    assert stolen.json()["code"] == "address_not_found"


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"district_code": "110105"}, "unknown_district"),  # 朝阳区 is not in 杭州
        ({"city_code": "110000"}, "unknown_city"),
        ({"province_code": "990000"}, "unknown_province"),
        ({"district_code": None}, "unknown_district"),  # 杭州 has districts
    ],
)
async def test_an_address_outside_the_divisions_is_refused(
    client: httpx.AsyncClient, change: dict[str, Any], code: str
) -> None:
    buyer = await sign_up(client, Role.BUYER, address=False)
    refused = await _add(client, buyer, {**ADDRESS, **change})
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == code
    assert (await client.get("/api/addresses", headers=buyer.headers)).json() == []


async def test_a_city_without_districts_takes_none(client: httpx.AsyncClient) -> None:
    buyer = await sign_up(client, Role.BUYER, address=False)
    added = await _add(client, buyer, DONGGUAN)
    assert added.status_code == 201, added.text
    assert (added.json()["city"], added.json()["city_tier"]) == ("东莞市", "new_first")


async def test_checkout_without_an_address_is_refused_with_a_code(
    client: httpx.AsyncClient, uow: Any
) -> None:
    world = await make_world(client, uow)
    homeless = await sign_up(client, Role.BUYER, address=False)
    refused = await buy(client, homeless, [(world.sku_ids[0], 1)])
    assert refused.status_code == 422
    assert refused.json()["code"] == "address_required"
    unknown = await client.post(
        "/api/orders",
        json={"lines": [{"sku_id": world.sku_ids[0], "quantity": 1}], "address_id": "adr_x"},
        headers={**world.buyer.headers, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert unknown.json()["code"] == "address_not_found"


async def test_the_order_keeps_the_address_as_it_was_and_the_seller_sees_it(
    client: httpx.AsyncClient, uow: Any
) -> None:
    world = await make_world(client, uow)
    order_id = await buy_and_pay(client, world.buyer, [(world.sku_ids[0], 1)])
    (address,) = (await client.get("/api/addresses", headers=world.buyer.headers)).json()
    await client.patch(
        f"/api/addresses/{address['id']}",
        json={"street": "moved away"},
        headers=world.buyer.headers,
    )
    kept = (await order(client, world.buyer, order_id))["ship_to"]
    assert kept["street"] == ADDRESS["street"]
    assert (kept["city"], kept["district"], kept["city_tier"]) == ("杭州市", "西湖区", "new_first")
    to_ship = await client.get(
        f"/api/shops/{world.shop_id}/orders?status=paid", headers=world.seller.headers
    )
    assert to_ship.status_code == 200, to_ship.text
    assert to_ship.json()[0]["ship_to"]["recipient"] == ADDRESS["recipient"]


async def test_freight_by_province_is_charged_quoted_and_paid_to_the_seller(
    client: httpx.AsyncClient, uow: Any
) -> None:
    world = await make_world(client, uow)
    await _template(
        client,
        world,
        {
            "default": {"mode": "flat", "amount_minor": 800},
            "provinces": {
                "330000": {"mode": "per_unit", "amount_minor": 300},
                "540000": {"mode": "not_delivered"},
                "110000": {"mode": "free"},
            },
        },
    )
    lines = [(world.sku_ids[0], 2)]
    goods = 2 * world.prices[0]
    quote = await client.post(
        "/api/orders/quote",
        json={"lines": [{"sku_id": world.sku_ids[0], "quantity": 2}]},
        headers=world.buyer.headers,
    )
    assert quote.json()["freight_minor"] == 600  # shown before anything is bought
    placed = (await buy(client, world.buyer, lines)).json()["orders"][0]
    assert (placed["freight_minor"], placed["total_minor"]) == (600, goods + 600)
    await pay(client, world.buyer, [placed["id"]])
    balance = await client.get(f"/api/shops/{world.shop_id}/balance", headers=world.seller.headers)
    assert balance.json()["held_minor"] == goods + 600  # freight is the seller's too
    beijing = (await _add(client, world.buyer, BEIJING)).json()
    free = await client.post(
        "/api/orders",
        json={"lines": [{"sku_id": world.sku_ids[0], "quantity": 1}], "address_id": beijing["id"]},
        headers={**world.buyer.headers, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert free.json()["orders"][0]["freight_minor"] == 0
    tibet = (await _add(client, world.buyer, LHASA)).json()
    refused = await client.post(
        "/api/orders",
        json={"lines": [{"sku_id": world.sku_ids[0], "quantity": 1}], "address_id": tibet["id"]},
        headers={**world.buyer.headers, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert refused.status_code == 422
    assert refused.json()["code"] == "not_delivered_there"
    other = await sign_up(client, Role.BUYER)
    guangdong = (await _add(client, other, DONGGUAN)).json()
    flat = await client.post(
        "/api/orders",
        json={
            "lines": [{"sku_id": world.sku_ids[0], "quantity": 3}],
            "address_id": guangdong["id"],
        },
        headers={**other.headers, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert flat.json()["orders"][0]["freight_minor"] == 800


async def test_a_template_with_an_unknown_province_is_refused(
    client: httpx.AsyncClient, uow: Any
) -> None:
    world = await make_world(client, uow)
    refused = await client.put(
        f"/api/shops/{world.shop_id}/freight",
        json={"provinces": {"990000": {"mode": "free"}}},
        headers=world.seller.headers,
    )
    assert refused.status_code == 422
    assert refused.json()["code"] == "unknown_province"
    stranger = await client.put(
        f"/api/shops/{world.shop_id}/freight", json={}, headers=world.buyer.headers
    )
    assert stranger.status_code == 404


async def test_an_after_sales_request_carries_its_reason_code(
    client: httpx.AsyncClient, uow: Any
) -> None:
    world = await make_world(client, uow)
    order_id = await buy_and_pay(client, world.buyer, [(world.sku_ids[0], 1)])
    case = await client.post(
        f"/api/orders/{order_id}/aftersales",
        json={"kind": "refund_only", "reason_code": "no_reason", "reason": "changed my mind"},
        headers=world.buyer.headers,
    )
    assert case.status_code == 201, case.text
    assert (case.json()["reason_code"], case.json()["reason"]) == ("no_reason", "changed my mind")
    bad = await client.post(
        f"/api/orders/{order_id}/aftersales",
        json={"kind": "refund_only", "reason_code": "bored"},
        headers=world.buyer.headers,
    )
    assert bad.status_code == 422
