"""The demo's live show: an anchor and viewers that act through the real services."""

from __future__ import annotations

import asyncio
import logging
import os
import random
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from laotie import cli
from laotie.app import create_app
from laotie.catalog import service as catalog
from laotie.catalog.schemas import SkuOut
from laotie.core.clock import FrozenClock
from laotie.live.events import room_name
from laotie.live.models import ChatMessage, LiveSession, Visit
from laotie.live.room import chat
from laotie.live.sale import service as sales
from laotie.live.schemas import PRIVATE_SOURCES, EntrySource, SessionStatus
from laotie.live.session import service as live
from laotie.orders import coupons
from laotie.orders import queries as order_queries
from laotie.orders.schemas import OrderStatus
from laotie.realtime.events import RoomEvent, Seq
from laotie.settings import Settings
from laotie.sim import demo
from laotie.sim.bots import (
    ANCHOR_LINES,
    BOUGHT_LINES,
    FIRST_SALE_AFTER,
    SALE_FLOOR,
    SALE_LINES,
    SALE_SECONDS,
    SALE_UNITS,
    STALE_AFTER,
    VIEWER_LINES,
    LiveShow,
    Viewer,
    sale_price,
)
from laotie.sim.catalogue import BUYERS, TEA_HOUSE
from laotie.sim.seed import seed_demo
from laotie.supply import campaigns
from laotie.traffic import fan_prices, fans, follows, inbox
from laotie.traffic.schemas import Target


@pytest.fixture
async def show(app: Any, uow: Any) -> LiveShow:
    """The seeded demo world and a show of eight viewers with a fixed dice."""
    async with uow() as ctx:
        await seed_demo(ctx, history=False)  # the bots need no trust history
    return LiveShow(app.state, viewers=8, rng=random.Random(7))


def _heard(app: Any, session_id: str) -> list[RoomEvent]:
    """Return the events the room has heard so far."""
    log = app.state.live.hub.log
    return list(log.since(room_name(session_id), Seq(log.epoch, 0)))


def _events(app: Any, session_id: str) -> list[str]:
    """Return the types of the events the room has heard so far."""
    return [event.type for event in _heard(app, session_id)]


async def _session(uow: Any, session_id: str) -> LiveSession:
    async with uow() as ctx:
        return await live.load_session(ctx, session_id)


async def test_the_tea_house_goes_live_with_its_products_and_a_pin(
    app: Any, uow: Any, show: LiveShow
) -> None:
    session_id = await show.ensure_session()
    async with uow() as ctx:
        out = await live.session_out(ctx, await live.load_session(ctx, session_id))
    assert out.status == SessionStatus.LIVE
    async with uow() as ctx:
        titles = [(await catalog.product_detail(ctx, pid, None)).title for pid in out.cart]
    assert titles == [product.title for product in TEA_HOUSE.products]
    assert out.pinned_product_id == out.cart[0]
    assert out.cover_url is not None
    # The anchor opens the kiln's teapot campaign in the show, made to order.
    assert _events(app, session_id) == ["status", "campaign", "pin"]
    async with uow() as ctx:
        (campaign,) = await campaigns.campaigns_of(ctx, session_id=session_id)
    assert (campaign.status, campaign.moq, campaign.committed) == ("open", 30, 0)
    assert len(campaign.variants) == 4


async def test_starting_again_reuses_the_live_session(app: Any, uow: Any, show: LiveShow) -> None:
    first = await show.ensure_session()
    second = await LiveShow(app.state).ensure_session()
    assert second == first
    async with uow() as ctx:
        live_ones = await ctx.db.scalar(
            select(func.count()).select_from(LiveSession).where(LiveSession.status == "live")
        )
    assert live_ones == 1


async def test_a_stale_session_is_ended_and_a_fresh_one_started(
    app: Any, uow: Any, clock: FrozenClock, show: LiveShow
) -> None:
    old = await show.ensure_session()
    clock.advance(STALE_AFTER + timedelta(minutes=1))
    fresh = await LiveShow(app.state).ensure_session()
    assert fresh != old
    assert (await _session(uow, old)).status == SessionStatus.ENDED
    assert (await _session(uow, fresh)).status == SessionStatus.LIVE
    assert _events(app, old)[-1] == "status"


