"""Factories for the supply tests: a factory account with a verified factory."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from laotie.accounts.permissions import Role
from tests.factories import ApiUser, sign_up

TIERS = [
    {"min_quantity": 200, "unit_price_minor": 18_000},
    {"min_quantity": 500, "unit_price_minor": 15_500},
    {"min_quantity": 1000, "unit_price_minor": 13_900},
]


def factory_body(**changes: Any) -> dict[str, Any]:
    """A valid new factory, with a unique name."""
    return {
        "name": f"Wool Works {uuid.uuid4().hex[:8]}",
        "city": "Hangzhou",
        "categories": ["apparel"],
        "moq": 200,
        "lead_time_days": 21,
        "weekly_capacity": 1500,
        "price_tiers": TIERS,
        **changes,
    }


async def make_factory(
    client: httpx.AsyncClient, operator: ApiUser | None = None, **changes: Any
) -> tuple[ApiUser, dict[str, Any]]:
    """Sign up a factory account and register its factory, verified when an operator is
    given; return the account and the factory."""
    owner = await sign_up(client, Role.FACTORY, name="Factory")
    made = await client.post("/api/factories", json=factory_body(**changes), headers=owner.headers)
    assert made.status_code == 201, made.text
    factory: dict[str, Any] = made.json()
    if operator is not None:
        path = f"/api/factories/{factory['id']}/verification"
        verified = await client.post(path, json={"verified": True}, headers=operator.headers)
        assert verified.status_code == 200, verified.text
        factory = verified.json()
    return owner, factory


async def partner(
    client: httpx.AsyncClient, seller: ApiUser, shop_id: str, owner: ApiUser, factory_id: str
) -> None:
    """The shop asks the factory, which accepts."""
    asked = await client.post(
        f"/api/shops/{shop_id}/partners", json={"factory_id": factory_id}, headers=seller.headers
    )
    assert asked.status_code == 201, asked.text
    path = f"/api/factories/{factory_id}/partners/{shop_id}/answer"
    answered = await client.post(path, json={"answer": "accept"}, headers=owner.headers)
    assert answered.status_code == 200, answered.text
