"""Catalog test data through the API: sellers, operators, shops and products with SKUs.

seller = await make_seller(client)
shop_id = await make_shop(client, seller)
product = await make_product(client, seller, shop_id, skus=[sku(price_minor=500, stock=3)])
product.id, product.sku_ids[0]
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from laotie.accounts.permissions import Role
from laotie.accounts.service import do_grant_roles
from tests.factories import ApiUser, sign_up


@dataclass
class MadeProduct:
    """The ids of a product made by `make_product`, SKUs in the order given."""

    id: str
    sku_ids: list[str]


async def make_seller(client: httpx.AsyncClient, name: str = "Seller") -> ApiUser:
    """Sign up a user with the seller role."""
    return await sign_up(client, Role.SELLER, name=name)


async def make_operator(client: httpx.AsyncClient, uow: Callable[[], Any]) -> ApiUser:
    """Sign up a user and make it an operator, as the command line does."""
    user = await sign_up(client, name="Operator")
    async with uow() as ctx:
        await do_grant_roles(ctx, user.id, frozenset({Role.OPERATOR}))
    return user


async def make_shop(client: httpx.AsyncClient, seller: ApiUser, name: str | None = None) -> str:
    """Open a shop for the seller (a unique name unless given) and return its id."""
    answer = await client.post(
        "/api/shops",
        json={"name": name or f"Shop {uuid.uuid4().hex[:8]}"},
        headers=seller.headers,
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def sku(
    price_minor: int = 9_900,
    stock: int = 10,
    per_buyer_limit: int | None = None,
    **attributes: str,
) -> dict[str, Any]:
    """Describe one SKU for `make_product`, e.g. `sku(1200, 5, size="M")`."""
    return {
        "attributes": attributes,
        "price_minor": price_minor,
        "stock": stock,
        "per_buyer_limit": per_buyer_limit,
    }


async def make_product(
    client: httpx.AsyncClient,
    seller: ApiUser,
    shop_id: str,
    *,
    skus: list[dict[str, Any]] | None = None,
    title: str = "Linen shirt",
    description: str = "",
    category: str = "apparel",
) -> MadeProduct:
    """List a product (one ¥99.00 SKU with 10 on hand unless `skus` says otherwise)."""
    answer = await client.post(
        f"/api/shops/{shop_id}/products",
        json={
            "title": title,
            "description": description,
            "category": category,
            "skus": skus or [sku()],
        },
        headers=seller.headers,
    )
    assert answer.status_code == 201, answer.text
    body = answer.json()
    return MadeProduct(body["id"], [item["id"] for item in body["skus"]])
