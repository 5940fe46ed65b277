"""The selection pool's pages: an anchor searches and applies, the shop offers, approves and
withdraws, a bad offer changes nothing, and the anchor reads its commissions."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from laotie.core.clock import FrozenClock
from laotie.core.money import fee_of
from tests.affiliate.world import (
    PRICE,
    RATE,
    approved,
    buy_pooled,
    complete,
    make_affiliate_world,
    offer,
    paid_pool_order,
    set_cart,
)
from tests.orders.world import pay
from tests.web.pages import browsing, flash_of


@pytest.fixture
async def users(app: Any) -> AsyncIterator[Any]:
    """Make signed-in page users."""
    async with browsing(app) as make:
        yield make


async def test_an_anchor_searches_the_pool_and_applies_and_the_shop_approves(
    client: httpx.AsyncClient, clock: FrozenClock, users: Any
) -> None:
    world = await make_affiliate_world(client, clock)
    supplier = await users(email=world.supplier.email)
    offered = await supplier.post(
        "/seller/pool",
        {"product_id": world.pooled.id, "commission": "15.00", "min_reputation": ""},
    )
    assert offered.headers["location"] == "/seller/pool"
    assert "in the selection pool at 15.00%" in flash_of(await supplier.get("/seller/pool"))

    anchor = await users(email=world.anchor.email)
    page = await anchor.get("/pool")
    assert page.status_code == 200 and 'href="/commissions"' in page.text
    assert f'data-offer-id="{_offer_id(page.text)}"' in page.text
    assert "15.00%" in page.text and "¥30.00 a unit" in page.text  # 15% of ¥200.00
    found = await anchor.get("/pool?category=home&max_price=250&min_commission=10&q=linen")
    assert 'data-testid="apply-form"' in found.text
    for missed in ("/pool?min_commission=20", "/pool?max_price=100", "/pool?tier=excellent"):
        assert 'data-testid="pool-empty"' in (await anchor.get(missed)).text, missed
    bad = await anchor.get("/pool?min_price=cheap")
    assert bad.status_code == 303 and bad.headers["location"] == "/pool"
    assert "is not a price" in flash_of(await anchor.get("/pool"))

    back = "/pool?category=home&offset=0"
    applied = await anchor.post(
        f"/pool/{_offer_id(page.text)}/apply", {"note": "Tea shows every evening", "back": back}
    )
    assert applied.headers["location"] == back
    after = await anchor.get(back)
    assert "Applied for Linen shirt" in flash_of(after)
    assert 'data-testid="apply-form"' not in after.text and "the shop answers soon" in after.text
    again = await anchor.post(f"/pool/{_offer_id(page.text)}/apply", {"back": "/pool"})
    assert "you applied already" in flash_of(await anchor.get(again.headers["location"]))

    shop_page = await supplier.get("/seller/pool")
    assert "Tea shows every evening" in shop_page.text and "Anchor" in shop_page.text
    assert re.search(r'data-cell="pending">1<', shop_page.text)
    application_id = re.search(r'data-application-id="([A-Za-z0-9_-]+)"', shop_page.text)
    assert application_id is not None
    decided = await supplier.post(
        f"/seller/pool/applications/{application_id.group(1)}", {"action": "approve"}
    )
    shop_page = await supplier.get(decided.headers["location"])
    assert "Anchor may now sell Linen shirt." in flash_of(shop_page)
    assert re.search(r'data-cell="approved">1<', shop_page.text) and "Revoke" in shop_page.text
    twice = await supplier.post(
        f"/seller/pool/applications/{application_id.group(1)}", {"action": "approve"}
    )
    assert "cannot be approved now" in flash_of(await supplier.get(twice.headers["location"]))

    mine = await anchor.get("/commissions")
    assert "standing-approved" in mine.text and "Tea shows every evening" in mine.text
    assert "add it to your room's cart" in (await anchor.get("/pool")).text

    withdrawn = await supplier.post(f"/seller/pool/{_offer_id(page.text)}/withdraw")
    shop_page = await supplier.get(withdrawn.headers["location"])
    assert "is out of the pool" in flash_of(shop_page) and "standing-withdrawn" in shop_page.text
    assert 'data-testid="pool-empty"' in (await anchor.get("/pool")).text


async def test_a_bad_offer_gives_its_reason_and_saves_nothing(
    client: httpx.AsyncClient, clock: FrozenClock, users: Any
) -> None:
    world = await make_affiliate_world(client, clock)
    supplier = await users(email=world.supplier.email)
    page = await supplier.get("/seller/pool")
    assert page.status_code == 200 and f'<option value="{world.pooled.id}"' in page.text
    terms = {"product_id": world.pooled.id, "commission": "15.00"}
    for bad, said in (
        ({"commission": "80"}, "a commission is 100 to 5000 basis points"),
        ({"commission": "fifteen"}, "as a percentage"),
        ({"min_reputation": "2.50"}, "3.00 to 5.00"),
        ({"min_reputation": "5.50"}, "min_reputation"),
        ({"starts_on": "2000-01-02", "ends_on": "2000-01-01"}, "ends after it starts"),
        ({"ends_on": "someday"}, "must be a date"),
        ({"product_id": world.own.id}, "not found"),  # the anchor's shop's, not this shop's
    ):
        refused = await supplier.post("/seller/pool", {**terms, **bad})
        assert refused.headers["location"] == "/seller/pool"
        assert said in flash_of(await supplier.get("/seller/pool")), bad
    offers = await client.get(
        f"/api/shops/{world.supplier_shop}/pool", headers=world.supplier.headers
    )
    assert offers.json() == []

    # A non-anchor has no pool and no commissions, and no links to them.
    for path in ("/pool", "/commissions"):
        assert (await supplier.get(path)).status_code == 403
    assert 'href="/commissions"' not in page.text


async def test_the_shop_changes_an_offers_terms_from_its_row(
    client: httpx.AsyncClient, clock: FrozenClock, users: Any
) -> None:
    world = await make_affiliate_world(client, clock)
    assert (await offer(client, world, min_reputation=4.2, flash_sales=True)).status_code == 200
    supplier = await users(email=world.supplier.email)
    form = await supplier.get(f"/seller/pool?product={world.pooled.id}")
    assert 'value="15.00"' in form.text and 'value="4.20"' in form.text
    assert 'name="flash_sales" checked' in form.text
    changed = await supplier.post(
        "/seller/pool",
        {
            "product_id": world.pooled.id,
            "commission": "12.5",
            "ends_on": (clock.now().date().replace(year=clock.now().year + 1)).isoformat(),
            "auto_approve": "on",
        },
    )
    assert "at 12.50%" in flash_of(await supplier.get(changed.headers["location"]))
    (kept,) = (
        await client.get(f"/api/shops/{world.supplier_shop}/pool", headers=world.supplier.headers)
    ).json()
    assert (kept["commission_bps"], kept["auto_approve"], kept["flash_sales"]) == (
        1_250,
        True,
        False,
    )
    assert kept["min_reputation"] is None and kept["ends_at"].endswith("00:00:00Z")


async def test_the_anchors_commissions_page_shows_what_it_sold_for_the_shop(
    client: httpx.AsyncClient, clock: FrozenClock, users: Any
) -> None:
    world = await make_affiliate_world(client, clock)
    anchor = await users(email=world.anchor.email)
    empty = await anchor.get("/commissions")
    assert empty.status_code == 200 and "Nothing sold for another shop yet" in empty.text

    await approved(client, world)
    assert (await set_cart(client, world, [world.pooled.id])).status_code == 200
    bought = await buy_pooled(client, world, quantity=2)
    assert bought.status_code == 201, bought.text
    order_id = bought.json()["orders"][0]["id"]
    await pay(client, world.buyer, [order_id])

    page = await anchor.get("/commissions")
    earned = fee_of(2 * PRICE, RATE)
    assert re.search(rf'data-testid="pending">¥{earned // 100}\.00<', page.text)
    assert 'data-testid="released">¥0.00<' in page.text
    shop = (await client.get(f"/api/shops/{world.supplier_shop}")).json()
    row = re.search(rf'<tr data-order-id="{order_id}">(.*?)</tr>', page.text, re.S)
    assert row is not None
    assert shop["name"] in row.group(1) and "Linen shirt" in row.group(1)
    assert "15.00%" in row.group(1) and 'data-testid="line-state">pending<' in row.group(1)


def _offer_id(html: str) -> str:
    """Return the first offer's id on a pool page."""
    found = re.search(r'data-offer-id="([A-Za-z0-9_-]+)"', html)
    assert found is not None
    return found.group(1)


