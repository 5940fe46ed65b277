"""The recommendation feed: new rooms get explored, trust decides public reach, penalty points
bar it (but not from followers), the GMV-only policy ignores trust, and impressions and
entries are logged."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import func, select

from laotie.accounts.permissions import Actor, Role
from laotie.core.clock import FrozenClock
from laotie.live.room.audience import LiveRoom
from laotie.live.room.sources import resolve_source
from laotie.live.room.visits import do_enter
from laotie.live.schemas import EntrySource
from laotie.traffic.models import FeedImpression, FeedRoomCount
from laotie.traffic.recommend import Candidate, board_of, rank, recommend
from laotie.traffic.schemas import FeedPolicy
from laotie.trust import penalties
from laotie.trust.models import ShopScore
from tests.factories import sign_up
from tests.live.sale_room import LiveShow, go_live


async def _show(client: httpx.AsyncClient, clock: FrozenClock, title: str) -> LiveShow:
    return await go_live(client, clock, title, price_minor=5_000, stock=50)


async def _shop_of(client: httpx.AsyncClient, show: LiveShow) -> str:
    return str((await client.get(f"/api/live/sessions/{show.session_id}")).json()["shop_id"])


async def _keep_score(uow: Any, shop_id: str, value: float) -> None:
    """Keep a daily score for a shop, as the trust job would."""
    async with uow() as ctx:
        ctx.db.add(
            ShopScore(
                shop_id=shop_id,
                day=ctx.now().date(),
                score=value,
                tier="test",
                new=False,
                buyers=100,
                dimensions=[],
                formula_version="test",
                computed_at=ctx.now(),
            )
        )


async def _feed(uow: Any, viewer: Actor | None, key: str, seed: int, **kw: Any) -> list[Any]:
    async with uow() as ctx:
        found = await recommend(ctx, viewer, key, rng=random.Random(seed), **kw)
    return found.out.items


def _candidate(name: str, impressions: int, entries: int, orders: int) -> Candidate:
    """A live room whose every visit watched two minutes, each order worth 100.00."""
    visits = max(entries, 1)
    room = LiveRoom(name, "usr_a", "shp_a", name, None, None, "food", visits, 120 * visits, entries)
    return Candidate(room, impressions, orders, 10_000 * orders, 1.0, False)


def test_a_new_room_is_explored_beside_an_established_better_one() -> None:
    # 400 impressions, one in five entered, three orders: the known room is sure of its
    # figures; the new room has the platform's for a prior, worth only 20 impressions, so
    # its draws spread wide around them and now and then beat the known room's.
    known, new = _candidate("known", 400, 80, 3), _candidate("new", 0, 0, 0)
    board = board_of(datetime(2026, 1, 5, tzinfo=UTC), [known, new])
    rng = random.Random(7)
    firsts = Counter(
        rank(board, [], {"food": 1.0}, FeedPolicy.TRUST, rng, 1)[0][0].room.session_id
        for _ in range(500)
    )
    assert firsts["known"] > firsts["new"] >= 25  # mostly the better room, yet explored


async def test_rooms_below_the_trust_floor_get_no_impressions_unless_trust_is_ignored(
    client: httpx.AsyncClient, clock: FrozenClock, uow: Any
) -> None:
    good = await _show(client, clock, "Trusted")
    poor = await _show(client, clock, "Distrusted")
    await _keep_score(uow, await _shop_of(client, good), 4.8)
    await _keep_score(uow, await _shop_of(client, poor), 3.9)  # under the floor of 4.0
    seen: Counter[str] = Counter()
    for seed in range(30):
        for item in await _feed(uow, None, "vis_a", seed, policy=FeedPolicy.TRUST):
            seen[item.session_id] += 1
    assert seen == Counter({good.session_id: 30})
    gmv_only = await _feed(uow, None, "vis_a", 1, policy=FeedPolicy.GMV)
    assert {item.session_id for item in gmv_only} == {good.session_id, poor.session_id}
    assert all(item.why.trust_multiplier == 1.0 for item in gmv_only)


async def test_trust_scales_a_rooms_value_by_g(
    client: httpx.AsyncClient, clock: FrozenClock, uow: Any
) -> None:
    show = await _show(client, clock, "Scored")
    await _keep_score(uow, await _shop_of(client, show), 5.0)
    trusted = (await _feed(uow, None, "vis_a", 3, policy=FeedPolicy.TRUST))[0].why
    plain = (await _feed(uow, None, "vis_a", 3, policy=FeedPolicy.GMV))[0].why
    assert trusted.trust_multiplier == 2.0  # 2 ** ((5.0 - 4.5) / 0.5)
    assert trusted.value == plain.value * 2.0  # the same draw, doubled


async def test_points_that_bar_public_traffic_hide_a_room_from_strangers_not_followers(
    client: httpx.AsyncClient, clock: FrozenClock, uow: Any
) -> None:
    barred = await _show(client, clock, "Barred")
    other = await _show(client, clock, "Other")
    shop_id = await _shop_of(client, barred)
    async with uow() as ctx:
        for kind in (
            penalties.ViolationKind.COUNTERFEIT,
            penalties.ViolationKind.OFF_PLATFORM_TRADING,
        ):
            await penalties.record_violation(
                ctx, shop_id, kind, source="test", dedupe_key=kind.value, evidence={}, actor_id=None
            )
    fan = await sign_up(client, Role.BUYER, name="Fan")
    await client.put(f"/api/follows/anchor/{barred.anchor.id}", headers=fan.headers)
    for policy in FeedPolicy:  # the rules' bar holds under both policies
        strangers = await _feed(uow, None, "vis_b", 1, policy=policy)
        assert [item.session_id for item in strangers] == [other.session_id]
    answer = await client.get("/api/feed", headers=fan.headers)
    items = answer.json()["items"]
    assert (items[0]["session_id"], items[0]["reason"]) == (barred.session_id, "following")
    assert items[0]["source"] == "follow_feed"
    assert [i["session_id"] for i in items[1:]] == [other.session_id]


async def test_the_feed_logs_its_impressions_and_links_with_the_recommend_feed_source(
    client: httpx.AsyncClient, clock: FrozenClock, uow: Any, app: Any
) -> None:
    show = await _show(client, clock, "Logged")
    viewer = await sign_up(client, Role.BUYER, name="Viewer")
    answer = await client.get("/api/feed?limit=5", headers=viewer.headers)
    assert answer.status_code == 200
    body = answer.json()
    assert body["policy"] == "trust"
    [item] = body["items"]
    assert (item["reason"], item["source"]) == ("recommended", "recommend_feed")
    tag = item["url"].split("src=")[1]
    assert resolve_source("test-secret-key-not-for-production", show.session_id, tag) == (
        EntrySource.RECOMMEND_FEED
    )
    assert set(item["why"]) >= {"p_enter", "watch_seconds", "trust_multiplier", "affinity"}
    await client.get("/api/feed")  # anonymous, no visitor cookie
    assert await app.state.impressions.write_waiting(app.state) == 2
    async with uow() as ctx:
        rows = (
            await ctx.db.execute(select(FeedImpression.viewer_key, FeedImpression.position))
        ).all()
        count = await ctx.db.get(FeedRoomCount, show.session_id)
    assert sorted(rows) == [("anonymous", 0), (viewer.id, 0)]
    assert count is not None and count.impressions == 2
    assert (await client.get("/api/feed?limit=0")).status_code == 422


async def test_a_viewer_who_watched_a_category_sees_its_rooms_valued_higher(
    client: httpx.AsyncClient, clock: FrozenClock, uow: Any
) -> None:
    food = await go_live(client, clock, "Food", price_minor=5_000, stock=5, category="food")
    shirts = await _show(client, clock, "Shirts")
    async with uow() as ctx:  # the platform watched both alike; one viewer only the food
        for i in range(6):
            await do_enter(ctx, food.session_id, "vis_fan", None, EntrySource.OTHER, False)
            await do_enter(ctx, shirts.session_id, f"vis_{i}", None, EntrySource.OTHER, False)
    fan = {i.session_id: i.why.affinity for i in await _feed(uow, None, "vis_fan", 5)}
    cold = {i.session_id: i.why.affinity for i in await _feed(uow, None, "vis_new", 5)}
    assert cold == {food.session_id: 0.5, shirts.session_id: 0.5}  # the platform's taste
    # (6 visits + 5 × 0.5) / (6 + 5), and the prior's 5 × 0.5 / 11 for the shirts.
    assert fan == {food.session_id: round(8.5 / 11, 6), shirts.session_id: round(2.5 / 11, 6)}
    async with uow() as ctx:
        impressions = await ctx.db.scalar(select(func.count()).select_from(FeedImpression))
    assert impressions == 0  # the service leaves writing the impressions to its caller
