"""Following from the pages: the shop's and the room's button, and the following page."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from laotie.accounts.permissions import Role
from laotie.core.clock import FrozenClock
from laotie.live.room.sources import resolve_source
from laotie.live.schemas import EntrySource
from tests.factories import sign_up
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


async def test_the_anchor_profile_and_the_share_link_make_their_sources(
    client: httpx.AsyncClient, clock: FrozenClock, app: Any
) -> None:
    show = await go_live(client, clock, "Evening tasting", price_minor=2_000, stock=5)
    secret = app.state.settings.secret_key
    room = await client.get(f"/live/{show.session_id}")
    assert f'href="/anchors/{show.anchor.id}"' in room.text
    found = re.search(r'value="([^"]+)" data-testid="share-link"', room.text)
    assert found is not None
    tag = found.group(1).split("?src=")[1]
    assert resolve_source(secret, show.session_id, tag) is EntrySource.SHARE
    profile = await client.get(f"/anchors/{show.anchor.id}")
    assert profile.status_code == 200 and "Evening tasting" in profile.text
    (link,) = re.findall(rf'href="/live/{show.session_id}\?src=([^"]+)"', profile.text)
    assert resolve_source(secret, show.session_id, link) is EntrySource.PROFILE
    buyer = await sign_up(client, Role.BUYER)
    assert (await client.get(f"/anchors/{buyer.id}")).status_code == 404
    assert (await client.get("/anchors/usr_none")).status_code == 404