async def test_viewers_are_the_demo_buyers_then_anonymous_visitors(
    show: LiveShow, uow: Any
) -> None:
    session_id = await show.ensure_session()
    viewers = await show.cast_viewers()
    signed_in = [viewer for viewer in viewers if viewer.actor is not None]
    assert len(viewers) == 8
    assert sorted(v.actor.email for v in signed_in if v.actor) == sorted(b.email for b in BUYERS)
    assert all(v.viewer_key.startswith("vis_") for v in viewers if v.actor is None)
    # The fans really joined the anchor's group and follow it; a fan price and coupons await.
    anchor_id = show.anchor.id if show.anchor else ""
    async with uow() as ctx:
        for viewer in signed_in:
            assert viewer.actor is not None
            group = await fans.fan_group(ctx, viewer.actor, anchor_id)
            followed = await follows.follow_state(ctx, viewer.actor, Target.ANCHOR, anchor_id)
            assert (group.member, followed.following) == (viewer.fan, viewer.follows_anchor)
            assert followed.following or not viewer.fan
        assert len(await fan_prices.prices_of(ctx, session_id)) == 1
        assert len(await coupons.coupons_of_anchor(ctx, anchor_id, current_only=True)) == 1
    assert any(viewer.fan for viewer in signed_in)  # the seeded random draw makes some


async def test_each_bot_enters_from_a_source_chats_likes_and_buys(
    app: Any, uow: Any, show: LiveShow
) -> None:
    session_id = await show.ensure_session()
    viewers = await show.cast_viewers()
    for viewer in viewers:
        assert await show.viewer_step(viewer) == "enter"
    signed_in = [viewer for viewer in viewers if viewer.actor is not None]
    for viewer in signed_in:
        await show.viewer_step(viewer, "chat")
    liked = sum([await show.like(viewer) for viewer in viewers])
    buyer = signed_in[0]
    order_ids = await show.buy(buyer)
    assert await app.state.live.chat.flush(app.state, app.state.live.hub.publish) >= len(signed_in)

    async with uow() as ctx:
        visits = list(await ctx.db.scalars(select(Visit).where(Visit.session_id == session_id)))
        lines = list(
            await ctx.db.scalars(select(ChatMessage).where(ChatMessage.session_id == session_id))
        )
        assert buyer.actor is not None
        bought = [
            o for o in await order_queries.buyer_orders(ctx, buyer.actor) if o.id in order_ids
        ]
    assert len(visits) == len(viewers)
    assert {visit.id for visit in visits} == {viewer.visit_id for viewer in viewers}
    assert all(
        EntrySource(visit.source) == viewer.source for visit, viewer in _paired(visits, viewers)
    )
    assert {visit.user_id for visit in visits} - {None} == {
        v.actor.id for v in signed_in if v.actor
    }
    assert len(lines) >= len(signed_in)  # a buyer may say so too
    assert {line.text for line in lines} <= set(VIEWER_LINES) | set(BOUGHT_LINES)
    assert app.state.live.pending_likes[session_id] == liked

    assert len(bought) == 1
    order = bought[0]
    assert (order.channel, order.live_session_id, order.visit_id) == (
        "live",
        session_id,
        buyer.visit_id,
    )
    assert order.status == OrderStatus.PAID
    assert order.lines[0].quantity == 1
    heard = _heard(app, session_id)
    assert "chat" in [event.type for event in heard]
    bought = next(event.data for event in heard if event.type == "bought")
    assert (bought["orders"], bought["gmv_minor"], bought["quantity"]) == (
        1,
        order.total_minor,
        1,
    )
    assert bought["who"].endswith("**")
    assert "stock" in [event.type for event in heard]

    await app.state.live.flush_counters(app.state)
    assert (await _session(uow, session_id)).likes == liked


def _paired(visits: list[Visit], viewers: list[Viewer]) -> list[tuple[Visit, Viewer]]:
    by_id = {viewer.visit_id: viewer for viewer in viewers}
    return [(visit, by_id[visit.id]) for visit in visits]


async def test_heartbeats_count_watch_time(
    app: Any, uow: Any, clock: FrozenClock, show: LiveShow
) -> None:
    await show.ensure_session()
    viewer = (await show.cast_viewers())[0]
    await show.viewer_step(viewer)
    clock.advance(timedelta(seconds=20))
    assert await show.viewer_step(viewer) == "heartbeat"
    async with uow() as ctx:
        visit = await ctx.db.scalar(select(Visit).where(Visit.id == viewer.visit_id))
    assert visit is not None
    assert visit.watch_seconds == 20
    assert await app.state.live.presence.count(show.room, time.time()) == 1


async def test_a_viewer_who_leaves_comes_back_with_a_new_visit(show: LiveShow) -> None:
    await show.ensure_session()
    viewer = (await show.cast_viewers())[-1]
    await show.viewer_step(viewer)
    first = viewer.visit_id
    assert await show.viewer_step(viewer, "leave") == "leave"
    assert viewer.visit_id is None
    await show.viewer_step(viewer)
    assert viewer.visit_id not in (None, first)


