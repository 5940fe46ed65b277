"""A small marketplace for order tests: a seller with a shop and SKUs, and buyers."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from laotie.accounts.permissions import Role
from laotie.accounts.service import access_user
from laotie.catalog import service as catalog
from laotie.catalog.schemas import ProductCreateIn, ShopCreateIn, SkuIn
from tests.factories import ApiUser, sign_up


@dataclass
class World:
    """Who and what an order test needs."""

    seller: ApiUser
    buyer: ApiUser
    shop_id: str
    sku_ids: list[str]
    prices: list[int]
    other_buyer: ApiUser
    extra: dict[str, Any] = field(default_factory=dict)


async def make_world(
    client: httpx.AsyncClient,
    uow: Any,
    *,
    stocks: tuple[int, ...] = (10, 5),
    prices: tuple[int, ...] = (12_900, 4_500),
    per_buyer_limit: int | None = None,
    category: str = "apparel",
) -> World:
    """Create a seller with one product of several SKUs, and two buyers."""
    seller = await sign_up(client, Role.SELLER, name="Seller")
    buyer = await sign_up(client, Role.BUYER, name="Buyer")
    other = await sign_up(client, Role.BUYER, name="Other")
    shop_id, sku_ids = await make_shop_with_skus(
        uow, seller.id, stocks, prices, per_buyer_limit=per_buyer_limit, category=category
    )
    return World(seller, buyer, shop_id, sku_ids, list(prices), other)


async def make_shop_with_skus(
    uow: Any,
    seller_id: str,
    stocks: tuple[int, ...],
    prices: tuple[int, ...],
    *,
    per_buyer_limit: int | None = None,
    category: str = "apparel",
) -> tuple[str, list[str]]:
    """Create a shop and one product with a SKU per stock figure; return their ids."""
    async with uow() as ctx:
        await catalog.do_ensure_default_categories(ctx)
        seller = await access_user(ctx, seller_id)
        shop = await catalog.do_create_shop(
            ctx, seller, ShopCreateIn(name=f"Shop {uuid.uuid4().hex[:6]}")
        )
        product = await catalog.do_create_product(
            ctx,
            seller,
            shop.id,
            ProductCreateIn(
                title="Linen shirt",
                category=category,
                skus=[
                    SkuIn(
                        attributes={"size": f"S{i}"},
                        price_minor=price,
                        stock=units,
                        per_buyer_limit=per_buyer_limit,
                    )
                    for i, (units, price) in enumerate(zip(stocks, prices, strict=True))
                ],
            ),
        )
    return shop.id, [sku.id for sku in product.skus]


async def buy(
    client: httpx.AsyncClient, buyer: ApiUser, lines: list[tuple[str, int]], key: str | None = None
) -> httpx.Response:
    """Place a checkout through the API."""
    return await client.post(
        "/api/orders",
        json={"lines": [{"sku_id": s, "quantity": q} for s, q in lines]},
        headers={**buyer.headers, "Idempotency-Key": key or uuid.uuid4().hex},
    )


async def pay(
    client: httpx.AsyncClient, buyer: ApiUser, order_ids: list[str], approve: bool = True
) -> str:
    """Open a payment and pay (or decline) it on the sandbox page; return the payment id."""
    started = await client.post(
        "/api/payments", json={"order_ids": order_ids}, headers=buyer.headers
    )
    assert started.status_code == 201, started.text
    payment_id = str(started.json()["id"])
    answer = await client.post(
        f"/sandbox/pay/{payment_id}", data={"action": "pay" if approve else "decline"}
    )
    assert answer.status_code == 303, answer.text
    return payment_id


async def buy_and_pay(
    client: httpx.AsyncClient, buyer: ApiUser, lines: list[tuple[str, int]]
) -> str:
    """Place one order and pay it; return the order id."""
    placed = await buy(client, buyer, lines)
    assert placed.status_code == 201, placed.text
    order_id = str(placed.json()["orders"][0]["id"])
    await pay(client, buyer, [order_id])
    return order_id


async def order(client: httpx.AsyncClient, user: ApiUser, order_id: str) -> dict[str, Any]:
    """Read an order through the API."""
    answer = await client.get(f"/api/orders/{order_id}", headers=user.headers)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def sku_units(uow: Any, sku_id: str) -> dict[str, int]:
    """Return the unit buckets of a SKU."""
    from sqlalchemy import text

    async with uow() as ctx:
        row = (
            await ctx.db.execute(
                text("SELECT stock, reserved, sold, returned_unsellable FROM skus WHERE id = :id"),
                {"id": sku_id},
            )
        ).one()
    return {"stock": row[0], "reserved": row[1], "sold": row[2], "returned": row[3]}
