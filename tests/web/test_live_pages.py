"""Live pages: who sees the room and the console, the visitor cookie, the entry source, escaping."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from laotie.accounts.service import access_user
from laotie.core.clock import FrozenClock
from laotie.core.signing import unsign
from laotie.core.visitors import VISITOR_COOKIE, VISITOR_PURPOSE
from laotie.live.room import chat, visits
from laotie.live.schemas import EntrySource
from laotie.live.session.service import load_session
from laotie.web.pages import STATIC_DIR
from tests.catalog_factories import make_product, make_seller, make_shop, sku
from tests.factories import ApiUser
from tests.web.pages import browsing

pytestmark = pytest.mark.asyncio


@pytest.fixture
async def users(app: Any) -> Any:
    """Make signed-in page users: `await users("seller")`."""
    async with browsing(app) as make:
        yield make


async def _show(
    client: httpx.AsyncClient, clock: FrozenClock, title: str = "Tea tasting"
) -> tuple[ApiUser, str, str]:
    """Return an anchor (a seller), its shop and a scheduled show with one product planned."""
    anchor = await make_seller(client, name="Anchor Wang")
    shop_id = await make_shop(client, anchor)
    product = await make_product(client, anchor, shop_id, title="Pu'er cake", skus=[sku()])
    answer = await client.post(
        "/api/live/sessions",
        json={
            "shop_id": shop_id,
            "title": title,
            "scheduled_at": (clock.now() + timedelta(hours=1)).isoformat(),
            "product_ids": [product.id],
        },
        headers=anchor.headers,
    )
    assert answer.status_code == 201, answer.text
    return anchor, shop_id, str(answer.json()["id"])


def _data_attribute(html: str, name: str) -> str:
    found = re.search(rf'data-{name}="([^"]*)"', html)
    assert found is not None, name
    return found.group(1)


async def test_the_room_page_renders_for_anyone_with_the_video_slot_and_the_script(
    client: httpx.AsyncClient, clock: FrozenClock
) -> None:
    _, _, session_id = await _show(client, clock)
    page = await client.get(f"/live/{session_id}")
    assert page.status_code == 200
    assert 'id="room-video"' in page.text
    assert _data_attribute(page.text, "session-id") == session_id
    assert "/static/room.js" in page.text
    assert "Tea tasting" in page.text


async def test_an_anonymous_visitor_gets_a_signed_http_only_visitor_cookie_once(
    client: httpx.AsyncClient, clock: FrozenClock, settings: Any
) -> None:
    _, _, session_id = await _show(client, clock)
    first = await client.get(f"/live/{session_id}")
    (header,) = [h for h in first.headers.get_list("set-cookie") if h.startswith(VISITOR_COOKIE)]
    assert "httponly" in header.lower()
    assert "samesite=lax" in header.lower()
    value = first.cookies[VISITOR_COOKIE]
    visitor = unsign(settings.secret_key, VISITOR_PURPOSE, value)
    assert visitor is not None and visitor.startswith("vis_")

    again = await client.get(f"/live/{session_id}")
    assert VISITOR_COOKIE not in again.headers.get("set-cookie", "")


async def test_a_forged_visitor_cookie_is_replaced(
    client: httpx.AsyncClient, clock: FrozenClock, settings: Any
) -> None:
    _, _, session_id = await _show(client, clock)
    client.cookies.set(VISITOR_COOKIE, "vis_chosen.0000")
    page = await client.get(f"/live/{session_id}")
    fresh = page.cookies[VISITOR_COOKIE]
    assert unsign(settings.secret_key, VISITOR_PURPOSE, fresh) not in (None, "vis_chosen")


async def test_a_signed_in_viewer_needs_no_visitor_cookie(
    client: httpx.AsyncClient, clock: FrozenClock, users: Any
) -> None:
    _, _, session_id = await _show(client, clock)
    buyer = await users("buyer")
    page = await buyer.get(f"/live/{session_id}")
    assert page.status_code == 200
    assert VISITOR_COOKIE not in page.headers.get("set-cookie", "")
    assert _data_attribute(page.text, "signed-in") == "yes"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("share", "other"),  # a source that must be signed, unsigned
        ("follow_feed", "other"),
        ("follow_feed.0123456789abcdef0123456789abcdef", "other"),
        ("search", "search"),
        (None, "other"),
        ("", "other"),
        ("nonsense", "other"),
        ('"><script>alert(1)</script>', "other"),
    ],
)
async def test_the_entry_source_is_checked_and_an_unknown_one_counts_as_other(
    client: httpx.AsyncClient, clock: FrozenClock, given: str | None, expected: str
) -> None:
    _, _, session_id = await _show(client, clock)
    page = await client.get(f"/live/{session_id}", params={} if given is None else {"src": given})
    assert page.status_code == 200
    assert _data_attribute(page.text, "source") == expected
    assert "<script>alert" not in page.text


async def test_an_unknown_room_is_a_404_page(client: httpx.AsyncClient) -> None:
    page = await client.get("/live/liv_nosuchthing")
    assert page.status_code == 404
    assert "no such live session" in page.text


async def test_the_console_is_for_the_anchor_of_the_session_only(
    client: httpx.AsyncClient, clock: FrozenClock, users: Any
) -> None:
    anchor, _, session_id = await _show(client, clock)
    own = await users(email=anchor.email)
    page = await own.get(f"/live/{session_id}/console")
    assert page.status_code == 200
    assert "/static/console.js" in page.text
    assert "Pu&#39;er cake" in page.text or "Pu'er cake" in page.text
    assert re.search(r'<meta name="csrf-token" content="[0-9a-f]{40}">', page.text)

    other_seller = await users("seller")
    assert (await other_seller.get(f"/live/{session_id}/console")).status_code == 404
    buyer = await users("buyer")
    assert (await buyer.get(f"/live/{session_id}/console")).status_code == 404

    anonymous = await client.get(f"/live/{session_id}/console")
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/sign-in?next=")


async def test_the_room_shows_the_console_link_to_its_anchor_only(
    client: httpx.AsyncClient, clock: FrozenClock, users: Any
) -> None:
    anchor, _, session_id = await _show(client, clock)
    console_link = f'href="/live/{session_id}/console"'
    assert console_link in (await (await users(email=anchor.email)).get(f"/live/{session_id}")).text
    assert console_link not in (await (await users("buyer")).get(f"/live/{session_id}")).text


async def test_the_list_shows_live_and_coming_shows_and_the_header_links_to_it(
    client: httpx.AsyncClient, clock: FrozenClock
) -> None:
    anchor, _, on_air = await _show(client, clock, title="On air now")
    started = await client.post(f"/api/live/sessions/{on_air}/start", headers=anchor.headers)
    assert started.status_code == 200, started.text
    _, _, coming = await _show(client, clock, title="Next week's show")
    page = await client.get("/live")
    assert page.status_code == 200
    # The shows on air as the recommendation feed ranks them; the coming ones plainly.
    assert f"/live/{on_air}?src=recommend_feed" in page.text
    assert f'href="/live/{coming}"' in page.text
    assert page.text.index("On air now") < page.text.index("Next week")
    home = await client.get("/")
    assert 'href="/live"' in home.text
    assert f"/live/{on_air}?src=recommend_feed" in home.text  # live now, on the home page


async def test_the_back_office_lists_the_sellers_shows_with_their_consoles(
    client: httpx.AsyncClient, clock: FrozenClock, users: Any
) -> None:
    anchor, _, session_id = await _show(client, clock)
    seller = await users(email=anchor.email)
    overview = await seller.get("/seller")
    assert 'href="/seller/live"' in overview.text
    page = await seller.get("/seller/live")
    assert page.status_code == 200
    assert f'href="/live/{session_id}/console"' in page.text
    assert "data-schedule-form" in page.text
    buyer = await users("buyer")
    assert (await buyer.get("/seller/live")).status_code == 403


async def test_the_review_page_shows_the_anchor_what_happened_and_escapes_the_chat(
    client: httpx.AsyncClient, clock: FrozenClock, users: Any, uow: Any
) -> None:
    anchor, _, session_id = await _show(client, clock)
    started = await client.post(f"/api/live/sessions/{session_id}/start", headers=anchor.headers)
    assert started.status_code == 200, started.text
    product_id = started.json()["cart"][0]
    pinned = await client.put(
        f"/api/live/sessions/{session_id}/pin",
        json={"product_id": product_id},
        headers=anchor.headers,
    )
    assert pinned.status_code == 200, pinned.text
    viewer = await make_seller(client, name="Viewer")  # any signed-in user may chat
    async with uow() as ctx:
        session = await load_session(ctx, session_id)
        await chat.do_say(ctx, session, await access_user(ctx, viewer.id), "<b>loud</b> hello")
        await visits.do_enter(ctx, session_id, viewer.id, viewer.id, EntrySource.SHARE, False)
    await client.post(f"/api/live/sessions/{session_id}/end", headers=anchor.headers)

    own = await users(email=anchor.email)
    page = await own.get(f"/live/{session_id}/review")
    assert page.status_code == 200
    assert "<h1>Tea tasting <small" in page.text
    assert re.search(r'data-figure="entries">1<', page.text)
    assert "pinned Pu&#39;er cake" in page.text
    assert "&lt;b&gt;loud&lt;/b&gt; hello" in page.text and "<b>loud</b>" not in page.text
    listed = await own.get("/seller/live")
    assert f'href="/live/{session_id}/review"' in listed.text
    assert (await (await users("seller")).get(f"/live/{session_id}/review")).status_code == 404
    assert (await client.get(f"/live/{session_id}/review")).status_code == 303  # sign in first


def test_chat_and_people_texts_never_go_through_markup_in_the_live_scripts() -> None:
    for name in ("live.js", "room.js", "console.js", "campaigns.js", "schedule.js"):
        source = Path(STATIC_DIR, name).read_text()
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write"):
            assert sink not in source, f"{name} uses {sink}"


async def test_a_signed_private_source_reaches_the_room_socket_as_signed(
    client: httpx.AsyncClient, clock: FrozenClock, settings: Any
) -> None:
    from laotie.live.room.sources import source_tag
    from laotie.live.schemas import EntrySource

    _, _, session_id = await _show(client, clock)
    tag = source_tag(settings.secret_key, session_id, EntrySource.FOLLOW_FEED)
    page = await client.get(f"/live/{session_id}", params={"src": tag})
    assert _data_attribute(page.text, "source") == tag
    other_room = source_tag(settings.secret_key, "liv_other", EntrySource.FOLLOW_FEED)
    page = await client.get(f"/live/{session_id}", params={"src": other_room})
    assert _data_attribute(page.text, "source") == "other"
