"""A campaign's page: its progress, committing with a deposit paid on the provider's page,
the buyer's commitments, and withdrawing."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from laotie.core.clock import FrozenClock
from laotie.supply.jobs import close_due_campaigns
from tests.catalog_factories import make_operator
from tests.supply.campaign_world import (
    FACTORY_TIERS,
    RUN_STEPS,
    buyers,
    commit_and_pay,
    confirmed,
    delivered_balance,
    make_campaign_world,
    open_campaign,
    report_steps,
    run_of,
)
from tests.supply.factories import make_factory
from tests.web.pages import browsing, flash_of


@pytest.fixture
async def users(app: Any) -> AsyncIterator[Any]:
    """Make signed-in page users."""
    async with browsing(app) as make:
        yield make


async def test_a_buyer_commits_pays_the_deposit_and_withdraws_from_the_pages(
    client: httpx.AsyncClient, uow: Any, clock: FrozenClock, users: Any
) -> None:
    world = await make_campaign_world(client, uow)
    campaign = await open_campaign(client, world, clock)
    (other,) = await buyers(client, 1)
    await commit_and_pay(client, other, campaign["id"], quantity=2)
    path = f"/campaigns/{campaign['id']}"

    anonymous = await client.get(path)
    assert anonymous.status_code == 200
    assert "2 of 3 units committed" in anonymous.text and "Sign in</a> to commit" in anonymous.text

    buyer = await users()
    page = await buyer.get(path)
    key = re.search(r'name="key" value="([0-9a-f]+)"', page.text)
    assert key is not None
    refused = await buyer.post(
        f"{path}/commit", {"variant": "pink/XS", "quantity": "1", "key": key.group(1)}
    )
    assert refused.headers["location"] == path
    assert "no variant" in flash_of(await buyer.get(path))

    opened = await buyer.post(
        f"{path}/commit", {"variant": "camel/L", "quantity": "1", "key": key.group(1)}
    )
    assert opened.status_code == 303 and opened.headers["location"].startswith("/sandbox/pay/")
    pay_page = await buyer.get(opened.headers["location"])
    assert "value='/commitments'" in pay_page.text and "¥20.00" in pay_page.text
    paid = await buyer.http.post(
        opened.headers["location"], data={"action": "pay", "return_to": "/commitments"}
    )
    assert paid.headers["location"] == "/commitments"
    mine = await buyer.get("/commitments")
    assert "deposit held" in mine.text and "camel/L" in mine.text
    after = await buyer.get(path)
    assert "3 of 3 units committed" in after.text and 'data-testid="price-reached"' in after.text

    commitment_id = re.search(r'data-commitment-id="(cmt_[A-Za-z0-9_-]+)"', mine.text)
    assert commitment_id is not None
    withdrawn = await buyer.post(
        f"/commitments/{commitment_id.group(1)}/withdraw",
        {"action": "withdraw", "back": "/commitments"},
    )
    assert "deposit is on its way back" in flash_of(await buyer.get(withdrawn.headers["location"]))
    assert "withdrawn" in (await buyer.get("/commitments")).text

    clock.advance(timedelta(days=2))
    closed = await buyer.get(path)
    assert 'data-testid="commit-form"' not in closed.text


async def test_a_seller_asks_a_factory_and_opens_a_campaign_from_its_page(
    client: httpx.AsyncClient, uow: Any, clock: FrozenClock, users: Any
) -> None:
    world = await make_campaign_world(client, uow)
    operator = await make_operator(client, uow)
    _, other = await make_factory(client, operator, moq=2, price_tiers=FACTORY_TIERS)
    seller = await users(email=world.seller.email)
    page = await seller.get("/seller/campaigns")
    assert page.status_code == 200 and "¥1,000.00</strong> of it is free" in page.text
    assert f'<option value="{other["id"]}">' in page.text  # the one not asked yet

    asked = await seller.post("/seller/partners", {"factory_id": other["id"], "note": "Scarves"})
    assert "Asked" in flash_of(await seller.get(asked.headers["location"]))
    terms = {
        "factory_id": world.factory_id,
        "title": "Wool coat",
        "category": "apparel",
        "options": "colour: black, camel; size: M, L",
        "tiers": "3: 200.00; 6: 180.00",
        "moq": "3",
        "cap_units": "10",
        "deposit_percent": "10",
        "days": "7",
    }
    for bad, said in (
        ({"tiers": "three: 200"}, "quantity: price"),
        ({"cap_units": "1000"}, "does not cover"),
    ):
        refused = await seller.post("/seller/campaigns", {**terms, **bad})
        assert refused.headers["location"] == "/seller/campaigns"
        assert said in flash_of(await seller.get("/seller/campaigns"))
    opened = await seller.post("/seller/campaigns", terms)
    assert opened.status_code == 303 and opened.headers["location"].startswith("/campaigns/cmp_")
    campaign_page = await seller.get(opened.headers["location"])
    assert "0 of 3 units committed" in campaign_page.text and "camel/L" in campaign_page.text
    listed = await seller.get("/seller/campaigns")
    assert "Wool coat" in listed.text and "¥800.00</strong> of it is free" in listed.text


async def test_a_factory_registers_answers_a_shop_and_sees_its_purchase_orders(
    client: httpx.AsyncClient, uow: Any, clock: FrozenClock, users: Any, app: Any
) -> None:
    factory = await users(role="factory", name="Mill")
    page = await factory.get("/factory")
    assert 'data-testid="factory-form"' in page.text
    terms = {
        "name": "Ningbo Knit",
        "city": "Ningbo",
        "categories": "apparel",
        "moq": "2",
        "lead_time_days": "14",
        "weekly_capacity": "50",
        "tiers": "2: 90.00; 5: 80.00",
    }
    refused = await factory.post("/factory", {**terms, "tiers": "3: 90.00"})
    assert "minimum order quantity" in flash_of(await factory.get(refused.headers["location"]))
    registered = await factory.post("/factory", terms)
    assert "operator verifies" in flash_of(await factory.get(registered.headers["location"]))
    page = await factory.get("/factory")
    assert "awaiting verification" in page.text and "Factory portal</a>" in page.text
    factory_id = re.search(r'data-factory-id="(fac_[A-Za-z0-9_-]+)"', page.text)
    assert factory_id is not None

    operator = await users(email=(await make_operator(client, uow)).email)
    queue = await operator.get("/operator")
    assert f'data-factory-id="{factory_id.group(1)}"' in queue.text
    verified = await operator.post(
        f"/operator/factories/{factory_id.group(1)}/verify", {"action": "verify"}
    )
    assert "Verified" in flash_of(await operator.get(verified.headers["location"]))
    assert f'data-factory-id="{factory_id.group(1)}"' not in (await operator.get("/operator")).text
    world = await make_campaign_world(client, uow)  # its own factory, and now this one
    asked = await client.post(
        f"/api/shops/{world.shop_id}/partners",
        json={"factory_id": factory_id.group(1), "note": "Scarves for winter"},
        headers=world.seller.headers,
    )
    assert asked.status_code == 201
    page = await factory.get("/factory")
    assert "Scarves for winter" in page.text
    accepted = await factory.post(
        f"/factory/{factory_id.group(1)}/partners/{world.shop_id}", {"action": "accept"}
    )
    assert "Accepted" in flash_of(await factory.get(accepted.headers["location"]))

    world.factory_id = factory_id.group(1)
    campaign = await open_campaign(client, world, clock)
    for buyer in await buyers(client, 3):
        await commit_and_pay(client, buyer, campaign["id"])
    clock.advance(timedelta(days=1, seconds=1))
    assert await close_due_campaigns(app.state) == 1
    page = await factory.get("/factory")
    assert "Wool coat" in page.text and "black/M 3+" in page.text  # committed + buffer
    run_id = re.search(r'data-run-id="(run_[A-Za-z0-9_-]+)"', page.text)
    assert run_id is not None and "Accept the order" in page.text
    accepted = await factory.post(f"/factory/runs/{run_id.group(1)}", {"step": "accepted"})
    assert "Reported: accepted" in flash_of(await factory.get(accepted.headers["location"]))
    page = await factory.get("/factory")
    assert "Mark materials" in page.text
    wrong = await factory.post(f"/factory/runs/{run_id.group(1)}", {"step": "shipped"})
    assert "next comes materials" in flash_of(await factory.get(wrong.headers["location"]))


async def test_after_confirmation_a_buyer_pays_the_balance_and_a_default_pays_back_double(
    client: httpx.AsyncClient, uow: Any, clock: FrozenClock, users: Any, app: Any
) -> None:
    world = await make_campaign_world(client, uow)
    declined, cancelled = [await open_campaign(client, world, clock, cap_units=4) for _ in "ab"]
    buyer = await users()
    for campaign in (declined, cancelled):
        for other in await buyers(client, 2):
            await commit_and_pay(client, other, campaign["id"])
        page = await buyer.get(f"/campaigns/{campaign['id']}")
        key = re.search(r'name="key" value="([0-9a-f]+)"', page.text)
        assert key is not None
        opened = await buyer.post(
            f"/campaigns/{campaign['id']}/commit",
            {"variant": "black/M", "quantity": "1", "key": key.group(1)},
        )
        await buyer.http.post(opened.headers["location"], data={"action": "pay"})
    clock.advance(timedelta(days=1, seconds=1))
    assert await close_due_campaigns(app.state) == 2

    mine = await buyer.get("/commitments")
    assert mine.text.count("balance due") == 2 and "Pay the balance" in mine.text
    ids = re.findall(r'data-commitment-id="(cmt_[A-Za-z0-9_-]+)"', mine.text)
    placed = await buyer.post(f"/commitments/{ids[0]}/balance", {})
    assert placed.status_code == 303 and placed.headers["location"].startswith("/orders/ord_")
    order_page = await buyer.get(placed.headers["location"])
    assert "Pay the balance before it is due" in flash_of(order_page)
    again = await buyer.post(f"/commitments/{ids[0]}/balance", {})
    assert again.headers["location"] == placed.headers["location"]  # the same order

    factory = await users(email=world.factory_owner.email)
    portal = await factory.get("/factory")
    run_ids = re.findall(r'data-run-id="(run_[A-Za-z0-9_-]+)"', portal.text)
    assert len(run_ids) == 2 and portal.text.count(">Decline</button>") == 2
    done = await factory.post(f"/factory/runs/{run_ids[0]}/decline", {})
    assert "paid back double" in flash_of(await factory.get(done.headers["location"]))
    seller = await users(email=world.seller.email)
    listed = await seller.get("/seller/campaigns")
    (left,) = [
        c for c in (declined, cancelled) if f"/seller/campaigns/{c['id']}/cancel" in listed.text
    ]
    done = await seller.post(f"/seller/campaigns/{left['id']}/cancel", {})
    assert "paid back double" in flash_of(await seller.get(done.headers["location"]))
    mine = await buyer.get("/commitments")
    assert mine.text.count("deposit returned double") == 2


async def test_the_factory_sees_what_sold_and_the_seller_orders_a_rerun_from_the_pages(
    client: httpx.AsyncClient, uow: Any, clock: FrozenClock, users: Any, app: Any
) -> None:
    world, campaign, committed = await confirmed(client, uow, clock, app)
    for buyer, commitment in committed:
        await delivered_balance(client, world, buyer, commitment)
    seller = await users(email=world.seller.email)
    before = await seller.get("/seller/campaigns")
    assert 'data-testid="campaign-sales"' in before.text
    assert 'data-testid="rerun-form"' not in before.text  # the first run has not shipped
    run_id = (await run_of(client, world, campaign["id"]))["id"]
    await report_steps(client, world, run_id, RUN_STEPS[:-1])

    factory = await users(email=world.factory_owner.email)
    portal = await factory.get("/factory")
    assert 'data-testid="ship-form"' in portal.text
    bad = {"to": "seller", "carrier": "SF Express", "tracking_no": "no spaces"}
    refused = await factory.post(f"/factory/runs/{run_id}/shipment", bad)
    assert "tracking_no" in flash_of(await factory.get(refused.headers["location"]))
    shipped = await factory.post(
        f"/factory/runs/{run_id}/shipment", {**bad, "tracking_no": "SF7001"}
    )
    assert "on its way to the shop" in flash_of(await factory.get(shipped.headers["location"]))
    portal = await factory.get("/factory")
    assert "SF Express SF7001" in portal.text
    trust = await seller.get("/seller/trust")  # the run counts in the shop's logistics
    assert 'data-testid="trust-runs"' in trust.text and campaign["id"] in trust.text
    assert "What you made, as it sells" in portal.text
    assert '<td>black/M</td><td class="num">3</td>' in portal.text
    page = await seller.get("/seller/campaigns")
    assert 'data-testid="rerun-form"' in page.text
    refused = await seller.post(f"/seller/campaigns/{campaign['id']}/rerun", {"units": "1"})
    assert "factory makes runs of 2" in flash_of(await seller.get(refused.headers["location"]))
    ordered = await seller.post(f"/seller/campaigns/{campaign['id']}/rerun", {"units": ""})
    assert "rerun of 3 units" in flash_of(await seller.get(ordered.headers["location"]))
    portal = await factory.get("/factory")
    assert "rerun 1" in portal.text and "black/M 0+3" in portal.text
