"""Follows: idempotent, counted, listed, feeding the following feed, and recorded at a
room's entry so that a follower's visit is private domain whatever its link says."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from sqlalchemy import select

from laotie.accounts.permissions import Role
from laotie.core.clock import FrozenClock
from laotie.live.models import Visit
from laotie.live.room.entry_writer import EntryWriter
from laotie.live.room.sources import resolve_source
from laotie.live.room.visits import Entry, do_enter
from laotie.live.schemas import EntrySource
from tests.factories import sign_up
from tests.live.sale_room import go_live


async def test_following_twice_is_following_once_and_unfollowing_is_idempotent(
    client: httpx.AsyncClient, room: dict[str, Any]
) -> None:
    anchor = room["anchor"]
    fan = await sign_up(client, Role.BUYER, name="Fan")
    path = f"/api/follows/anchor/{anchor.id}"
    assert (await client.put(path)).status_code == 401
    answers = await asyncio.gather(*(client.put(path, headers=fan.headers) for _ in range(4)))
    assert {a.status_code for a in answers} == {200}
    assert answers[-1].json() == {
        "kind": "anchor",
        "id": anchor.id,
        "following": True,
        "followers": 1,
    }
    seen = await client.get(path)
    assert (seen.json()["followers"], seen.json()["following"]) == (1, False)  # anonymous
    mine = await client.get("/api/me/following", headers=fan.headers)
    assert [(f["kind"], f["id"]) for f in mine.json()] == [("anchor", anchor.id)]
    for _ in range(2):
        gone = await client.delete(path, headers=fan.headers)
        assert (gone.status_code, gone.json()["followers"], gone.json()["following"]) == (
            200,
            0,
            False,
        )


async def test_only_anchors_and_shops_that_exist_are_followed(
    client: httpx.AsyncClient,
) -> None:
    fan = await sign_up(client, Role.BUYER, name="Fan")
    other = await sign_up(client, Role.BUYER, name="Not an anchor")
    for path in (
        f"/api/follows/anchor/{other.id}",
        "/api/follows/anchor/usr_none",
        "/api/follows/shop/shp_none",
    ):
        refused = await client.put(path, headers=fan.headers)
        assert (refused.status_code, refused.json()["code"]) == (404, "not_found"), path
    bad_kind = await client.put(f"/api/follows/planet/{other.id}", headers=fan.headers)
    assert bad_kind.status_code == 422


async def test_the_following_feed_shows_live_rooms_first_then_coming_ones(
    client: httpx.AsyncClient, clock: FrozenClock, room: dict[str, Any], app: Any
) -> None:
    fan = await sign_up(client, Role.BUYER, name="Fan")
    session = (await client.get(f"/api/live/sessions/{room['session_id']}")).json()
    other = await go_live(client, clock, "Another show", price_minor=1_000, stock=5)
    coming = await client.post(
        "/api/live/sessions",
        json={
            "shop_id": session["shop_id"],
            "title": "Tomorrow's tasting",
            "scheduled_at": "2026-02-01T12:00:00Z",
            "product_ids": [],
        },
        headers=room["anchor"].headers,
    )
    assert coming.status_code == 201, coming.text
    assert (await client.get("/api/me/following/feed", headers=fan.headers)).json() == []
    await client.put(f"/api/follows/shop/{session['shop_id']}", headers=fan.headers)
    feed = (await client.get("/api/me/following/feed", headers=fan.headers)).json()
    assert [(item["session_id"], item["status"]) for item in feed] == [
        (room["session_id"], "live"),
        (coming.json()["id"], "scheduled"),
    ]
    tag = feed[0]["url"].split("?src=")[1]
    assert feed[0]["url"].startswith(f"/live/{room['session_id']}?src=follow_feed.")
    secret = app.state.settings.secret_key
    assert resolve_source(secret, room["session_id"], tag) is EntrySource.FOLLOW_FEED
    assert other.session_id not in {item["session_id"] for item in feed}


async def _visit(uow: Any, visit_id: str) -> tuple[bool, bool, str]:
    async with uow() as ctx:
        row = (
            await ctx.db.execute(
                select(Visit.follows_anchor, Visit.private, Visit.source).where(
                    Visit.id == visit_id
                )
            )
        ).one()
    return bool(row[0]), bool(row[1]), str(row[2])


async def test_a_followers_entry_is_private_whatever_its_link_says(
    client: httpx.AsyncClient, room: dict[str, Any], uow: Any, app: Any
) -> None:
    fan = await sign_up(client, Role.BUYER, name="Fan")
    stranger = await sign_up(client, Role.BUYER, name="Stranger")
    await client.put(f"/api/follows/anchor/{room['anchor'].id}", headers=fan.headers)
    writer = EntryWriter(every_s=0.01)
    writer.start_writing(app.state)
    try:
        entries = [
            Entry(room["session_id"], fan.id, fan.id, EntrySource.RECOMMEND_FEED),
            Entry(room["session_id"], stranger.id, stranger.id, EntrySource.RECOMMEND_FEED),
        ]
        fan_visit, stranger_visit = await asyncio.gather(*(writer.enter(e) for e in entries))
    finally:
        await writer.stop_writing(app.state)
    assert await _visit(uow, str(fan_visit)) == (True, True, "recommend_feed")
    assert await _visit(uow, str(stranger_visit)) == (False, False, "recommend_feed")
    async with uow() as ctx:
        one_by_one = await do_enter(
            ctx, room["session_id"], fan.id, fan.id, EntrySource.SEARCH, False
        )
    assert await _visit(uow, one_by_one) == (True, True, "search")
    # Following halfway through a visit does not make that visit private after the fact.
    await client.put(f"/api/follows/anchor/{room['anchor'].id}", headers=stranger.headers)
    assert await _visit(uow, str(stranger_visit)) == (False, False, "recommend_feed")
