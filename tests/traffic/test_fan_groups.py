"""Fan groups: joining once, the level's formula, the daily scoring, and badges in chat."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any

import httpx
from sqlalchemy import select, update

from laotie.accounts.permissions import Actor, Role
from laotie.core.clock import FrozenClock
from laotie.live.models import ChatMessage, Visit
from laotie.live.room import chat, visits
from laotie.live.room.state import read_state
from laotie.live.schemas import EntrySource
from laotie.live.session.service import load_session
from laotie.traffic.jobs import score_fans_daily
from laotie.traffic.levels import Day, day_points, intimacy, level_of, points_for_level
from laotie.traffic.models import FanMember
from tests.factories import ApiUser, sign_up
from tests.live.sale_room import buy
from tests.orders.world import pay


async def join(client: httpx.AsyncClient, anchor_id: str, fan: ApiUser) -> httpx.Response:
    """Join the anchor's fan group through the API."""
    return await client.put(f"/api/fan-groups/{anchor_id}", headers=fan.headers)


async def test_joining_twice_is_joining_once_and_a_fan_follows_the_anchor(
    client: httpx.AsyncClient, room: dict[str, Any]
) -> None:
    anchor = room["anchor"]
    fan = await sign_up(client, Role.BUYER, name="Fan")
    answers = await asyncio.gather(*(join(client, anchor.id, fan) for _ in range(4)))
    assert {a.status_code for a in answers} == {200}, [a.text for a in answers]
    group = answers[-1].json()
    assert (group["members"], group["member"], group["level"]) == (1, True, 1)
    assert group["next_level_at"] == 50.0 and group["formula"] == "fan-level-1"
    follow = await client.get(f"/api/follows/anchor/{anchor.id}", headers=fan.headers)
    assert follow.json()["following"] is True
    members = await client.get(f"/api/fan-groups/{anchor.id}/members", headers=anchor.headers)
    assert [(m["user_id"], m["level"]) for m in members.json()] == [(fan.id, 1)]
    peek = await client.get(f"/api/fan-groups/{anchor.id}/members", headers=fan.headers)
    assert (peek.status_code, peek.json()["code"]) == (403, "forbidden")
    mine = await client.get("/api/me/fan-groups", headers=fan.headers)
    assert [g["anchor_id"] for g in mine.json()] == [anchor.id]
    for _ in range(2):
        left = await client.delete(f"/api/fan-groups/{anchor.id}", headers=fan.headers)
        assert (left.json()["members"], left.json()["member"]) == (0, False)


async def test_only_an_anchors_group_can_be_joined_and_not_ones_own(
    client: httpx.AsyncClient, room: dict[str, Any]
) -> None:
    anchor, other = room["anchor"], await sign_up(client, Role.BUYER)
    own = await join(client, anchor.id, anchor)
    assert (own.status_code, own.json()["code"]) == (422, "own_fan_group")
    nobody = await join(client, other.id, await sign_up(client, Role.BUYER))
    assert (nobody.status_code, nobody.json()["code"]) == (404, "not_found")


def test_the_level_formula_grows_with_loyalty_and_decays_when_a_fan_stays_away() -> None:
    today = date(2026, 3, 1)
    # A day: 30 minutes watched (30), present (10), ¥150 paid (15 points).
    assert day_points(Day(today, watch_seconds=1_800, paid_minor=15_000)) == 55
    assert day_points(Day(today, watch_seconds=30)) == 0.5  # under a minute: no presence
    assert day_points(Day(today, watch_seconds=10 * 3_600, paid_minor=10**9)) == 60 + 10 + 200
    assert [points_for_level(level) for level in (1, 2, 3, 10)] == [0, 50, 150, 25_550]
    assert [level_of(score) for score in (0, 49.9, 50, 150, 1_000, 10**9)] == [1, 1, 2, 3, 5, 10]
    # A regular: 40 points a day for 90 days, level 5; thirty days away halve the score.
    regular = [Day(today - timedelta(days=d), watch_seconds=1_800) for d in range(90)]
    score = intimacy(regular, today)
    assert 1_450 < score < 1_550 and level_of(score) == 5
    later = today + timedelta(days=30)
    assert abs(intimacy(regular, later) - score / 2) < score * 0.1  # the oldest fell out
    assert intimacy(regular, today + timedelta(days=91)) == 0