async def test_the_anchor_turns_the_pin_and_stops_when_the_show_ends(
    app: Any, uow: Any, show: LiveShow
) -> None:
    session_id = await show.ensure_session()
    async with uow() as ctx:
        cart = await live.cart_of(ctx, session_id)
    assert await show.anchor_step()
    assert (await _session(uow, session_id)).pinned_product_id == cart[1]
    for _ in range(len(cart) - 1):
        assert await show.anchor_step()
    assert (await _session(uow, session_id)).pinned_product_id == cart[0]
    assert _events(app, session_id).count("pin") == len(cart) + 1

    async with uow() as ctx:
        assert show.anchor is not None
        await live.do_end(ctx, show.anchor, session_id)
    assert not await show.anchor_step()


async def test_the_anchor_puts_back_what_the_bots_took_once_it_runs_low(
    app: Any, uow: Any, show: LiveShow
) -> None:
    session_id = await show.ensure_session()
    buyer = next(v for v in await show.cast_viewers() if v.actor is not None)
    await show.enter(buyer)
    await show.buy(buyer)
    (sku_id, taken), *_ = show.taken.items()
    assert show.anchor is not None
    async with uow() as ctx:
        on_hand = (await _sku(ctx, show, sku_id)).stock
        # People bought it down to the floor: now the bots' units go back on hand.
        await catalog.do_adjust_stock(ctx, show.anchor, sku_id, 2 - on_hand)
    assert await show.anchor_step()
    async with uow() as ctx:
        assert (await _sku(ctx, show, sku_id)).stock == 2 + taken
    assert not show.taken
    assert "stock" in _events(app, session_id)


async def _sku(ctx: Any, show: LiveShow, sku_id: str) -> SkuOut:
    assert show.anchor is not None
    return await catalog.access_own_sku(ctx, show.anchor, sku_id)


async def test_bots_leave_limited_and_scarce_skus_to_people(uow: Any, show: LiveShow) -> None:
    await show.ensure_session()
    buyer = next(v for v in await show.cast_viewers() if v.actor is not None)
    await show.enter(buyer)
    bought_skus = set()
    for _ in range(4):
        await show.buy(buyer)
        bought_skus |= set(show.taken)
    async with uow() as ctx:
        for sku_id in bought_skus:
            sku = await _sku(ctx, show, sku_id)
            assert sku.per_buyer_limit is None
            assert sku.stock >= 3


async def test_the_anchor_runs_a_flash_sale_that_bots_buy_from_and_ends_it(
    app: Any, uow: Any, clock: FrozenClock, show: LiveShow
) -> None:
    session_id = await show.ensure_session()
    assert await show.flash_sale_step() is None  # not yet: the first sale comes a bit later
    clock.advance(FIRST_SALE_AFTER)
    assert await show.flash_sale_step() == "started"
    async with uow() as ctx:
        sale = await sales.running_sale_of_session(ctx, session_id)
    assert sale is not None
    assert sale.quantity == SALE_UNITS
    assert sale.price_minor == sale_price(sale.was_price_minor) < sale.was_price_minor
    assert await app.state.live.gate.left(sale.id) == SALE_UNITS
    assert "sale" in _events(app, session_id)

    buyers = [v for v in await show.cast_viewers() if v.actor is not None]
    for viewer in buyers:
        await show.enter(viewer)
        await show.buy(viewer)
    left = await app.state.live.gate.left(sale.id)
    assert left == SALE_FLOOR  # the bots left the last units to people
    async with uow() as ctx:
        assert buyers[0].actor is not None
        mine = await order_queries.buyer_orders(ctx, buyers[0].actor)
    assert mine[0].lines[0].sku_id == sale.sku_id
    assert mine[0].lines[0].unit_price_minor == sale.price_minor
    assert "sale_left" in _events(app, session_id)

    assert await show.flash_sale_step() is None  # still running
    clock.advance(timedelta(seconds=SALE_SECONDS))
    assert await show.flash_sale_step() == "ended"
    assert _events(app, session_id)[-2:] == ["sale_end", "stock"]  # the units back on the shelf
    async with uow() as ctx:
        assert await sales.running_sale_of_session(ctx, session_id) is None
    assert show.next_sale_at is not None
    assert show.next_sale_at > clock.now()


def test_flash_prices_are_below_the_thirty_day_low() -> None:
    for was in (1, 2, 99, 150, 5_000, 22_800, 59_800):
        assert 0 < sale_price(was) < was or was == 1


def test_every_line_passes_the_chat_rules(settings: Settings) -> None:
    for line in (*VIEWER_LINES, *BOUGHT_LINES, *ANCHOR_LINES, *SALE_LINES):
        assert chat.check_text(settings, line) == line


