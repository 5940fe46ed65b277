"""Previews and notifications: RSVPs, mutes, one inbox entry a recipient when a show goes
live, written apart from the request, idempotent when run again, pushed to who is online,
its link signed with the source the visit records."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from sqlalchemy import func, select, update

from laotie.accounts.permissions import Role
from laotie.accounts.service import access_user
from laotie.core.clock import FrozenClock
from laotie.live.room.sources import resolve_source
from laotie.live.schemas import EntrySource
from laotie.live.session import service as sessions
from laotie.realtime.users import UserSocket
from laotie.traffic.models import InboxEntry, NotificationFanout
from laotie.traffic.notify import notify_go_live, resume_notifications
from tests.catalog_factories import make_shop
from tests.factories import ApiUser, sign_up


@dataclass(frozen=True)
class ComingShow:
    """An anchor with a scheduled session."""

    anchor: ApiUser
    session_id: str


async def _coming_show(client: httpx.AsyncClient, clock: FrozenClock) -> ComingShow:
    anchor = await sign_up(client, Role.SELLER, Role.ANCHOR, name="Anchor Wu", address=False)
    shop_id = await make_shop(client, anchor)
    made = await client.post(
        "/api/live/sessions",
        json={
            "shop_id": shop_id,
            "title": "Spring tea tasting",
            "scheduled_at": clock.now().isoformat(),
            "product_ids": [],
        },
        headers=anchor.headers,
    )
    assert made.status_code == 201, made.text
    return ComingShow(anchor, made.json()["id"])


async def _go_live(client: httpx.AsyncClient, app: Any, show: ComingShow) -> None:
    started = await client.post(
        f"/api/live/sessions/{show.session_id}/start", headers=show.anchor.headers
    )
    assert started.status_code == 200, started.text
    await app.state.tasks.drain()


async def _fan(client: httpx.AsyncClient, name: str) -> ApiUser:
    return await sign_up(client, Role.BUYER, name=name, address=False)


async def test_rsvp_is_idempotent_and_only_for_coming_shows(
    client: httpx.AsyncClient, clock: FrozenClock, app: Any
) -> None:
    show = await _coming_show(client, clock)
    fan = await _fan(client, "Fan")
    path = f"/api/live/sessions/{show.session_id}/rsvp"
    assert (await client.post(path)).status_code == 401
    answers = await asyncio.gather(*(client.post(path, headers=fan.headers) for _ in range(4)))
    assert {a.status_code for a in answers} == {200}
    assert answers[-1].json() == {"session_id": show.session_id, "rsvped": True, "rsvps": 1}
    assert (await client.get(path)).json()["rsvps"] == 1
    for _ in range(2):
        gone = await client.delete(path, headers=fan.headers)
        assert gone.json() == {"session_id": show.session_id, "rsvped": False, "rsvps": 0}
    missing = await client.post("/api/live/sessions/liv_none/rsvp", headers=fan.headers)
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")
    await _go_live(client, app, show)
    late = await client.post(path, headers=fan.headers)
    assert (late.status_code, late.json()["code"]) == (409, "invalid_state")


async def test_going_live_writes_one_entry_per_follower_or_rsvp_and_none_to_the_muted(
    client: httpx.AsyncClient, clock: FrozenClock, app: Any
) -> None:
    show = await _coming_show(client, clock)
    follower, rsvper, both, muted, stranger = [
        await _fan(client, name) for name in ("Follower", "Rsvper", "Both", "Muted", "Stranger")
    ]
    follow = f"/api/follows/anchor/{show.anchor.id}"
    rsvp = f"/api/live/sessions/{show.session_id}/rsvp"
    for fan in (follower, both, muted):
        assert (await client.put(follow, headers=fan.headers)).status_code == 200
    for fan in (rsvper, both, muted):
        assert (await client.post(rsvp, headers=fan.headers)).status_code == 200
    mute = f"/api/anchors/{show.anchor.id}/mute"
    assert (await client.put(mute, headers=muted.headers)).json() == {
        "anchor_id": show.anchor.id,
        "muted": True,
    }
    assert (await client.get(mute, headers=muted.headers)).json()["muted"] is True
    assert (
        await client.put(f"/api/anchors/{stranger.id}/mute", headers=muted.headers)
    ).status_code == 404

    await _go_live(client, app, show)

    expected = [(follower, "live_notification"), (rsvper, "preview_rsvp"), (both, "preview_rsvp")]
    for fan, reason in expected:
        inbox = (await client.get("/api/me/inbox", headers=fan.headers)).json()
        assert inbox["unread"] == 1
        [entry] = inbox["entries"]
        assert (entry["session_id"], entry["reason"], entry["read_at"]) == (
            show.session_id,
            reason,
            None,
        )
        assert (entry["title"], entry["anchor_name"]) == ("Spring tea tasting", "Anchor Wu")
    for fan in (muted, stranger):
        inbox = (await client.get("/api/me/inbox", headers=fan.headers)).json()
        assert inbox == {"unread": 0, "entries": []}

    read = await client.post(f"/api/me/inbox/{show.session_id}/read", headers=both.headers)
    assert read.json()["unread"] == 0
    assert read.json()["entries"][0]["read_at"] is not None
    assert (await client.post("/api/me/inbox/read", headers=follower.headers)).json()["unread"] == 0
    unknown = await client.post("/api/me/inbox/liv_none/read", headers=follower.headers)
    assert (unknown.status_code, unknown.json()["unread"]) == (200, 0)
    unmuted = await client.delete(mute, headers=muted.headers)
    assert unmuted.json()["muted"] is False


async def test_an_entrys_link_records_its_source_and_a_forged_one_records_other(
    client: httpx.AsyncClient, clock: FrozenClock, app: Any
) -> None:
    show = await _coming_show(client, clock)
    follower, rsvper = await _fan(client, "Follower"), await _fan(client, "Rsvper")
    member = await _fan(client, "Fan group member")
    await client.put(f"/api/follows/anchor/{show.anchor.id}", headers=follower.headers)
    await client.post(f"/api/live/sessions/{show.session_id}/rsvp", headers=rsvper.headers)
    await client.put(f"/api/fan-groups/{show.anchor.id}", headers=member.headers)
    await _go_live(client, app, show)
    secret = app.state.settings.secret_key
    for fan, source in (
        (follower, EntrySource.LIVE_NOTIFICATION),
        (rsvper, EntrySource.PREVIEW_RSVP),
        (member, EntrySource.FAN_GROUP),  # the fan group's notice
    ):
        [entry] = (await client.get("/api/me/inbox", headers=fan.headers)).json()["entries"]
        link = urlsplit(entry["url"])
        assert link.path == f"/live/{show.session_id}"
        [tag] = parse_qs(link.query)["src"]
        assert resolve_source(secret, show.session_id, tag) is source
        assert resolve_source(secret, "liv_another", tag) is EntrySource.OTHER
        forged = tag[:-2] + ("AA" if not tag.endswith("AA") else "BB")
        assert resolve_source(secret, show.session_id, forged) is EntrySource.OTHER
        assert resolve_source(secret, show.session_id, source.value) is EntrySource.OTHER
        page = await client.get(entry["url"])
        assert page.status_code == 200


async def test_the_fan_out_run_again_or_twice_at_once_notifies_nobody_twice(
    client: httpx.AsyncClient, clock: FrozenClock, app: Any, uow: Any
) -> None:
    app.state.settings.notify_batch_size = 2  # many batches, so that runners could overlap
    show = await _coming_show(client, clock)
    fans = [await _fan(client, f"Fan {i}") for i in range(7)]
    for fan in fans:
        await client.put(f"/api/follows/anchor/{show.anchor.id}", headers=fan.headers)
    await client.post(f"/api/live/sessions/{show.session_id}/rsvp", headers=fans[0].headers)
    pushed: list[str] = []

    async def send(text: str) -> None:
        pushed.append(text)

    async def close() -> None:
        pass

    socket = UserSocket(fans[3].id, send, close)
    await app.state.user_push.connected(socket)
    started = await client.post(
        f"/api/live/sessions/{show.session_id}/start", headers=show.anchor.headers
    )
    assert started.status_code == 200
    # Two more runners beside the one the go-live kicked: one of them holds the fan-out.
    runs = await asyncio.gather(*(notify_go_live(app.state, show.session_id) for _ in range(2)))
    await app.state.tasks.drain()

    async def counts() -> tuple[int, int, int, str]:
        async with uow() as ctx:
            rows = await ctx.db.scalar(
                select(func.count()).where(InboxEntry.session_id == show.session_id)
            )
            people = await ctx.db.scalar(
                select(func.count(func.distinct(InboxEntry.user_id))).where(
                    InboxEntry.session_id == show.session_id
                )
            )
            fanout = await ctx.db.get(NotificationFanout, show.session_id)
            assert fanout is not None
            return int(rows or 0), int(people or 0), fanout.written, fanout.state

    assert await counts() == (7, 7, 7, "done")
    assert sum(runs) in (0, 7)
    # As if a runner died after its batches: the fan-out starts over from the first user.
    async with uow() as ctx:
        await ctx.db.execute(
            update(NotificationFanout)
            .where(NotificationFanout.session_id == show.session_id)
            .values(state="running", cursor="", claimed_until=clock.now())
        )
    assert await notify_go_live(app.state, show.session_id) == 0
    assert await counts() == (7, 7, 7, "done")
    await asyncio.sleep(0.05)  # the socket's sender sends what was queued
    notices = [json.loads(text) for text in pushed if '"notification"' in text]
    assert len(notices) == 1
    assert notices[0]["data"]["session_id"] == show.session_id
    assert notices[0]["data"]["reason"] == "live_notification"
    await socket.stop()
    await app.state.user_push.disconnected(socket)


async def test_the_sweep_notifies_a_show_that_went_live_without_its_task(
    client: httpx.AsyncClient, clock: FrozenClock, app: Any, uow: Any
) -> None:
    show = await _coming_show(client, clock)
    fan = await _fan(client, "Fan")
    await client.put(f"/api/follows/anchor/{show.anchor.id}", headers=fan.headers)
    async with uow() as ctx:
        anchor = await access_user(ctx, show.anchor.id)
        await sessions.do_go_live(ctx, anchor, show.session_id)  # no task queue: nobody told
    assert await resume_notifications(app.state) == 0  # too fresh: its task may be on its way
    clock.advance(timedelta(seconds=30))
    assert await resume_notifications(app.state) == 1
    await app.state.tasks.drain()
    assert (await client.get("/api/me/inbox", headers=fan.headers)).json()["unread"] == 1
    assert await resume_notifications(app.state) == 0


async def test_a_show_nobody_follows_or_awaits_is_done_at_once_and_never_kicked_again(
    client: httpx.AsyncClient, clock: FrozenClock, app: Any, uow: Any
) -> None:
    show = await _coming_show(client, clock)
    await _go_live(client, app, show)
    async with uow() as ctx:
        fanout = await ctx.db.get(NotificationFanout, show.session_id)
        assert fanout is not None
        assert (fanout.state, fanout.written, fanout.cursor) == ("done", 0, "")
        assert fanout.finished_at == clock.now()
    clock.advance(timedelta(seconds=30))
    assert await resume_notifications(app.state) == 0
    assert await notify_go_live(app.state, show.session_id) == 0
