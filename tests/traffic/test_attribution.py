"""Attribution by domain and source: a viewer counts in the segment of its first visit of
the period, its orders with it, and private plus public viewers make all of them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from laotie.accounts.permissions import Role
from laotie.core.clock import FrozenClock
from laotie.live.room.visits import do_enter
from laotie.live.schemas import EntrySource
from tests.factories import sign_up
from tests.live.sale_room import buy
from tests.orders.world import pay


async def _enter(
    uow: Any, session_id: str, viewer: str, user_id: str | None, source: EntrySource
) -> str:
    async with uow() as ctx:
        return await do_enter(ctx, session_id, viewer, user_id, source, False)


async def test_viewers_and_their_orders_count_in_the_segment_of_their_first_visit(
    client: httpx.AsyncClient, room: dict[str, Any], uow: Any, clock: FrozenClock
) -> None:
    session_id, anchor = room["session_id"], room["anchor"]
    fan = await sign_up(client, Role.BUYER, name="Fan")
    passer = await sign_up(client, Role.BUYER, name="Passer-by")
    await client.put(f"/api/follows/anchor/{anchor.id}", headers=fan.headers)
    fan_visit = await _enter(uow, session_id, fan.id, fan.id, EntrySource.SEARCH)  # followed
    clock.advance(timedelta(minutes=1))
    passer_visit = await _enter(uow, session_id, passer.id, passer.id, EntrySource.RECOMMEND_FEED)
    await _enter(uow, session_id, "vis_anonymous", None, EntrySource.CATEGORY)
    clock.advance(timedelta(minutes=1))
    # The passer-by comes back from the follow feed: its first visit still decides.
    await _enter(uow, session_id, passer.id, passer.id, EntrySource.FOLLOW_FEED)
    for buyer, visit in ((fan, fan_visit), (passer, passer_visit), (passer, passer_visit)):
        bought = await buy(client, room, buyer, visit_id=visit)
        assert bought.status_code == 201, bought.text
        await pay(client, buyer, [bought.json()["orders"][0]["id"]])

    answer = await client.get(
        f"/api/live/sessions/{session_id}/attribution", headers=anchor.headers
    )
    assert answer.status_code == 200, answer.text
    seen = answer.json()
    assert (seen["uv"], seen["orders"], seen["gmv_minor"]) == (3, 3, 3 * 9_900)
    domains = {d["domain"]: (d["uv"], d["orders"]) for d in seen["domains"]}
    assert domains == {"private": (1, 1), "public": (2, 2)}
    sources = {(s["domain"], s["source"]): (s["uv"], s["orders"]) for s in seen["sources"]}
    assert sources == {
        ("private", "search"): (1, 1),  # a follower at entry: private, whatever the link
        ("public", "recommend_feed"): (1, 2),
        ("public", "category"): (1, 0),
    }
    assert sum(d["uv"] for d in seen["domains"]) == seen["uv"]

    stranger = await client.get(f"/api/live/sessions/{session_id}/attribution", headers=fan.headers)
    assert stranger.status_code == 404
    shop_id = (await client.get(f"/api/live/sessions/{session_id}")).json()["shop_id"]
    period = {
        "since": (clock.now() - timedelta(days=1)).isoformat(),
        "until": (clock.now() + timedelta(hours=1)).isoformat(),
    }
    by_shop = await client.get(
        f"/api/shops/{shop_id}/attribution", params=period, headers=anchor.headers
    )
    assert (by_shop.json()["uv"], by_shop.json()["orders"]) == (3, 3)
    backwards = {"since": period["until"], "until": period["since"]}
    refused = await client.get(
        f"/api/shops/{shop_id}/attribution", params=backwards, headers=anchor.headers
    )
    assert (refused.status_code, refused.json()["code"]) == (422, "invalid_input")
    naive = {"since": "2026-01-01T00:00:00", "until": "2026-01-02T00:00:00"}
    refused = await client.get(
        f"/api/shops/{shop_id}/attribution", params=naive, headers=anchor.headers
    )
    assert refused.status_code == 422


async def test_a_period_at_the_calendar_s_edge_is_refused_not_failed(
    client: httpx.AsyncClient, room: dict[str, Any]
) -> None:
    shop_id = (await client.get(f"/api/live/sessions/{room['session_id']}")).json()["shop_id"]
    edge = {"since": "0001-01-01T00:00:00+05:00", "until": "0001-01-02T00:00:00+05:00"}
    refused = await client.get(
        f"/api/shops/{shop_id}/attribution", params=edge, headers=room["anchor"].headers
    )
    assert (refused.status_code, refused.json()["code"]) == (422, "invalid_input")
