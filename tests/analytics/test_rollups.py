"""The rollups give the GMV identity of the raw rows, over any range of days, filled or not."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from laotie.accounts.permissions import Role
from laotie.analytics import jobs, months, rollups
from laotie.analytics.cohorts import LOOKBACK, monthly_repurchase
from laotie.analytics.facts import Period, Scope, raw_facts
from laotie.analytics.identity import Identity
from laotie.analytics.models import MonthCount, RollupFill, SaleFact, ViewerDay
from laotie.analytics.repurchase_report import purchases
from laotie.analytics.service import identity_of
from laotie.catalog.views import PageView, do_record_views
from laotie.core.clock import FrozenClock
from laotie.live.room.visits import do_enter, do_leave
from laotie.live.schemas import EntrySource
from laotie.settings import Settings
from tests.conftest import settings_for
from tests.factories import ApiUser, sign_up
from tests.live.sale_room import LiveShow, buy, go_live
from tests.orders.world import buy_and_pay, pay

DAYS = 45  # from 5 January: across the end of January
FILLED_DAYS = 35  # the rollups hold the first 35 days; the rest is read raw
SOURCES = (EntrySource.RECOMMEND_FEED, EntrySource.FOLLOW_FEED, EntrySource.SEARCH)


@pytest.fixture
def settings(database_url: str) -> Settings:
    """The test deployment's settings, with tokens that outlast the history."""
    return settings_for(database_url).model_copy(update={"token_days": 120})


@dataclass(frozen=True)
class History:
    """Forty-five days of two shops' shows, viewers, orders and shelf visitors."""

    first_day: date
    shows: list[LiveShow]
    shop_ids: list[str]
    state: Any


async def _visit(uow: Any, clock: FrozenClock, show: LiveShow, viewer: str, seconds: int) -> str:
    user = None if viewer.startswith("vis_") else viewer
    source = random.Random(viewer + str(clock.now())).choice(SOURCES)
    async with uow() as ctx:
        visit_id = await do_enter(ctx, show.session_id, viewer, user, source, False)
    clock.advance(timedelta(seconds=seconds))
    async with uow() as ctx:
        await do_leave(ctx, visit_id, seconds)
    return visit_id


async def _buy(client: httpx.AsyncClient, show: LiveShow, buyer: ApiUser, visit_id: str) -> None:
    room = {"session_id": show.session_id, "sku_id": show.product.sku_ids[0]}
    bought = await buy(client, room, buyer, visit_id=visit_id)
    assert bought.status_code == 201, bought.text
    await pay(client, buyer, [bought.json()["orders"][0]["id"]])


async def _play_day(
    client: httpx.AsyncClient,
    uow: Any,
    clock: FrozenClock,
    history: History,
    buyers: list[ApiUser],
    rng: random.Random,
) -> None:
    """One day: some visits and orders in the shows, a shelf order, shelf visitors."""
    day_start = clock.now()
    viewers = [*buyers, "vis_a", "vis_b"]
    for _ in range(3):
        viewer = rng.choice(viewers)
        show = rng.choice(history.shows)
        key = viewer if isinstance(viewer, str) else viewer.id
        visit_id = await _visit(uow, clock, show, key, rng.randrange(30, 900))
        if not isinstance(viewer, str) and rng.random() < 0.4:
            await _buy(client, show, viewer, visit_id)
    if rng.random() < 0.3:
        await buy_and_pay(client, rng.choice(buyers), [(history.shows[0].product.sku_ids[0], 1)])
    async with uow() as ctx:
        views = [
            PageView(rng.choice(history.shop_ids), f"vis_{rng.randrange(6)}", clock.now())
            for _ in range(rng.randrange(4))
        ]
        await do_record_views(ctx, views)
    # The last viewer of some days comes in before midnight and pays after it.
    late = day_start.replace(hour=23, minute=50) - clock.now()
    if rng.random() < 0.25 and late > timedelta(0):
        clock.advance(late)
        buyer = rng.choice(buyers)
        visit_id = await _visit(uow, clock, history.shows[1], buyer.id, 60)
        clock.advance(timedelta(minutes=15))
        await _buy(client, history.shows[1], buyer, visit_id)
    next_morning = (day_start + timedelta(days=1)).replace(hour=9, minute=0)
    clock.advance(next_morning - clock.now())


