"""Following from the pages: the shop's and the room's button, and the following page."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from laotie.core.clock import FrozenClock
from tests.live.sale_room import go_live
from tests.web.pages import browsing, flash_of


@pytest.fixture
async def users(app: Any) -> AsyncIterator[Any]:
    """Make signed-in page users."""
    async with browsing(app) as make:
        yield make


async def test_a_viewer_follows_a_room_s_anchor_and_finds_the_show_on_the_following_page(
    client: httpx.AsyncClient, clock: FrozenClock, users: Any
) -> None:
    show = await go_live(client, clock, "Evening tasting", price_minor=2_000, stock=5)
    anonymous = await client.get(f"/live/{show.session_id}")
    assert "Sign in to follow" in anonymous.text and "0 followers" in anonymous.text
    viewer = await users(ships=False)
    empty = await viewer.get("/following")
    assert "Nobody you follow is live right now." in empty.text
    room = await viewer.get(f"/live/{show.session_id}")
    assert 'data-testid="follow-anchor"' in room.text and ">Follow<" in room.text
    followed = await viewer.post(
        f"/follows/anchor/{show.anchor.id}",
        {"action": "follow", "back": f"/live/{show.session_id}"},
    )
    assert followed.headers["location"] == f"/live/{show.session_id}"
    again = await viewer.get(f"/live/{show.session_id}")
    assert "Following ✓" in again.text and "1 follower<" in again.text
    page = await viewer.get("/following")
    assert f'href="/live/{show.session_id}?src=follow_feed.' in page.text
    await viewer.post(f"/follows/anchor/{show.anchor.id}", {"action": "unfollow", "back": "/"})
    assert "Nobody you follow is live" in (await viewer.get("/following")).text
    wrong = await viewer.post(f"/follows/anchor/{show.anchor.id}", {"action": "poke", "back": "/"})
    assert "choose follow or unfollow" in flash_of(await viewer.http.get(wrong.headers["location"]))


async def test_the_shop_page_has_its_follow_button(
    client: httpx.AsyncClient, clock: FrozenClock, users: Any
) -> None:
    show = await go_live(client, clock, "Evening tasting", price_minor=2_000, stock=5)
    session = (await client.get(f"/api/live/sessions/{show.session_id}")).json()
    viewer = await users(ships=False)
    shop_path = f"/shops/{session['shop_id']}"
    await viewer.post(
        f"/follows/shop/{session['shop_id']}", {"action": "follow", "back": shop_path}
    )
    page = await viewer.get(shop_path)
    assert 'data-testid="follow-shop"' in page.text and "Following ✓" in page.text
    assert show.session_id in (await viewer.get("/following")).text
