"""The trust pages: the seller's score, hints, history and appeals; the buyer's review
form; the operators' queues of reports, brushing flags and appeals; the tier buyers see."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from laotie.accounts.permissions import Role
from laotie.accounts.service import do_grant_roles, find_user_by_email
from laotie.catalog.models import Sku
from laotie.core.ratelimit import RateLimiter
from laotie.trust import flags, penalties
from laotie.trust.penalties import ViolationKind
from tests.factories import sign_up
from tests.orders.world import buy_and_pay, make_world
from tests.trust.test_brushing_flags import _brush
from tests.web.pages import PageUser, browsing, flash_of


@pytest.fixture
async def users(app: Any) -> AsyncIterator[Any]:
    """Make signed-in page users: `await users(email=...)`."""
    async with browsing(app) as make:
        yield make


async def _operator(users: Any, uow: Any) -> PageUser:
    operator: PageUser = await users("buyer", name="Op", ships=False)
    async with uow() as ctx:
        found = await find_user_by_email(ctx, operator.email)
        assert found is not None
        await do_grant_roles(ctx, found.id, frozenset({Role.OPERATOR}))
    return operator


async def test_the_seller_sees_every_input_a_hint_the_history_and_appeals_a_violation(
    client: httpx.AsyncClient, uow: Any, users: Any
) -> None:
    world = await make_world(client, uow)
    async with uow() as ctx:
        made = await penalties.record_violation(
            ctx,
            world.shop_id,
            ViolationKind.LATE_SHIPPING,
            source="detected",
            dedupe_key="t:late",
            evidence={"order_ids": []},
            actor_id=None,
        )
    assert made is not None
    seller = await users(email=world.seller.email)
    page = await seller.get("/seller/trust")
    assert page.status_code == 200, page.text
    for dimension in ("product", "logistics", "service", "loyalty"):
        assert f'data-dimension="{dimension}"' in page.text
    assert "sell to 10 more buyers" in page.text.lower()
    assert "Penalty points: 2" in page.text
    history = re.search(
        r'<script type="application/json" id="score-history">(.*?)</script>', page.text, re.S
    )
    assert history is not None and json.loads(history.group(1)) == []
    assert "/static/vendor/chart.umd.min.js" in page.text

    appealed = await seller.post(
        f"/seller/violations/{made.id}/appeal", {"text": "The courier came late, not us."}
    )
    assert appealed.status_code == 303
    assert "appeal is with the operators" in flash_of(await seller.get("/seller/trust"))
    again = await seller.post(f"/seller/violations/{made.id}/appeal", {"text": "Again"})
    assert "appealed once" in flash_of(await seller.http.get(again.headers["location"]))

    operator = await _operator(users, uow)
    queue = await operator.get("/operator")
    (appeal_id,) = re.findall(r'data-appeal-id="([^"]+)"', queue.text)
    granted = await operator.post(
        f"/operator/appeals/{appeal_id}/decide", {"ruling": "grant", "note": "the courier's fault"}
    )
    assert granted.status_code == 303
    seen = await client.get(f"/api/shops/{world.shop_id}/penalties", headers=world.seller.headers)
    assert seen.json()["points"] == 0


async def test_the_buyer_reviews_a_delivered_order_from_its_page(
    client: httpx.AsyncClient, uow: Any, users: Any
) -> None:
    world = await make_world(client, uow)
    order_id = await buy_and_pay(client, world.buyer, [(world.sku_ids[0], 1)])
    shipping = {"carrier": "SF", "tracking_no": "SF1"}
    await client.post(
        f"/api/orders/{order_id}/shipment", json=shipping, headers=world.seller.headers
    )
    buyer = await users(email=world.buyer.email)
    assert 'class="stack review-form"' not in (await buyer.get(f"/orders/{order_id}")).text
    await client.post(f"/api/orders/{order_id}/receipt", headers=world.buyer.headers)
    page = await buyer.get(f"/orders/{order_id}")
    (line_id,) = re.findall(r'class="stack review-form" data-line-id="([^"]+)"', page.text)
    bad = await buyer.post(
        f"/orders/{order_id}/reviews",
        {"line_id": line_id, "product_stars": "9", "logistics_stars": "5", "service_stars": "5"},
    )
    assert bad.status_code == 303
    assert "review-form" in (await buyer.get(f"/orders/{order_id}")).text
    posted = await buyer.post(
        f"/orders/{order_id}/reviews",
        {
            "line_id": line_id,
            "product_stars": "4",
            "logistics_stars": "5",
            "service_stars": "3",
            "text": "Good tea, slow answers",
        },
    )
    assert posted.status_code == 303
    after = await buyer.get(f"/orders/{order_id}")
    assert "Thank you for your review" in flash_of(after)
    assert "Good tea, slow answers" in after.text and "review-form" not in after.text
    listed = (await client.get(f"/api/shops/{world.shop_id}/reviews")).json()
    assert [(r["product_stars"], r["service_stars"]) for r in listed] == [(4, 3)]


async def test_operators_decide_reports_and_brushing_flags_from_their_page(
    client: httpx.AsyncClient, uow: Any, users: Any, app: Any
) -> None:
    app.state.sign_in_limiter = RateLimiter(10_000, 60.0)
    world = await make_world(client, uow, stocks=(50, 50))
    order_id = await buy_and_pay(client, world.buyer, [(world.sku_ids[1], 1)])
    report = {"kind": "fake_discount", "text": "The 'was' price never was."}
    await client.post(f"/api/orders/{order_id}/reports", json=report, headers=world.buyer.headers)
    for i in range(3):
        await _brush(client, world, await sign_up(client, Role.BUYER, name=f"Ring {i}"))
    async with uow() as ctx:  # the ring, and the buyer who shares the tests' one address
        assert await flags.run_detection(ctx) == 4
    operator = await _operator(users, uow)
    queue = await operator.get("/operator")
    assert "Brushing flags" in queue.text and "instant five stars" in queue.text.lower()
    (report_id,) = re.findall(r'data-report-id="([^"]+)"', queue.text)
    (flag_id,) = re.findall(r'data-flag-id="([^"]+)"', queue.text)
    wrong = await operator.post(f"/operator/flags/{flag_id}/decide", {"ruling": "maybe"})
    assert "choose confirm or dismiss" in flash_of(
        await operator.http.get(wrong.headers["location"])
    )
    await operator.post(f"/operator/reports/{report_id}/decide", {"ruling": "dismiss", "note": ""})
    await operator.post(
        f"/operator/flags/{flag_id}/decide", {"ruling": "confirm", "note": "one phone"}
    )
    after = await operator.get("/operator")
    assert "No brushing flags wait" in after.text and "No reports wait" in after.text
    seen = await client.get(f"/api/shops/{world.shop_id}/penalties", headers=world.seller.headers)
    assert [v["kind"] for v in seen.json()["violations"]] == ["fake_engagement"]


async def test_buyers_see_the_tier_and_verified_sales_on_shop_and_product_pages(
    client: httpx.AsyncClient, uow: Any
) -> None:
    world = await make_world(client, uow)
    shop = await client.get(f"/shops/{world.shop_id}")
    assert 'data-testid="trust-line"' in shop.text and "0 verified sales" in shop.text
    assert "tier-new" in shop.text
    async with uow() as ctx:
        product_id = await ctx.db.scalar(select(Sku.product_id).where(Sku.id == world.sku_ids[0]))
    product = await client.get(f"/products/{product_id}")
    assert 'data-testid="trust-line"' in product.text and "verified sales" in product.text