async def test_the_daily_job_scores_watch_time_and_purchases_in_the_anchors_rooms(
    client: httpx.AsyncClient, room: dict[str, Any], uow: Any, clock: FrozenClock, app: Any
) -> None:
    fan, idle = await sign_up(client, Role.BUYER), await sign_up(client, Role.BUYER)
    for user in (fan, idle):
        assert (await join(client, room["anchor"].id, user)).status_code == 200
    async with uow() as ctx:
        visit_id = await visits.do_enter(
            ctx, room["session_id"], fan.id, fan.id, EntrySource.FAN_GROUP, True
        )
        (await ctx.db.get(Visit, visit_id)).watch_seconds = 3_600  # an hour, capped at 60
    bought = await buy(client, room, fan)  # 9,900: 9 points
    await pay(client, fan, [bought.json()["orders"][0]["id"]])
    clock.advance(timedelta(days=1))
    assert await score_fans_daily(app.state) == 2
    assert await score_fans_daily(app.state) == 0  # once a day
    group = (await client.get(f"/api/fan-groups/{room['anchor'].id}", headers=fan.headers)).json()
    # One day: 60 watch points (an hour, capped), 10 for being there, 9 for ¥99; a day old.
    assert group["intimacy"] == round(79 * 0.5 ** (1 / 30), 2)
    assert group["level"] == 2
    clock.advance(timedelta(days=60))  # the tokens have lapsed: read the kept rows
    await score_fans_daily(app.state)
    async with uow() as ctx:
        kept = dict((await ctx.db.execute(select(FanMember.user_id, FanMember.intimacy))).all())
    assert 0 < kept[fan.id] < group["intimacy"] / 3
    assert kept[idle.id] == 0


async def test_a_fans_chat_line_wears_its_level_and_a_strangers_none(
    client: httpx.AsyncClient, room: dict[str, Any], uow: Any, app: Any
) -> None:
    fan, stranger = await sign_up(client, Role.BUYER, name="Fan"), await sign_up(client)
    await join(client, room["anchor"].id, fan)
    async with uow() as ctx:
        # A fan of level 4, as the daily job would have kept it.
        await ctx.db.execute(update(FanMember).where(FanMember.user_id == fan.id).values(level=4))
    async with uow() as ctx:
        session = await load_session(ctx, room["session_id"])
        said = await chat.do_say(
            ctx, session, Actor(fan.id, fan.email, "Fan", frozenset()), "hello"
        )
    assert said.data["fan_level"] == 4
    lines = [
        chat.new_line(app.state.settings, room["session_id"], actor, text, app.state.clock.now())
        for actor, text in (
            (Actor(fan.id, fan.email, "Fan", frozenset()), "again"),
            (Actor(stranger.id, stranger.email, "Tester", frozenset()), "who?"),
        )
    ]
    async with uow() as ctx:
        refusals, badged = await chat.check_batch(ctx, lines)
        await chat.save_lines(ctx, badged)
    assert refusals == {}
    assert [line.fan_level for line in badged] == [4, None]
    async with uow() as ctx:
        rows = await ctx.db.execute(select(ChatMessage.text, ChatMessage.fan_level))
        assert sorted(rows.all()) == [("again", 4), ("hello", 4), ("who?", None)]
        shown = await read_state(ctx, await load_session(ctx, room["session_id"]), 0)
    assert {line["text"]: line["fan_level"] for line in shown["chat"]} == {
        "hello": 4,
        "again": 4,
        "who?": None,
    }
