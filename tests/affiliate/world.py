"""An affiliate world through the API: a supplier shop offering a product in the pool, and an
anchor with its own shop live in a room, who may sell the supplier's product there."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx

from laotie.accounts.permissions import Role
from laotie.core.clock import FrozenClock
from laotie.orders.jobs import complete_orders
from tests.catalog_factories import MadeProduct, make_product, make_shop, sku
from tests.factories import ApiUser, sign_up
from tests.orders.world import pay

PRICE = 20_000  # the supplier's teapot
RATE = 1_500  # 15.00%


@dataclass(frozen=True)
class AffiliateWorld:
    """A supplier and its pooled product; an anchor live with its own product in the cart."""

    supplier: ApiUser
    supplier_shop: str
    pooled: MadeProduct
    anchor: ApiUser
    anchor_shop: str
    own: MadeProduct
    session_id: str
    buyer: ApiUser


async def make_affiliate_world(client: httpx.AsyncClient, clock: FrozenClock) -> AffiliateWorld:
    """Make the supplier, the anchor live with its own product, and a buyer; nothing pooled yet."""
    supplier = await sign_up(client, Role.SELLER, name="Supplier")
    supplier_shop = await make_shop(client, supplier)
    pooled = await make_product(
        client, supplier, supplier_shop, skus=[sku(price_minor=PRICE, stock=30)], category="home"
    )
    anchor = await sign_up(client, Role.SELLER, Role.ANCHOR, name="Anchor")
    anchor_shop = await make_shop(client, anchor)
    own = await make_product(client, anchor, anchor_shop, skus=[sku(price_minor=5_000, stock=10)])
    made = await client.post(
        "/api/live/sessions",
        json={
            "shop_id": anchor_shop,
            "title": "Tea night",
            "scheduled_at": clock.now().isoformat(),
            "product_ids": [own.id],
        },
        headers=anchor.headers,
    )
    assert made.status_code == 201, made.text
    session_id = made.json()["id"]
    started = await client.post(f"/api/live/sessions/{session_id}/start", headers=anchor.headers)
    assert started.status_code == 200, started.text
    buyer = await sign_up(client, name="Buyer")
    return AffiliateWorld(
        supplier, supplier_shop, pooled, anchor, anchor_shop, own, session_id, buyer
    )


async def offer(client: httpx.AsyncClient, world: AffiliateWorld, **terms: Any) -> httpx.Response:
    """Put the supplier's product in the pool at `RATE`, unless told otherwise."""
    return await client.put(
        f"/api/shops/{world.supplier_shop}/pool/{world.pooled.id}",
        json={"commission_bps": RATE, **terms},
        headers=world.supplier.headers,
    )


async def approved(client: httpx.AsyncClient, world: AffiliateWorld, **terms: Any) -> str:
    """Pool the product, have the anchor apply and the supplier approve; return the offer id."""
    offered = await offer(client, world, **terms)
    assert offered.status_code == 200, offered.text
    offer_id = str(offered.json()["id"])
    applied = await client.post(
        f"/api/pool/offers/{offer_id}/applications", json={}, headers=world.anchor.headers
    )
    assert applied.status_code == 201, applied.text
    if applied.json()["status"] == "pending":
        decided = await client.post(
            f"/api/pool/applications/{applied.json()['id']}/decision",
            json={"decision": "approve"},
            headers=world.supplier.headers,
        )
        assert decided.status_code == 200, decided.text
    return offer_id


async def set_cart(
    client: httpx.AsyncClient, world: AffiliateWorld, product_ids: list[str]
) -> httpx.Response:
    """Replace the room's cart."""
    return await client.put(
        f"/api/live/sessions/{world.session_id}/cart",
        json={"product_ids": product_ids},
        headers=world.anchor.headers,
    )


async def buy_pooled(
    client: httpx.AsyncClient, world: AffiliateWorld, quantity: int = 1
) -> httpx.Response:
    """The buyer orders the pooled product in the anchor's room."""
    return await client.post(
        f"/api/live/sessions/{world.session_id}/orders",
        json={"sku_id": world.pooled.sku_ids[0], "quantity": quantity},
        headers={**world.buyer.headers, "Idempotency-Key": uuid.uuid4().hex},
    )


async def paid_pool_order(client: httpx.AsyncClient, world: AffiliateWorld) -> str:
    """Approve the anchor, put the pooled product in its cart, buy one in the room and pay."""
    await approved(client, world)
    assert (await set_cart(client, world, [world.pooled.id])).status_code == 200
    order_id = str((await buy_pooled(client, world)).json()["orders"][0]["id"])
    await pay(client, world.buyer, [order_id])
    return order_id


async def complete(
    client: httpx.AsyncClient, world: AffiliateWorld, clock: FrozenClock, app: Any, order_id: str
) -> None:
    """The supplier ships the order, the buyer receives it, and its return window closes."""
    shipped = await client.post(
        f"/api/orders/{order_id}/shipment",
        json={"carrier": "SF", "tracking_no": "SF900"},
        headers=world.supplier.headers,
    )
    assert shipped.status_code == 200, shipped.text
    await client.post(f"/api/orders/{order_id}/receipt", headers=world.buyer.headers)
    clock.advance(timedelta(days=7, minutes=1))
    assert await complete_orders(app.state) == 1
