"""An anchor without a shop: it schedules shows of the pool products it is approved to sell,
its room names each product's shop, the feed weighs its reputation, and what needs a shop
(penalty points on the room, bought reach) is refused with a reason."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from laotie.accounts.permissions import Role
from laotie.core.clock import FrozenClock
from laotie.traffic.recommend import read_board
from tests.affiliate.world import RATE, make_affiliate_world, offer
from tests.factories import ApiUser, sign_up
from tests.web.pages import browsing


@pytest.fixture
async def users(app: Any) -> AsyncIterator[Any]:
    """Make signed-in page users."""
    async with browsing(app) as make:
        yield make


async def _approved_anchor(client: httpx.AsyncClient, offer_id: str) -> ApiUser:
    """An anchor without a shop, approved to sell the offer's product."""
    anchor = await sign_up(client, Role.ANCHOR, name="Xiao Mei")
    applied = await client.post(
        f"/api/pool/offers/{offer_id}/applications", json={}, headers=anchor.headers
    )
    assert applied.status_code == 201 and applied.json()["status"] == "approved", applied.text
    return anchor


async def _schedule(
    client: httpx.AsyncClient, anchor: ApiUser, clock: FrozenClock, product_ids: list[str]
) -> httpx.Response:
    return await client.post(
        "/api/live/sessions",
        json={
            "title": "Mei picks teaware",
            "scheduled_at": (clock.now() + timedelta(minutes=5)).isoformat(),
            "product_ids": product_ids,
        },
        headers=anchor.headers,
    )


async def test_an_anchor_without_a_shop_sells_pool_products_in_its_own_show(
    client: httpx.AsyncClient, clock: FrozenClock, app: Any, uow: Any
) -> None:
    world = await make_affiliate_world(client, clock)
    offered = await offer(client, world, auto_approve=True)
    anchor = await _approved_anchor(client, offered.json()["id"])
    refused = await _schedule(client, anchor, clock, [world.own.id])  # not in the pool
    assert refused.status_code == 422 and refused.json()["code"] == "product_not_in_shop"
    seller_only = await _schedule(client, world.supplier, clock, [])
    assert seller_only.status_code == 403  # a shop's owner schedules for its shop

    made = await _schedule(client, anchor, clock, [world.pooled.id])
    assert made.status_code == 201, made.text
    assert made.json()["shop_id"] is None and made.json()["cart"] == [world.pooled.id]
    session_id = made.json()["id"]
    started = await client.post(f"/api/live/sessions/{session_id}/start", headers=anchor.headers)
    assert started.status_code == 200, started.text
    bought = await client.post(
        f"/api/live/sessions/{session_id}/orders",
        json={"sku_id": world.pooled.sku_ids[0], "quantity": 1},
        headers={**world.buyer.headers, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert bought.status_code == 201, bought.text
    (order,) = bought.json()["orders"]
    assert order["shop_id"] == world.supplier_shop
    assert (order["lines"][0]["anchor_id"], order["lines"][0]["commission_bps"]) == (
        anchor.id,
        RATE,
    )

    report = await client.post(
        f"/api/live/sessions/{session_id}/reports",
        json={"kind": "fake_discount", "text": "The was-price was never charged."},
        headers=world.buyer.headers,
    )
    assert report.status_code == 409 and report.json()["code"] == "show_without_shop"
    promoted = await client.post(
        f"/api/live/sessions/{session_id}/promotions",
        json={"pricing": "cpm", "price_minor": 2_000, "budget_minor": 10_000},
        headers=anchor.headers,
    )
    assert promoted.status_code in (403, 404)
    async with uow() as ctx:
        board = await read_board(ctx)
    (room,) = [c for c in board.candidates if c.room.session_id == session_id]
    assert room.room.shop_id is None and not room.barred


async def test_the_pages_of_a_show_without_a_shop(
    client: httpx.AsyncClient, clock: FrozenClock, users: Any
) -> None:
    world = await make_affiliate_world(client, clock)
    offered = await offer(client, world, auto_approve=True)
    anchor = await _approved_anchor(client, offered.json()["id"])
    session_id = (await _schedule(client, anchor, clock, [world.pooled.id])).json()["id"]
    page = await users(email=anchor.email)

    shows = await page.get("/anchor/live")
    assert shows.status_code == 200
    assert "data-shop-id" not in shows.text and session_id in shows.text
    console = await page.get(f"/live/{session_id}/console")
    assert console.status_code == 200, console.text
    assert "Xiao Mei&#39;s picks" in console.text or "Xiao Mei's picks" in console.text
    assert 'data-testid="sold-by"' in console.text
    assert 'data-testid="console-promotion"' not in console.text
    room = await client.get(f"/live/{session_id}")
    assert room.status_code == 200 and "picks" in room.text
    review = await page.get(f"/live/{session_id}/review")
    assert review.status_code == 200
    buyer_page = await users()
    assert (await buyer_page.get("/anchor/live")).status_code == 403
