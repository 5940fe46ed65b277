"""Entries into rooms recorded a batch at a time: a crowd in one trip, refusals one by one."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from laotie.accounts.permissions import Role
from laotie.core.clock import FrozenClock
from laotie.core.errors import AppError
from laotie.live.models import Visit
from laotie.live.room import entry_writer
from laotie.live.room.entry_writer import EntryWriter
from laotie.live.room.visits import Entry
from laotie.live.schemas import EntrySource
from tests.factories import sign_up


async def _visits_of(uow: Any, session_id: str) -> dict[str, tuple[str, bool]]:
    async with uow() as ctx:
        rows = await ctx.db.execute(
            select(Visit.id, Visit.viewer_key, Visit.private).where(Visit.session_id == session_id)
        )
        return {visit_id: (viewer, private) for visit_id, viewer, private in rows}


async def test_a_crowd_enters_in_one_batch_and_each_hears_its_own_visit(
    room: dict[str, Any], uow: Any, app: Any
) -> None:
    writer = EntryWriter(every_s=0.01)
    writer.start_writing(app.state)
    try:
        sources = [EntrySource.FOLLOW_FEED, EntrySource.RECOMMEND_FEED] * 20
        joins = [
            writer.enter(Entry(room["session_id"], f"vis_{i}", None, source))
            for i, source in enumerate(sources)
        ]
        visit_ids = await asyncio.gather(*joins)
    finally:
        await writer.stop_writing(app.state)
    assert writer.batches == 1
    assert len(set(visit_ids)) == len(sources)
    recorded = await _visits_of(uow, room["session_id"])
    assert set(recorded) == set(visit_ids)
    for i, visit_id in enumerate(visit_ids):
        # The private domain is the follow feed's, whatever came first in the batch.
        assert recorded[visit_id] == (f"vis_{i}", sources[i] == EntrySource.FOLLOW_FEED)


async def test_refusals_in_a_batch_leave_the_others_entering(
    client: httpx.AsyncClient, room: dict[str, Any], uow: Any, app: Any
) -> None:
    banned = await sign_up(client, Role.BUYER, name="Troll")
    welcome = await sign_up(client, Role.BUYER, name="Guest")
    ban = await client.post(
        f"/api/live/sessions/{room['session_id']}/moderation",
        json={"action": "ban", "user_id": banned.id},
        headers=room["anchor"].headers,
    )
    assert ban.status_code == 200
    writer = EntryWriter(every_s=60)  # written by hand below
    entries = [
        Entry(room["session_id"], banned.id, banned.id, EntrySource.SEARCH),
        Entry("ses_missing", welcome.id, welcome.id, EntrySource.SEARCH),
        Entry(room["session_id"], welcome.id, welcome.id, EntrySource.SEARCH),
    ]
    joins = [asyncio.ensure_future(writer.enter(entry)) for entry in entries]
    await asyncio.sleep(0)  # every join queued
    assert await writer.write_waiting(app.state) == 1
    answers = await asyncio.gather(*joins, return_exceptions=True)
    assert [getattr(answer, "code", None) for answer in answers] == [
        "banned",
        "not_found",
        None,
    ]
    assert list(await _visits_of(uow, room["session_id"])) == [answers[2]]


async def test_a_joiner_who_waited_too_long_is_told_busy_and_skipped(
    room: dict[str, Any], uow: Any, app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(entry_writer, "WAIT_S", 0.05)
    writer = EntryWriter(every_s=60)  # never writes on its own: the database is "away"
    with pytest.raises(AppError) as refused:
        await writer.enter(Entry(room["session_id"], "vis_late", None, EntrySource.SEARCH))
    assert (refused.value.code, refused.value.status) == ("busy", 503)
    assert await writer.write_waiting(app.state) == 0  # nobody waits for that entry any more
    assert await _visits_of(uow, room["session_id"]) == {}


async def _enter_alone(app: Any, session_id: str, user_id: str) -> str | AppError:
    writer = EntryWriter(every_s=60)  # written by hand below
    join = asyncio.ensure_future(
        writer.enter(Entry(session_id, user_id, user_id, EntrySource.SEARCH))
    )
    await asyncio.sleep(0)
    await writer.write_waiting(app.state)
    answer: str | AppError = (await asyncio.gather(join, return_exceptions=True))[0]
    return answer


async def test_a_timed_ban_lifts_at_the_door_when_its_time_is_up(
    client: httpx.AsyncClient, room: dict[str, Any], app: Any, clock: FrozenClock
) -> None:
    viewer = await sign_up(client, Role.BUYER, name="Hasty")
    ban = await client.post(
        f"/api/live/sessions/{room['session_id']}/moderation",
        json={"action": "ban", "user_id": viewer.id, "minutes": 30},
        headers=room["anchor"].headers,
    )
    assert ban.status_code == 200, ban.text
    refused = await _enter_alone(app, room["session_id"], viewer.id)
    assert getattr(refused, "code", None) == "banned"
    clock.advance(timedelta(minutes=31))
    assert isinstance(await _enter_alone(app, room["session_id"], viewer.id), str)


async def test_unban_lets_the_viewer_in_again(
    client: httpx.AsyncClient, room: dict[str, Any], app: Any
) -> None:
    viewer = await sign_up(client, Role.BUYER, name="Forgiven")
    moderation = f"/api/live/sessions/{room['session_id']}/moderation"
    body = {"action": "ban", "user_id": viewer.id}
    assert (await client.post(moderation, json=body, headers=room["anchor"].headers)).is_success
    assert getattr(await _enter_alone(app, room["session_id"], viewer.id), "code", None) == "banned"
    stranger = await sign_up(client, Role.SELLER, name="Stranger")
    unban = {"action": "unban", "user_id": viewer.id}
    assert (await client.post(moderation, json=unban, headers=stranger.headers)).status_code == 404
    lifted = await client.post(moderation, json=unban, headers=room["anchor"].headers)
    assert lifted.json() == {"result": "unban"}
    assert isinstance(await _enter_alone(app, room["session_id"], viewer.id), str)


async def test_an_anonymous_visitor_into_a_known_room_hears_its_visit_before_the_batch(
    client: httpx.AsyncClient, room: dict[str, Any], uow: Any, app: Any
) -> None:
    writer = EntryWriter(every_s=60)  # written by hand below
    session_id = room["session_id"]
    guest = await sign_up(client, Role.BUYER, name="Guest")
    # Not yet known: the first entry into the room, and any signed-in one, waits its batch.
    assert writer.enter_soon(Entry(session_id, "vis_first", None, EntrySource.SEARCH)) is None
    assert writer.enter_soon(Entry("ses_missing", "vis_x", None, EntrySource.SEARCH)) is None
    first = await _enter_with(writer, app, Entry(session_id, "vis_first", None, EntrySource.SEARCH))
    assert isinstance(first, str)
    signed_in = Entry(session_id, guest.id, guest.id, EntrySource.SEARCH)
    assert writer.enter_soon(signed_in) is None  # a ban could refuse it
    queued = writer.enter_soon(Entry(session_id, "vis_next", None, EntrySource.SHARE))
    assert queued is not None
    visit_id, answer = queued
    assert visit_id.startswith("vst_") and not answer.done()
    assert await writer.write_waiting(app.state) == 1
    assert await answer == visit_id  # recorded under the id it was told
    assert (await _visits_of(uow, session_id))[visit_id] == ("vis_next", False)


async def test_a_queued_visitor_whose_entry_is_not_recorded_in_time_is_refused_then(
    room: dict[str, Any], uow: Any, app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = EntryWriter(every_s=60)
    session_id = room["session_id"]
    await _enter_with(writer, app, Entry(session_id, "vis_first", None, EntrySource.SEARCH))
    monkeypatch.setattr(entry_writer, "WAIT_S", 0.05)
    queued = writer.enter_soon(Entry(session_id, "vis_late", None, EntrySource.SEARCH))
    assert queued is not None
    visit_id, answer = queued
    with pytest.raises(AppError) as refused:
        await answer
    assert (refused.value.code, refused.value.status) == ("busy", 503)
    assert await writer.write_waiting(app.state) == 0  # given up: not recorded after all
    assert visit_id not in await _visits_of(uow, session_id)


async def _enter_with(writer: EntryWriter, app: Any, entry: Entry) -> str | AppError:
    join = asyncio.ensure_future(writer.enter(entry))
    await asyncio.sleep(0)
    await writer.write_waiting(app.state)
    answer: str | AppError = (await asyncio.gather(join, return_exceptions=True))[0]
    return answer
