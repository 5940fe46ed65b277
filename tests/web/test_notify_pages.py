"""Previews and notifications from the pages: RSVP on a coming room, Mute on the anchor's
profile, and the inbox with its unread count in the menu."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from laotie.accounts.permissions import Role
from laotie.core.clock import FrozenClock
from tests.catalog_factories import make_shop
from tests.factories import sign_up
from tests.web.pages import browsing


@pytest.fixture
async def users(app: Any) -> AsyncIterator[Any]:
    """Make signed-in page users."""
    async with browsing(app) as make:
        yield make


async def test_a_viewer_rsvps_from_the_preview_and_finds_the_show_in_the_inbox(
    client: httpx.AsyncClient, clock: FrozenClock, users: Any, app: Any
) -> None:
    anchor = await sign_up(client, Role.SELLER, Role.ANCHOR, name="Anchor", address=False)
    shop_id = await make_shop(client, anchor)
    made = await client.post(
        "/api/live/sessions",
        json={
            "shop_id": shop_id,
            "title": "Dawn tasting",
            "scheduled_at": clock.now().isoformat(),
            "product_ids": [],
        },
        headers=anchor.headers,
    )
    session_id = made.json()["id"]
    viewer = await users(ships=False)
    preview = await viewer.get(f"/live/{session_id}")
    assert 'data-testid="rsvp"' in preview.text and "Tell me when it starts" in preview.text
    await viewer.post(f"/live/{session_id}/rsvp", {"action": "rsvp"})
    assert "You will be told ✓" in (await viewer.get(f"/live/{session_id}")).text
    profile = await viewer.get(f"/anchors/{anchor.id}")
    assert "Mute notifications" in profile.text
    await viewer.post(f"/anchors/{anchor.id}/mute", {"action": "mute"})
    assert "Muted: notify me again" in (await viewer.get(f"/anchors/{anchor.id}")).text
    await viewer.post(f"/anchors/{anchor.id}/mute", {"action": "unmute"})

    await client.post(f"/api/live/sessions/{session_id}/start", headers=anchor.headers)
    await app.state.tasks.drain()
    page = await viewer.get("/inbox")
    assert 'data-testid="inbox-count">1<' in page.text
    assert f'href="/live/{session_id}?src=preview_rsvp.' in page.text
    await viewer.post("/inbox/read", {})
    assert 'data-testid="inbox-count">0<' in (await viewer.get("/inbox")).text
