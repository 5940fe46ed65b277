"""Factories: registering one, its capabilities checked, verification, who sees what."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from laotie.accounts.permissions import Role
from laotie.supply.factories import days_to_make, unit_price_minor
from laotie.supply.schemas import PriceTier
from tests.catalog_factories import make_operator
from tests.factories import sign_up
from tests.supply.factories import TIERS, factory_body, make_factory


async def test_a_factory_account_registers_a_factory_that_shows_once_verified(
    client: httpx.AsyncClient, uow: Any
) -> None:
    operator = await make_operator(client, uow)
    owner, factory = await make_factory(client)
    assert factory["verified"] is False and factory["currency"] == "CNY"
    assert factory["moq"] == 200 and factory["price_tiers"] == TIERS
    path = f"/api/factories/{factory['id']}"
    # Unverified: its owner and operators see it; nobody else does, nor in the list.
    assert (await client.get(path)).status_code == 404
    assert (await client.get(path, headers=owner.headers)).status_code == 200
    assert (await client.get(path, headers=operator.headers)).status_code == 200
    assert (await client.get("/api/factories")).json() == []
    mine = await client.get("/api/factories", params={"owner_id": owner.id}, headers=owner.headers)
    assert [f["id"] for f in mine.json()] == [factory["id"]]

    verified = await client.post(
        f"{path}/verification", json={"verified": True}, headers=operator.headers
    )
    assert verified.status_code == 200 and verified.json()["verified"] is True
    assert (await client.get(path)).json()["name"] == factory["name"]
    listed = await client.get("/api/factories", params={"category": "apparel"})
    assert [f["id"] for f in listed.json()] == [factory["id"]]
    assert (await client.get("/api/factories", params={"category": "tea"})).json() == []


async def test_only_factory_accounts_register_and_only_owners_change(
    client: httpx.AsyncClient,
) -> None:
    seller = await sign_up(client, Role.SELLER)
    refused = await client.post("/api/factories", json=factory_body(), headers=seller.headers)
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    owner, factory = await make_factory(client)
    other, _ = await make_factory(client)
    path = f"/api/factories/{factory['id']}"
    change = {"weekly_capacity": 2000, "lead_time_days": 18}
    assert (await client.patch(path, json=change, headers=other.headers)).status_code == 404
    changed = await client.patch(path, json=change, headers=owner.headers)
    assert changed.status_code == 200, changed.text
    assert (changed.json()["weekly_capacity"], changed.json()["lead_time_days"]) == (2000, 18)
    assert changed.json()["price_tiers"] == TIERS


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"moq": 300}, "price_tiers_invalid"),  # the first tier starts below the MOQ
        (
            {"price_tiers": [TIERS[0], {"min_quantity": 200, "unit_price_minor": 15_000}]},
            "price_tiers_invalid",
        ),
        (
            {"price_tiers": [TIERS[0], {"min_quantity": 500, "unit_price_minor": 18_000}]},
            "price_tiers_invalid",
        ),
        ({"categories": ["spaceships"]}, "category_unknown"),
        ({"moq": 0}, "invalid_input"),
        ({"weekly_capacity": 10**9}, "invalid_input"),
        ({"price_tiers": []}, "invalid_input"),
        ({"name": "   "}, "blank"),
    ],
)
async def test_capabilities_that_cannot_be_are_refused_and_nothing_is_written(
    client: httpx.AsyncClient, changes: dict[str, Any], code: str
) -> None:
    owner = await sign_up(client, Role.FACTORY)
    answer = await client.post(
        "/api/factories", json=factory_body(**changes), headers=owner.headers
    )
    assert answer.status_code in (409, 422) and answer.json()["code"] == code, answer.text
    mine = await client.get("/api/factories", params={"owner_id": owner.id}, headers=owner.headers)
    assert mine.json() == []


async def test_a_factory_name_is_taken_once_whatever_its_case(client: httpx.AsyncClient) -> None:
    _, factory = await make_factory(client)
    owner = await sign_up(client, Role.FACTORY)
    again = factory_body(name=factory["name"].upper())
    answer = await client.post("/api/factories", json=again, headers=owner.headers)
    assert answer.status_code == 409 and answer.json()["code"] == "factory_name_taken"


def test_a_run_costs_the_highest_tier_it_reaches_and_takes_its_weeks() -> None:
    tiers = [PriceTier(**tier) for tier in TIERS]
    assert unit_price_minor(tiers, 199) is None  # below the MOQ: no run
    assert [unit_price_minor(tiers, q) for q in (200, 499, 500, 999, 1000, 5000)] == [
        18_000,
        18_000,
        15_500,
        15_500,
        13_900,
        13_900,
    ]
    assert days_to_make(21, 1500, 1500) == 21  # the first week's units: the lead time
    assert days_to_make(21, 1500, 1501) == 28
    assert days_to_make(21, 1500, 4500) == 35
