"""The console's C2M panel: the anchor opens campaigns in its show with the shop's partner
factories, or is told why it cannot."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from laotie.accounts.permissions import Actor, Role
from laotie.core.clock import FrozenClock
from laotie.core.errors import AppError
from laotie.supply.partners import partners_of_show
from tests.catalog_factories import make_operator, make_seller, make_shop
from tests.factories import ApiUser
from tests.supply.campaign_world import campaign_body, make_campaign_world
from tests.supply.factories import make_factory
from tests.web.pages import browsing

PANEL = 'data-testid="console-campaigns"'
FORM = 'data-testid="console-campaign-form"'


@pytest.fixture
async def users(app: Any) -> AsyncIterator[Any]:
    """Make signed-in page users."""
    async with browsing(app) as make:
        yield make


async def _show(
    client: httpx.AsyncClient, clock: FrozenClock, anchor: ApiUser, shop_id: str
) -> str:
    """Schedule a show of the shop, hosted by its owner; return its id."""
    answer = await client.post(
        "/api/live/sessions",
        json={
            "shop_id": shop_id,
            "title": "Evening show",
            "scheduled_at": (clock.now() + timedelta(hours=1)).isoformat(),
        },
        headers=anchor.headers,
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def _options(html: str, name: str) -> list[str]:
    """The values of a select's options in the console's campaign form."""
    form = html[html.index(FORM) :]
    select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', form, re.S)
    assert select is not None, name
    return re.findall(r'<option value="([^"]+)"', select.group(1))


async def test_the_console_offers_the_shops_partner_factories_for_a_campaign_in_the_show(
    client: httpx.AsyncClient, uow: Any, clock: FrozenClock, users: Any
) -> None:
    world = await make_campaign_world(client, uow)
    operator = await make_operator(client, uow)
    _, asked = await make_factory(client, operator, categories=["home"])
    requested = await client.post(
        f"/api/shops/{world.shop_id}/partners",
        json={"factory_id": asked["id"]},
        headers=world.seller.headers,
    )
    assert requested.status_code == 201  # asked, not yet accepted: not offered
    session_id = await _show(client, clock, world.seller, world.shop_id)
    anchor = await users(email=world.seller.email)

    page = await anchor.get(f"/live/{session_id}/console")
    assert page.status_code == 200 and PANEL in page.text and FORM in page.text
    assert _options(page.text, "factory_id") == [world.factory_id]
    assert "makes apparel, from 2 units" in page.text
    assert _options(page.text, "category") == ["apparel"]  # what the partner makes
    assert f'data-shop-id="{world.shop_id}"' in page.text
    assert "¥1,000.00</strong>" in page.text  # the free security deposit
    assert '<template data-role="campaign-card">' in page.text

    # What the panel posts: the show's anchor opens it in the show, and the room lists it.
    body = campaign_body(world, clock, session_id=session_id)
    opened = await client.post("/api/campaigns", json=body, headers=world.seller.headers)
    assert opened.status_code == 201, opened.text
    listed = await client.get("/api/campaigns", params={"session_id": session_id})
    assert [c["id"] for c in listed.json()] == [opened.json()["id"]]
    again = await anchor.get(f"/live/{session_id}/console")
    assert "¥800.00</strong>" in again.text  # 10 units × ¥20.00 stand behind it


async def test_the_console_says_why_without_a_partner_factory_or_once_the_show_is_over(
    client: httpx.AsyncClient, uow: Any, clock: FrozenClock, users: Any
) -> None:
    seller = await make_seller(client)
    shop_id = await make_shop(client, seller)
    session_id = await _show(client, clock, seller, shop_id)
    page = await (await users(email=seller.email)).get(f"/live/{session_id}/console")
    assert PANEL in page.text and FORM not in page.text
    assert 'data-testid="console-no-factory"' in page.text
    assert '<a href="/seller/campaigns">ask a factory</a>' in page.text

    world = await make_campaign_world(client, uow)
    session_id = await _show(client, clock, world.seller, world.shop_id)
    for step in ("start", "end"):
        moved = await client.post(
            f"/api/live/sessions/{session_id}/{step}", headers=world.seller.headers
        )
        assert moved.status_code == 200, moved.text
    page = await (await users(email=world.seller.email)).get(f"/live/{session_id}/console")
    assert PANEL in page.text and FORM not in page.text and "The show is over" in page.text


async def test_a_shows_partners_are_for_its_anchor_and_its_shops_owner_only(
    client: httpx.AsyncClient, uow: Any, clock: FrozenClock
) -> None:
    world = await make_campaign_world(client, uow)
    session_id = await _show(client, clock, world.seller, world.shop_id)
    anchor = Actor(world.seller.id, world.seller.email, "Anchor", frozenset({Role.SELLER}))
    stranger = Actor("usr_stranger", "x@example.com", "Stranger", frozenset({Role.SELLER}))
    async with uow() as ctx:
        found = await partners_of_show(ctx, anchor, session_id)
        assert [(p.factory_id, p.status) for p in found] == [(world.factory_id, "active")]
        with pytest.raises(AppError):
            await partners_of_show(ctx, stranger, session_id)
