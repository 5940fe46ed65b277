"""The analytics pages: the seller's month with its identity, change, repurchase, cohorts
and tiers; a show's minutes; the operators' platform month."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from laotie.accounts.permissions import Role
from laotie.accounts.service import do_grant_roles, find_user_by_email
from laotie.core.clock import FrozenClock
from laotie.live.room.visits import do_enter, do_leave
from laotie.live.schemas import EntrySource
from tests.factories import sign_up
from tests.live.sale_room import buy, room
from tests.orders.world import pay
from tests.web.pages import browsing

__all__ = ["room"]


@pytest.fixture
async def users(app: Any) -> AsyncIterator[Any]:
    """Make signed-in page users: `await users(email=...)`."""
    async with browsing(app) as make:
        yield make


async def _sale(
    client: httpx.AsyncClient, room: dict[str, Any], uow: Any, clock: FrozenClock
) -> None:
    """A buyer from the recommendation feed watches two minutes and buys."""
    buyer = await sign_up(client, Role.BUYER)
    async with uow() as ctx:
        visit_id = await do_enter(
            ctx, room["session_id"], buyer.id, buyer.id, EntrySource.RECOMMEND_FEED, False
        )
    clock.advance(timedelta(minutes=2))
    async with uow() as ctx:
        await do_leave(ctx, visit_id, 120)
    bought = await buy(client, room, buyer, visit_id=visit_id)
    assert bought.status_code == 201, bought.text
    await pay(client, buyer, [bought.json()["orders"][0]["id"]])


def _charts(page: httpx.Response) -> dict[str, Any]:
    found = re.search(r'id="analytics-charts">(.*?)</script>', page.text, re.S)
    assert found, page.text
    charts: dict[str, Any] = json.loads(found.group(1))
    return charts


async def test_the_seller_sees_its_month_as_factors_and_what_moved_it(
    client: httpx.AsyncClient, room: dict[str, Any], uow: Any, clock: FrozenClock, users: Any
) -> None:
    await _sale(client, room, uow, clock)
    seller = await users(email=room["anchor"].email)

    page = await seller.get("/seller/analytics")

    assert page.status_code == 200, page.text
    assert 'data-segment="public"' in page.text and 'data-segment="shelf"' in page.text
    assert "January 2026" in page.text
    assert 'data-factor="entry"' in page.text  # nothing the month before: all of it is new
    charts = _charts(page)
    assert [t["minor"] for t in charts["attribution"]] == [9_900]
    today = [d for d in charts["days"] if d["day"] == clock.now().date().isoformat()]
    assert today == [{"day": today[0]["day"], "private": 0, "public": 1, "shelf": 0}]
    assert charts["tiers"] == [{"tier": "new_first", "gmv_minor": 9_900}]
    assert 'data-testid="cohorts"' in page.text
    csv_link = re.search(r'href="(/api/analytics/shop/[^"]+/identity\?[^"]+)"', page.text)
    assert csv_link is not None
    download = await seller.get(csv_link.group(1).replace("&amp;", "&"))
    assert download.status_code == 200 and download.text.startswith("segment,uv")

    other_month = await seller.get("/seller/analytics?month=2025-12")
    assert other_month.status_code == 200 and "December 2025" in other_month.text
    nonsense = await seller.get("/seller/analytics?month=soon")
    assert nonsense.status_code == 200 and "January 2026" in nonsense.text


async def test_a_show_has_its_minutes_and_the_platform_its_month_for_operators(
    client: httpx.AsyncClient, room: dict[str, Any], uow: Any, clock: FrozenClock, users: Any
) -> None:
    await _sale(client, room, uow, clock)
    seller = await users(email=room["anchor"].email)
    buyer = await users()
    operator = await users(name="Op", ships=False)
    async with uow() as ctx:
        found = await find_user_by_email(ctx, operator.email)
        assert found is not None
        await do_grant_roles(ctx, found.id, frozenset({Role.OPERATOR}))

    minutes = await seller.get(f"/seller/analytics/sessions/{room['session_id']}")
    platform = await operator.get("/operator/analytics")
    refused = await buyer.get("/operator/analytics")

    assert minutes.status_code == 200, minutes.text
    assert "1 orders" in minutes.text or "1 order" in minutes.text
    assert re.search(r'id="session-minutes">\[', minutes.text)
    assert platform.status_code == 200, platform.text
    assert "The platform" in platform.text
    assert _charts(platform)["attribution"] == [{"factor": "New segment", "minor": 9_900}]
    assert 'data-testid="cohorts"' not in platform.text
    assert 'data-testid="claims"' in platform.text and "only echo" in platform.text
    assert "1 of 1 shops sold" in platform.text
    assert refused.status_code in (303, 403, 404)
