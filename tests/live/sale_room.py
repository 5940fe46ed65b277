"""A live room with one SKU in its cart, and the steps of a flash sale in it, for the live tests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from laotie.accounts.permissions import Role
from laotie.core.clock import FrozenClock
from tests.catalog_factories import MadeProduct, make_product, make_shop, sku
from tests.factories import ApiUser, sign_up


@dataclass(frozen=True)
class LiveShow:
    """A session gone live, its anchor and the product in its cart."""

    anchor: ApiUser
    session_id: str
    product: MadeProduct


async def go_live(
    client: httpx.AsyncClient,
    clock: FrozenClock,
    title: str,
    *,
    price_minor: int,
    stock: int,
    category: str = "apparel",
) -> LiveShow:
    """Make an anchor with a shop and one product of one SKU, schedule a show of it, go live."""
    anchor = await sign_up(client, Role.SELLER, Role.ANCHOR, name="Anchor")
    shop_id = await make_shop(client, anchor)
    skus = [sku(price_minor=price_minor, stock=stock)]
    product = await make_product(client, anchor, shop_id, skus=skus, category=category)
    session = await client.post(
        "/api/live/sessions",
        json={
            "shop_id": shop_id,
            "title": title,
            "scheduled_at": clock.now().isoformat(),
            "product_ids": [product.id],
        },
        headers=anchor.headers,
    )
    session_id = session.json()["id"]
    await client.post(f"/api/live/sessions/{session_id}/start", headers=anchor.headers)
    return LiveShow(anchor, session_id, product)


@pytest.fixture
async def room(client: httpx.AsyncClient, clock: FrozenClock) -> dict[str, Any]:
    """A live session whose cart holds a product with one SKU of 20 units at 9,900."""
    show = await go_live(client, clock, "Flash!", price_minor=9_900, stock=20)
    return {"anchor": show.anchor, "session_id": show.session_id, "sku_id": show.product.sku_ids[0]}


async def start_sale(
    client: httpx.AsyncClient, room: dict[str, Any], **terms: Any
) -> httpx.Response:
    """Start a flash sale in the room: 5 units at 5,900, one per buyer, unless told otherwise."""
    body = {"sku_id": room["sku_id"], "price_minor": 5_900, "quantity": 5, "per_buyer_limit": 1}
    return await client.post(
        f"/api/live/sessions/{room['session_id']}/flash-sales",
        json={**body, **terms},
        headers=room["anchor"].headers,
    )


async def buy(
    client: httpx.AsyncClient,
    room: dict[str, Any],
    buyer: ApiUser,
    key: str | None = None,
    **extra: Any,
) -> httpx.Response:
    """Buy one unit of the room's SKU in the room, with a fresh key unless given one."""
    return await client.post(
        f"/api/live/sessions/{room['session_id']}/orders",
        json={"sku_id": room["sku_id"], "quantity": 1, **extra},
        headers={**buyer.headers, "Idempotency-Key": key or uuid.uuid4().hex},
    )