async def test_the_show_runs_on_its_own_and_stops_cleanly(
    app: Any, uow: Any, show: LiveShow, caplog: pytest.LogCaptureFixture
) -> None:
    show.pace = 0.002
    caplog.set_level(logging.WARNING, logger="laotie.sim.bots")
    session_id = await show.start()
    assert session_id is not None
    assert await show.start() == session_id  # already running: nothing new
    await asyncio.sleep(0.5)
    await show.stop()
    assert not show.on_air
    assert all(viewer.visit_id is None for viewer in show.viewers)
    assert await app.state.live.presence.count(show.room, 0.0) == 0
    async with uow() as ctx:
        entered = await ctx.db.scalar(
            select(func.count()).select_from(Visit).where(Visit.session_id == session_id)
        )
    assert entered >= len(show.viewers)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


async def test_the_show_does_not_start_without_the_demo_world(app: Any, uow: Any) -> None:
    assert await LiveShow(app.state).start() is None
    async with uow() as ctx:
        assert await ctx.db.scalar(select(func.count()).select_from(LiveSession)) == 0


async def test_the_server_runs_the_show_when_the_setting_is_on(
    settings: Settings, clock: FrozenClock, uow: Any
) -> None:
    async with uow() as ctx:
        await seed_demo(ctx, history=False)  # the bots need no trust history
    application = create_app(settings.model_copy(update={"demo_show": True}), clock=clock)
    try:
        async with application.router.lifespan_context(application):
            async with uow() as ctx:
                on_air = await live.sessions(ctx, SessionStatus.LIVE, None, 10, 0)
            assert len(on_air) == 1
    finally:
        await application.state.database.dispose()


@pytest.fixture
def demo_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, Any]:
    """Run `laotie demo` in a scratch folder with seeding and serving replaced by records."""
    monkeypatch.chdir(tmp_path)
    for name in (
        "LAOTIE_DEMO_SHOW",
        "LAOTIE_PUBLIC_URL",
        "LAOTIE_SECRET_KEY",
        "LAOTIE_PAYMENT_WEBHOOK_SECRET",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LAOTIE_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/demo.db")
    seen: dict[str, Any] = {}

    def serve(**kwargs: Any) -> None:
        seen["show"] = Settings().demo_show
        seen["variable"] = os.environ.get("LAOTIE_DEMO_SHOW")

    monkeypatch.setattr(cli, "serve", serve)
    monkeypatch.setattr(demo, "seed_database", lambda settings, passwords: None)
    monkeypatch.setattr(demo, "report", lambda seed, settings, path: "seeded")
    return seen


def test_laotie_demo_turns_the_show_on(demo_environment: dict[str, Any]) -> None:
    result = CliRunner().invoke(cli.app, ["demo", "--port", "8123"])
    assert result.exit_code == 0, result.output
    assert demo_environment == {"show": True, "variable": "true"}


def test_laotie_demo_leaves_the_show_off_when_told(
    demo_environment: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAOTIE_DEMO_SHOW", "false")
    result = CliRunner().invoke(cli.app, ["demo", "--port", "8123"])
    assert result.exit_code == 0, result.output
    assert demo_environment == {"show": False, "variable": "false"}


def test_serving_without_the_demo_leaves_the_show_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LAOTIE_DEMO_SHOW", raising=False)
    assert not Settings().demo_show


async def test_bots_come_in_honestly_and_the_next_show_is_announced_with_rsvps(
    app: Any, uow: Any, show: LiveShow, clock: Any
) -> None:
    """A stranger bot comes from the public domain, a follower from its feed or profile, and
    a bot told of the show by the room's notification comes by that notification."""
    first = await show.ensure_session()
    viewers = await show.cast_viewers()
    async with uow() as ctx:
        coming = await live.sessions(ctx, SessionStatus.SCHEDULED, None, 10, 0)
    [preview] = [s for s in coming if s.anchor_id == (show.anchor.id if show.anchor else "")]
    for viewer in viewers:
        await show.enter(viewer)
    private = {s.value for s in PRIVATE_SOURCES}
    for viewer in viewers:
        assert viewer.source is not None
        if not viewer.follows_anchor:
            assert viewer.source.value not in private, viewer
    await show.stop()
    # The preview comes due: the next show goes live on it, and its RSVPs are told.
    clock.advance(STALE_AFTER + timedelta(minutes=1))
    later = LiveShow(app.state, viewers=8, rng=random.Random(7))
    assert await later.ensure_session() == preview.id != first
    await app.state.tasks.drain()
    told = [v for v in await later.cast_viewers() if v.actor is not None]
    async with uow() as ctx:
        reasons = {
            v.actor.id: [
                e.reason
                for e in (await inbox.inbox_of(ctx, v.actor)).entries
                if e.session_id == preview.id
            ]
            for v in told
            if v.actor is not None
        }
    assert any("preview_rsvp" in r or "fan_group" in r for r in reasons.values()), reasons
    for viewer in told:
        await later.enter(viewer)
        assert viewer.actor is not None
        expected = reasons[viewer.actor.id]
        if expected:  # told of this show: it came by its notification
            assert viewer.source is not None and viewer.source.value == expected[0]
