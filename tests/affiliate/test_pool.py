"""The selection pool: shops offer products within the platform's bounds, anchors find them
and apply, the shop or its rule approves, and only approved anchors sell them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from laotie.accounts.permissions import Role
from laotie.core.clock import FrozenClock
from laotie.live.session.service import cart_cards
from laotie.trust.models import AnchorScore
from tests.affiliate.world import (
    PRICE,
    RATE,
    approved,
    buy_pooled,
    make_affiliate_world,
    offer,
    set_cart,
)
from tests.catalog_factories import make_product, make_seller, make_shop, sku
from tests.factories import sign_up


async def test_a_commission_outside_the_bounds_or_dates_backwards_are_refused(
    client: httpx.AsyncClient, clock: FrozenClock
) -> None:
    world = await make_affiliate_world(client, clock)
    for rate in (50, 6_000):
        refused = await offer(client, world, commission_bps=rate)
        assert refused.status_code == 422 and refused.json()["code"] == "commission_out_of_bounds"
        assert "100 to 5000 basis points" in refused.json()["message"]
    later = (clock.now() + timedelta(days=2)).isoformat()
    sooner = (clock.now() + timedelta(days=1)).isoformat()
    backwards = await offer(client, world, starts_at=later, ends_at=sooner)
    assert backwards.status_code == 422 and backwards.json()["code"] == "offer_dates_invalid"
    nobody = await client.put(
        f"/api/shops/{world.supplier_shop}/pool/{world.pooled.id}",
        json={"commission_bps": RATE},
        headers=world.anchor.headers,
    )
    assert nobody.status_code == 403
    strange = await client.put(
        f"/api/shops/{world.supplier_shop}/pool/{world.own.id}",
        json={"commission_bps": RATE},
        headers=world.supplier.headers,
    )
    assert strange.status_code == 404  # not the supplier's product
    assert (await client.get("/api/pool", headers=world.anchor.headers)).json() == []


async def test_anchors_find_offers_by_category_price_commission_and_tier(
    client: httpx.AsyncClient, clock: FrozenClock
) -> None:
    world = await make_affiliate_world(client, clock)
    assert (await offer(client, world, min_reputation=4.0)).status_code == 200
    other = await make_seller(client)
    other_shop = await make_shop(client, other)
    cheap = await make_product(
        client, other, other_shop, skus=[sku(price_minor=3_000, stock=5)], category="apparel"
    )
    put = await client.put(
        f"/api/shops/{other_shop}/pool/{cheap.id}",
        json={"commission_bps": 800, "auto_approve": True},
        headers=other.headers,
    )
    assert put.status_code == 200, put.text

    async def pool(**query: Any) -> list[str]:
        found = await client.get("/api/pool", params=query, headers=world.anchor.headers)
        assert found.status_code == 200, found.text
        return [item["product_id"] for item in found.json()]

    assert await pool() == [world.pooled.id, cheap.id]  # the best paid first
    assert await pool(category="apparel") == [cheap.id]
    assert await pool(min_price_minor=10_000) == [world.pooled.id]
    assert await pool(max_price_minor=10_000) == [cheap.id]
    assert await pool(min_commission_bps=1_000) == [world.pooled.id]
    assert await pool(tier="excellent") == []  # neither shop has a kept score yet
    item = (await client.get("/api/pool", headers=world.anchor.headers)).json()[0]
    assert item["commission_minor"] == PRICE * RATE // 10_000
    assert item["min_reputation"] == 4.0 and item["application"] is None
    assert "auto_approve" not in item  # the shop's own rule stays the shop's

    buyer = await sign_up(client, name="Just a buyer")
    assert (await client.get("/api/pool", headers=buyer.headers)).status_code == 403


async def test_a_shop_cannot_see_another_shops_terms_or_applications(
    client: httpx.AsyncClient, clock: FrozenClock
) -> None:
    world = await make_affiliate_world(client, clock)
    await approved(client, world)
    rival = await make_seller(client)
    await make_shop(client, rival)
    offers = await client.get(f"/api/shops/{world.supplier_shop}/pool", headers=rival.headers)
    assert offers.status_code == 403
    applications = await client.get(
        f"/api/shops/{world.supplier_shop}/pool-applications", headers=rival.headers
    )
    assert applications.status_code == 403
    assert (await client.get("/api/pool", headers=rival.headers)).status_code == 403
    mine = await client.get(
        f"/api/shops/{world.supplier_shop}/pool", headers=world.supplier.headers
    )
    assert [(o["commission_bps"], o["approved_anchors"]) for o in mine.json()] == [(RATE, 1)]


async def test_only_an_approved_anchor_puts_a_pool_product_in_its_cart_and_sells_it(
    client: httpx.AsyncClient, clock: FrozenClock, uow: Any
) -> None:
    world = await make_affiliate_world(client, clock)
    not_pooled = await set_cart(client, world, [world.own.id, world.pooled.id])
    assert not_pooled.status_code == 422 and not_pooled.json()["code"] == "product_not_in_shop"
    offered = await offer(client, world)
    offer_id = offered.json()["id"]
    waiting = await set_cart(client, world, [world.own.id, world.pooled.id])
    assert waiting.status_code == 409 and waiting.json()["code"] == "not_approved"

    applied = await client.post(
        f"/api/pool/offers/{offer_id}/applications",
        json={"note": "Tea every night"},
        headers=world.anchor.headers,
    )
    assert applied.status_code == 201 and applied.json()["status"] == "pending"
    again = await client.post(
        f"/api/pool/offers/{offer_id}/applications", json={}, headers=world.anchor.headers
    )
    assert again.status_code == 409 and again.json()["code"] == "application_exists"
    still = await set_cart(client, world, [world.own.id, world.pooled.id])
    assert still.status_code == 409
    listed = await client.get(
        f"/api/shops/{world.supplier_shop}/pool-applications",
        params={"status": "pending"},
        headers=world.supplier.headers,
    )
    assert [(a["anchor_id"], a["note"]) for a in listed.json()] == [
        (world.anchor.id, "Tea every night")
    ]
    decision = f"/api/pool/applications/{applied.json()['id']}/decision"
    yes = await client.post(decision, json={"decision": "approve"}, headers=world.supplier.headers)
    assert yes.json()["status"] == "approved" and yes.json()["decided_by"] == "shop"

    cart = await set_cart(client, world, [world.own.id, world.pooled.id])
    assert cart.status_code == 200, cart.text
    async with uow() as ctx:  # what the room shows of its cart: who sells each product
        cards = {c["product_id"]: c for c in await cart_cards(ctx, cart.json()["cart"])}
    assert cards[world.pooled.id]["shop_id"] == world.supplier_shop
    assert cards[world.own.id]["shop_id"] == world.anchor_shop

    bought = await buy_pooled(client, world)
    assert bought.status_code == 201, bought.text
    (order,) = bought.json()["orders"]
    assert order["shop_id"] == world.supplier_shop  # the supplier sells and ships
    (line,) = order["lines"]
    assert (line["anchor_id"], line["commission_bps"]) == (world.anchor.id, RATE)

    # Revoked: the product can no longer be sold in the room, nor put back in its cart.
    no = await client.post(decision, json={"decision": "revoke"}, headers=world.supplier.headers)
    assert no.json()["status"] == "revoked"
    refused = await buy_pooled(client, world)
    assert refused.status_code == 409 and refused.json()["code"] == "not_approved"
    assert (await set_cart(client, world, [world.pooled.id])).status_code == 409


async def test_a_rule_approves_anchors_who_meet_the_reputation_asked(
    client: httpx.AsyncClient, clock: FrozenClock, uow: Any
) -> None:
    world = await make_affiliate_world(client, clock)
    offered = await offer(client, world, min_reputation=4.5, auto_approve=True)
    offer_id = offered.json()["id"]
    path = f"/api/pool/offers/{offer_id}/applications"
    unscored = await client.post(path, json={}, headers=world.anchor.headers)
    assert unscored.status_code == 409 and unscored.json()["code"] == "reputation_too_low"
    assert "none kept yet" in unscored.json()["message"]
    async with uow() as ctx:
        ctx.db.add(_kept_score(world.anchor.id, clock, 4.62))
    applied = await client.post(path, json={}, headers=world.anchor.headers)
    assert applied.status_code == 201, applied.text
    assert applied.json()["status"] == "approved" and applied.json()["decided_by"] == "rule"
    assert applied.json()["reputation"] == 4.62
    own = await client.post(path, json={}, headers=world.supplier.headers)
    assert own.status_code == 403  # a seller without the anchor role
    anchor_supplier = await sign_up(client, Role.SELLER, Role.ANCHOR)
    shop = await make_shop(client, anchor_supplier)
    product = await make_product(client, anchor_supplier, shop, skus=[sku(price_minor=900)])
    await client.put(
        f"/api/shops/{shop}/pool/{product.id}",
        json={"commission_bps": 500},
        headers=anchor_supplier.headers,
    )
    mine = (await client.get("/api/pool", headers=anchor_supplier.headers)).json()
    own_offer = next(item["offer_id"] for item in mine if item["product_id"] == product.id)
    itself = await client.post(
        f"/api/pool/offers/{own_offer}/applications", json={}, headers=anchor_supplier.headers
    )
    assert itself.status_code == 403 and itself.json()["code"] == "own_offer"


async def test_a_withdrawn_or_ended_offer_leaves_the_pool(
    client: httpx.AsyncClient, clock: FrozenClock
) -> None:
    world = await make_affiliate_world(client, clock)
    ends = (clock.now() + timedelta(hours=2)).isoformat()
    offer_id = await approved(client, world, ends_at=ends)
    assert (await set_cart(client, world, [world.pooled.id])).status_code == 200
    clock.advance(timedelta(hours=3))
    assert (await client.get("/api/pool", headers=world.anchor.headers)).json() == []
    ended = await buy_pooled(client, world)
    assert ended.status_code == 409 and ended.json()["code"] == "not_approved"
    # Opened again without an end, then withdrawn.
    assert (await offer(client, world)).status_code == 200
    assert (await buy_pooled(client, world)).status_code == 201
    withdrawn = await client.post(
        f"/api/pool/offers/{offer_id}/withdrawal", headers=world.supplier.headers
    )
    assert withdrawn.json()["status"] == "withdrawn"
    assert (await buy_pooled(client, world)).status_code == 409
    closed = await client.post(
        f"/api/pool/offers/{offer_id}/applications", json={}, headers=world.anchor.headers
    )
    assert closed.status_code == 409 and closed.json()["code"] == "offer_closed"


async def test_a_pool_flash_sale_needs_the_shops_consent_and_carries_the_rate(
    client: httpx.AsyncClient, clock: FrozenClock
) -> None:
    world = await make_affiliate_world(client, clock)
    await approved(client, world)
    assert (await set_cart(client, world, [world.own.id, world.pooled.id])).status_code == 200
    sale = {
        "sku_id": world.pooled.sku_ids[0],
        "price_minor": 15_000,
        "quantity": 3,
        "per_buyer_limit": 1,
    }
    path = f"/api/live/sessions/{world.session_id}/flash-sales"
    refused = await client.post(path, json=sale, headers=world.anchor.headers)
    assert refused.status_code == 403 and refused.json()["code"] == "flash_sales_not_allowed"
    assert (await offer(client, world, flash_sales=True)).status_code == 200
    started = await client.post(path, json=sale, headers=world.anchor.headers)
    assert started.status_code == 201, started.text
    # A later rate moves neither the running sale nor its orders.
    assert (await offer(client, world, commission_bps=3_000, flash_sales=True)).status_code == 200
    bought = await buy_pooled(client, world)
    assert bought.status_code == 201, bought.text
    (line,) = bought.json()["orders"][0]["lines"]
    assert (line["unit_price_minor"], line["commission_bps"]) == (15_000, RATE)


def _kept_score(anchor_id: str, clock: FrozenClock, value: float) -> AnchorScore:
    """A kept daily reputation of today, as the daily job would keep it."""
    return AnchorScore(
        anchor_id=anchor_id,
        day=clock.now().date(),
        score=value,
        tier="excellent",
        new=False,
        buyers=40,
        formula_version="shop-score-1",
        dimensions=[],
        computed_at=clock.now(),
    )