@pytest.fixture
async def history(client: httpx.AsyncClient, uow: Any, clock: FrozenClock, app: Any) -> History:
    """Play the days, then fill the rollups with the first of them."""
    shows = [
        await go_live(client, clock, title, price_minor=price, stock=1_000)
        for title, price in (("Tea", 4_900), ("Jade", 12_900))
    ]
    shop_ids = [
        (await client.get(f"/api/live/sessions/{show.session_id}")).json()["shop_id"]
        for show in shows
    ]
    found = History(clock.now().date(), shows, shop_ids, app.state)
    buyers = [await sign_up(client, Role.BUYER) for _ in range(5)]
    await client.put(f"/api/follows/anchor/{shows[0].anchor.id}", headers=buyers[0].headers)
    rng = random.Random(11)
    for _ in range(DAYS):
        await _play_day(client, uow, clock, found, buyers, rng)
    for offset in range(FILLED_DAYS):
        async with uow() as ctx:
            day = found.first_day + timedelta(days=offset)
            await rollups.do_fill_day(ctx, day)
            await rollups.do_mark_filled(ctx, day)
    return found


def _scopes(history: History) -> list[Scope]:
    tea, jade = history.shows
    jade_shop = history.shop_ids[1]
    return [
        Scope("shop", jade_shop, [jade.session_id], jade_shop, None, True, "CNY"),
        Scope("anchor", tea.anchor.id, [tea.session_id], None, tea.anchor.id, False, "CNY"),
        Scope("session", jade.session_id, [jade.session_id], None, None, False, "CNY"),
        Scope("platform", None, None, None, None, True, "CNY"),
    ]


def _seen(found: Identity) -> dict[str, Any]:
    return {
        "live": found.live,
        "live_total": found.live_total,
        "shelf": found.shelf,
        "tiers": found.tiers,
        "other_currencies": found.other_currencies,
    }


@hypothesis_settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=25)
@given(start=st.integers(0, DAYS - 1), length=st.integers(1, DAYS))
async def test_the_rollups_give_the_raw_rows_identity_over_any_range(
    history: History, uow: Any, start: int, length: int
) -> None:
    first = history.first_day + timedelta(days=start)
    period = Period(first, first + timedelta(days=length))
    async with uow() as ctx:
        for scope in _scopes(history):
            rolled = await identity_of(ctx, scope, period)
            raw = await identity_of(ctx, scope, period, raw=True)
            assert _seen(rolled) == _seen(raw), (scope.kind, period)
            # The rows themselves, not only what they count to: viewer for viewer.
            rolled_facts = await rollups.rolled_facts(ctx, scope, period)
            facts = await raw_facts(ctx, scope, period)
            assert set(rolled_facts.viewer_days) == set(facts.viewer_days), (scope.kind, period)
            assert set(rolled_facts.sales) == set(facts.sales), (scope.kind, period)
            assert rolled_facts.shelf_viewers == facts.shelf_viewers


async def test_a_month_from_the_rollups_alone_and_a_day_filled_again(
    history: History, uow: Any
) -> None:
    january = Period(date(2026, 1, 1), date(2026, 2, 1))  # filled through 8 February
    async with uow() as ctx:
        assert await rollups.filled_through(ctx) == history.first_day + timedelta(days=34)
        found = await identity_of(ctx, _scopes(history)[3], january)
        raw = await identity_of(ctx, _scopes(history)[3], january, raw=True)
    assert _seen(found) == _seen(raw)
    assert found.live_total.orders > 10 and found.shelf is not None and found.shelf.orders > 0
    assert found.live["private"].uv > 0 and found.live["public"].uv > 0
    assert sum(c.uv for c in found.live.values()) == found.live_total.uv

    day = history.first_day + timedelta(days=20)

    async def rows() -> tuple[int, int]:
        async with uow() as ctx:
            days = await ctx.db.scalar(select(func.count()).where(ViewerDay.day == day))
            sales = await ctx.db.scalar(select(func.count()).where(SaleFact.day == day))
            return int(days), int(sales)

    before = await rows()
    async with uow() as ctx:
        assert await rollups.do_fill_day(ctx, day) == before
    assert await rows() == before
    assert before[0] > 0