async def test_the_anchor_withdraws_its_released_commissions_from_its_page(
    client: httpx.AsyncClient, clock: FrozenClock, users: Any, app: Any
) -> None:
    world = await make_affiliate_world(client, clock)
    await complete(client, world, clock, app, await paid_pool_order(client, world))

    anchor = await users(email=world.anchor.email)
    bad = await anchor.post(
        "/commissions/payout-account", {"holder_name": "Wang", "account_no": "no!"}
    )
    assert "account number" in flash_of(await anchor.get(bad.headers["location"]))
    saved = await anchor.post(
        "/commissions/payout-account", {"holder_name": "Wang", "account_no": "6222-8888"}
    )
    assert "saved" in flash_of(await anchor.get(saved.headers["location"]))
    earned = fee_of(PRICE, RATE)
    too_much = await anchor.post("/commissions/payouts", {"amount": f"{earned / 100 + 1:.2f}"})
    assert "does not cover" in flash_of(await anchor.get(too_much.headers["location"]))
    asked = await anchor.post("/commissions/payouts", {"amount": "10.00"})
    page = await anchor.get(asked.headers["location"])
    assert "Payout requested." in flash_of(page)
    assert "6222-8888" in page.text and 'data-payout-id="' in page.text
    released = await client.get("/api/me/commissions", headers=world.anchor.headers)
    assert released.json()["balance_minor"] == earned - 1_000
