"""A session's review: audience, chat, orders, pins and flash sales, read back after the show."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from laotie.accounts.permissions import Role
from laotie.accounts.service import access_user
from laotie.core.clock import FrozenClock
from laotie.live.room import chat, visits
from laotie.live.schemas import EntrySource
from laotie.live.session.service import load_session
from tests.catalog_factories import make_operator
from tests.factories import ApiUser, sign_up
from tests.live.sale_room import buy, start_sale


async def _say(uow: Any, session_id: str, speaker: ApiUser, text: str) -> str:
    async with uow() as ctx:
        session = await load_session(ctx, session_id)
        event = await chat.do_say(ctx, session, await access_user(ctx, speaker.id), text)
    return str(event.data["id"])


async def _pin(client: httpx.AsyncClient, room: dict[str, Any], product_id: str | None) -> None:
    pinned = await client.put(
        f"/api/live/sessions/{room['session_id']}/pin",
        json={"product_id": product_id},
        headers=room["anchor"].headers,
    )
    assert pinned.status_code == 200, pinned.text


async def test_the_anchor_reviews_what_happened_in_the_show(
    client: httpx.AsyncClient, room: dict[str, Any], uow: Any, app: Any, clock: FrozenClock
) -> None:
    session_id, anchor = room["session_id"], room["anchor"]
    buyer = await sign_up(client, Role.BUYER, name="Buyer")
    async with uow() as ctx:
        visit_id = await visits.do_enter(
            ctx, session_id, buyer.id, buyer.id, EntrySource.FOLLOW_FEED, False
        )
        await visits.do_enter(ctx, session_id, "vis_anon", None, EntrySource.SEARCH, False)
        await visits.do_enter(ctx, session_id, buyer.id, buyer.id, EntrySource.SHARE, False)
    product_id = (await client.get(f"/api/live/sessions/{session_id}")).json()["cart"][0]
    await _pin(client, room, product_id)
    first_line = await _say(uow, session_id, buyer, "how much?")
    spam = await _say(uow, session_id, buyer, "cheaper elsewhere")
    deleted = await client.post(
        f"/api/live/sessions/{session_id}/moderation",
        json={"action": "delete", "message_id": spam},
        headers=anchor.headers,
    )
    assert deleted.status_code == 200, deleted.text
    sale = await start_sale(client, room, quantity=5)
    assert sale.status_code == 201, sale.text
    bought = await buy(client, room, buyer, visit_id=visit_id)
    assert bought.status_code == 201, bought.text
    app.state.live.like(session_id, 12)
    await app.state.live.flush_counters(app.state)
    clock.advance(timedelta(seconds=20))
    async with uow() as ctx:
        await visits.do_heartbeat(ctx, visit_id)
    await _pin(client, room, None)
    ended = await client.post(f"/api/live/sessions/{session_id}/end", headers=anchor.headers)
    assert ended.status_code == 200, ended.text

    answer = await client.get(f"/api/live/sessions/{session_id}/review", headers=anchor.headers)
    assert answer.status_code == 200, answer.text
    review = answer.json()
    assert review["session"]["status"] == "ended"
    assert (review["entries"], review["viewers"]) == (3, 2)  # the buyer entered twice
    # The order in the second of entry counted a second (so that its conversion per unit
    # of watch time is defined), and the heartbeat 20 more.
    assert review["watch_seconds"] == 21
    assert (review["likes"], review["chat_lines"], review["chat_deleted"]) == (12, 2, 1)
    assert (review["orders"], review["gmv_minor"]) == (1, 5_900)
    assert [pin["product_id"] for pin in review["pins"]] == [product_id, None]
    (sold,) = review["sales"]
    assert (sold["quantity"], sold["orders"], sold["units_ordered"]) == (5, 1, 1)
    assert (sold["status"], sold["returned_units"]) == ("ended", 4)  # the rest went back

    log = await client.get(f"/api/live/sessions/{session_id}/chat", headers=anchor.headers)
    assert [(line["text"], line["deleted"]) for line in log.json()] == [
        ("how much?", False),
        ("cheaper elsewhere", True),
    ]
    after_first = await client.get(
        f"/api/live/sessions/{session_id}/chat",
        params={"after": first_line, "limit": 1},
        headers=anchor.headers,
    )
    assert [line["id"] for line in after_first.json()] == [spam]


async def test_only_the_anchor_and_operators_review_a_session(
    client: httpx.AsyncClient, room: dict[str, Any], uow: Any
) -> None:
    session_id = room["session_id"]
    stranger = await sign_up(client, Role.SELLER)
    operator = await make_operator(client, uow)
    for path in ("review", "chat"):
        url = f"/api/live/sessions/{session_id}/{path}"
        assert (await client.get(url, headers=stranger.headers)).status_code == 404
        assert (await client.get(url)).status_code == 401
        assert (await client.get(url, headers=operator.headers)).status_code == 200
    empty = await client.get(f"/api/live/sessions/{session_id}/review", headers=operator.headers)
    assert (empty.json()["entries"], empty.json()["pins"], empty.json()["sales"]) == (0, [], [])
    missing = await client.get("/api/live/sessions/liv_missing/review", headers=operator.headers)
    assert missing.status_code == 404
