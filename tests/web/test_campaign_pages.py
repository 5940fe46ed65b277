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
    buyers,
    commit_and_pay,
    make_campaign_world,
    open_campaign,
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
    assert "The run is accepted" in flash_of(await factory.get(accepted.headers["location"]))
    page = await factory.get("/factory")
    assert "Mark materials" in page.text
    wrong = await factory.post(f"/factory/runs/{run_id.group(1)}", {"step": "shipped"})
    assert "next comes materials" in flash_of(await factory.get(wrong.headers["location"]))