async def test_the_job_fills_the_final_days_a_run_at_a_time(
    history: History, uow: Any, clock: FrozenClock
) -> None:
    async with uow() as ctx:
        await ctx.db.execute(RollupFill.__table__.delete())
    filled = 0
    while moved := await jobs.fill_rollups(history.state):
        assert moved <= rollups.DAYS_A_RUN + months.MONTHS_A_RUN
        filled += moved
    async with uow() as ctx:
        through = await rollups.filled_through(ctx)
    assert through == clock.now().date() - timedelta(days=rollups.FINAL_AFTER_DAYS)
    # Every day, then January: the one whole month the days now hold.
    assert filled == (through - history.first_day).days + 1 + 1
    async with uow() as ctx:
        assert await months.months_filled_through(ctx) == date(2026, 1, 31)
        assert await months.months_due(ctx) == []


JANUARY = Period(date(2026, 1, 1), date(2026, 2, 1))


async def _count_january(uow: Any) -> int:
    async with uow() as ctx:
        assert await months.months_due(ctx) == [JANUARY.start]
        scopes = await months.do_fill_month(ctx, JANUARY.start)
        await months.do_mark_months_filled(ctx, JANUARY.start)
    return scopes


async def test_a_counted_month_gives_the_raw_rows_identity_and_repurchase(
    history: History, uow: Any
) -> None:
    async with uow() as ctx:
        assert await months.counted_month(ctx, _scopes(history)[0], JANUARY) is None
    assert await _count_january(uow) == 5  # the platform, two shops, two anchors
    nobody = Scope("shop", "shop_nobody", [], "shop_nobody", None, True, "CNY")
    async with uow() as ctx:
        for scope in [*_scopes(history), nobody]:
            counted = await months.counted_month(ctx, scope, JANUARY)
            raw = await identity_of(ctx, scope, JANUARY, raw=True)
            if scope.kind == "session":  # a session is never counted by month
                assert counted is None
                continue
            assert counted is not None and _seen(counted) == _seen(raw), scope.kind
            assert _seen(await identity_of(ctx, scope, JANUARY)) == _seen(raw)
        # Another period, or another currency than the month was counted in: not counted.
        fortnight = Period(JANUARY.start, JANUARY.start + timedelta(days=14))
        assert await months.counted_month(ctx, _scopes(history)[0], fortnight) is None
        euro = Scope("shop", history.shop_ids[1], [], history.shop_ids[1], None, True, "EUR")
        assert await months.counted_month(ctx, euro, JANUARY) is None
        for shop_id in [*history.shop_ids, None]:
            counted_repurchase = await months.counted_repurchase(
                ctx, shop_id, "CNY", [JANUARY.start]
            )
            since = JANUARY.since
            bought = await purchases(
                ctx, shop_id, "CNY", since - LOOKBACK, JANUARY.until, private_from=since
            )
            (raw_repurchase,) = monthly_repurchase(bought, [JANUARY.start])
            assert counted_repurchase == {JANUARY.start: raw_repurchase}
            assert raw_repurchase.buyers > 0
    assert await _count_again(uow) == 5


async def _count_again(uow: Any) -> int:
    """Count January again: the same rows, not twice as many."""

    async def rows() -> int:
        async with uow() as ctx:
            return int(await ctx.db.scalar(select(func.count()).select_from(MonthCount)))

    before = await rows()
    async with uow() as ctx:
        scopes = await months.do_fill_month(ctx, JANUARY.start)
    assert await rows() == before > 0
    return scopes


async def test_a_month_the_days_do_not_hold_yet_is_not_counted(history: History, uow: Any) -> None:
    async with uow() as ctx:
        with pytest.raises(ValueError, match="2026-02"):
            await months.do_fill_month(ctx, date(2026, 2, 1))
