"""The demo's live show: an anchor bot and viewer bots that act through the real services.

`laotie demo` turns it on (`LAOTIE_DEMO_SHOW`), so that the first room a newcomer opens
is moving: the tea house is live, its pin turns, viewers come in from the follow feed, a
search or a share, chat, like, and now and then buy something small. Every action runs
the same use-cases a person's request runs, each in its own unit of work, and the room
hears of it only after that commits. The pace is bounded (a few actions a second in all)
because on SQLite the bots share the one writer with real users.

Bots buy only SKUs without a per-buyer limit and never below `STOCK_FLOOR`, and the
anchor puts back on hand what the bots took, so a show left running for days neither
empties the shop nor takes the scarce items people come to buy.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from laotie.accounts import service as accounts
from laotie.accounts.permissions import Actor
from laotie.catalog import service as catalog
from laotie.catalog.schemas import ProductOut, SkuOut
from laotie.core.context import Ctx, unit_of_work_for
from laotie.core.errors import AppError
from laotie.core.stopping import Stop, finish
from laotie.live.errors import LiveError
from laotie.live.events import emit, room_name
from laotie.live.room import chat, visits
from laotie.live.sale import buying
from laotie.live.sale import service as sales
from laotie.live.sale.jobs import end_sale, open_sale
from laotie.live.schemas import EntrySource, SessionOut, SessionStatus
from laotie.live.session import service as live
from laotie.orders import coupons
from laotie.orders.schemas import CouponIn
from laotie.sim.c2m import open_show_campaign
from laotie.sim.catalogue import BUYERS, TEA_HOUSE, DemoShop
from laotie.sim.seed import pay_through_sandbox
from laotie.traffic import fan_prices, fans, follows, inbox
from laotie.traffic.schemas import FanPriceIn, Target

if TYPE_CHECKING:
    from laotie.live.models import LiveSession

log = logging.getLogger(__name__)

SHOW_SHOP = TEA_HOUSE
SHOW_TITLE = "老铁茶庄 今晚品茶 · Tea tasting live"
# A live session older than this, left by an earlier run, is ended and a fresh one started.
STALE_AFTER = timedelta(hours=12)
VIEWERS = 12
# The demo buyers who join the anchor's fan group, and what the show gives its fans.
FAN_SHARE = 0.5
# The next show, announced when one goes live, and the demo buyers who RSVP to it.
NEXT_SHOW_TITLE = "老铁茶庄 明晚新茶 · New-season teas, tomorrow"
NEXT_SHOW_AFTER = timedelta(hours=12)
RSVP_SHARE = 0.4
FAN_PRICE_PERCENT = 90
FAN_COUPONS = 50
FAN_COUPON_OFF_MINOR = 500
FAN_COUPON_MIN_SPEND_MINOR = 5_000
FAN_COUPON_LIFE = timedelta(days=7)

# Pauses in seconds, drawn uniformly; with 12 viewers that is about two actions a second.
ANCHOR_PAUSE_S = (25.0, 35.0)
VIEWER_PAUSE_S = (3.0, 8.0)
VIEWER_STAGGER_S = (0.0, 6.0)
ERROR_PAUSE_S = (10.0, 20.0)
STOP_GRACE_S = 10.0

# What a viewer already in the room does on its turn, by weight; the rest of the time it
# just watches. With 5 signed-in bots a purchase comes about every four minutes.
SIGNED_IN_ACTIONS = {"chat": 0.30, "like": 0.40, "buy": 0.005, "leave": 0.02}
# While the anchor's flash sale runs, signed-in bots try for it and nobody walks out.
SALE_ACTIONS = {"chat": 0.30, "like": 0.40, "buy": 0.15}
ANONYMOUS_ACTIONS = {"like": 0.45, "leave": 0.03}
LIKES_PER_BURST = (3, 20)
ANCHOR_CHAT_CHANCE = 0.4
BRAG_CHANCE = 0.5
STOCK_FLOOR = 3  # the last units are left to people

# The anchor's flash sales: a few units at a fifth off, a minute long, every few minutes.
FIRST_SALE_AFTER = timedelta(minutes=1)
SALE_EVERY_S = (240.0, 480.0)
SALE_UNITS = 8
SALE_SECONDS = 60
SALE_PRICE_PERCENT = 80
SALE_FLOOR = 6  # bots stop taking from a sale with this few units left: two of eight

# Where a bot comes from is honest: a notification in its inbox brings it by that
# notification's source; a follower else comes from its following feed or the anchor's
# profile (or from anywhere a stranger could); everybody else from the public domain.
FOLLOWER_SOURCES = {
    EntrySource.FOLLOW_FEED: 3,
    EntrySource.PROFILE: 1,
    EntrySource.SHARE: 1,
    EntrySource.RECOMMEND_FEED: 1,
}
ANONYMOUS_SOURCES = {
    EntrySource.SHARE: 2,
    EntrySource.RECOMMEND_FEED: 5,
    EntrySource.SEARCH: 2,
    EntrySource.CATEGORY: 1,
    EntrySource.OTHER: 1,
}

VIEWER_LINES = (
    "老铁666",
    "主播好",
    "这个茶多少钱?",
    "Just bought one!",
    "666666",
    "主播辛苦了",
    "上链接!",
    "好喝吗?",
    "包邮吗?",
    "第一次来, 已关注",
    "能便宜点吗?",
    "求讲解一下紫砂壶",
    "这个杯子好看",
    "老铁们冲啊",
    "❤️❤️❤️",
    "Hello from Shanghai 👋",
    "What's the difference between raw and ripe pu'er?",
    "Can you show the teapot again?",
    "主播声音好好听",
    "白茶可以放几年?",
)
BOUGHT_LINES = ("Just bought one!", "已下单", "拍了拍了", "买了, 期待到货")
ANCHOR_LINES = (
    "欢迎新来的宝宝们!",
    "点点关注不迷路",
    "这款是今年的春茶, 喝一口就知道",
    "Welcome, everyone! Ask me anything about tea.",
    "库存不多了, 喜欢的抓紧",
    "Pu'er gets better with age, just like us 😄",
    "有问题打在公屏上",
)
SALE_LINES = ("秒杀开始! 3, 2, 1, 上链接!", "Flash sale on now, only a few units!", "手慢无, 冲!")


class ShowUnavailableError(Exception):
    """The demo world the show needs is not in the database."""


@dataclass
class Viewer:
    """A bot in the audience: a demo buyer, or an anonymous visitor."""

    actor: Actor | None
    viewer_key: str
    follows_anchor: bool = False
    fan: bool = False  # in the anchor's fan group: pays the fan price where there is one
    visit_id: str | None = None
    source: EntrySource | None = None
    last_beat: datetime | None = None


class LiveShow:
    """A live session of a demo shop with its anchor and audience, run inside the server."""

    def __init__(
        self,
        state: Any,
        *,
        viewers: int = VIEWERS,
        rng: random.Random | None = None,
        pace: float = 1.0,
        shop: DemoShop = SHOW_SHOP,
    ) -> None:
        self.state = state
        self.wanted_viewers = viewers
        # Not for secrets: it only decides what a bot does next.
        self.rng = rng or random.Random()  # noqa: S311
        self.pace = pace
        self.shop = shop
        self.session_id: str | None = None
        self.anchor: Actor | None = None
        self.viewers: list[Viewer] = []
        self.on_air = False
        # Units the bots bought per SKU since the anchor last put them back on hand.
        self.taken: Counter[str] = Counter()
        self.next_sale_at: datetime | None = None
        self.sale_until: datetime | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._stop = Stop()

    # ------------------------------------------------------------ life cycle

    async def start(self) -> str | None:
        """Put the show on air and start the bots; None (and a log line) when it cannot."""
        if self._tasks:
            return self.session_id
        try:
            await self.ensure_session()
            await self.cast_viewers()
        except Exception:
            log.exception("the demo live show could not start")
            return None
        self.on_air = True
        self._stop.withdraw()
        self._tasks = [asyncio.create_task(self._anchor_forever(), name="demo-show-anchor")]
        self._tasks += [
            asyncio.create_task(self._viewer_forever(viewer), name=f"demo-show-viewer-{i}")
            for i, viewer in enumerate(self.viewers)
        ]
        log.info("demo live show on air in session %s", self.session_id)
        return self.session_id

    async def stop(self) -> None:
        """Stop every bot and take them out of the room."""
        self.on_air = False
        tasks, self._tasks = self._tasks, []
        await finish(tasks, self._stop, STOP_GRACE_S)
        for viewer in self.viewers:
            await self.leave(viewer)

    @property
    def room(self) -> str:
        """Return the realtime room of the show's session."""
        return room_name(self._session())

    # ------------------------------------------------------------ the session

    async def ensure_session(self) -> str:
        """Reuse the shop's live session, or schedule one with its products and go live."""
        async with self._unit() as ctx:
            anchor = await accounts.find_user_by_email(ctx, self.shop.seller.email)
            if anchor is None:
                raise ShowUnavailableError(f"{self.shop.seller.email} is not seeded")
            shop_id = await self._shop_id(ctx, anchor)
            session = await self._current_session(ctx, anchor, shop_id)
            if session is None:
                session = await self._go_live(ctx, anchor, shop_id)
            elif not session.cart:
                await self._fill_cart(ctx, anchor, shop_id, session.id)
        self.anchor = anchor
        self.session_id = session.id
        self.next_sale_at = self.state.clock.now() + FIRST_SALE_AFTER
        self.state.live.watch(self.room)
        return session.id

    async def _shop_id(self, ctx: Ctx, anchor: Actor) -> str:
        for shop in await catalog.shops_of_owner(ctx, anchor.id):
            if shop.name.lower() == self.shop.name.lower():
                return shop.id
        raise ShowUnavailableError(f"{self.shop.name} is not seeded")

    async def _current_session(self, ctx: Ctx, anchor: Actor, shop_id: str) -> SessionOut | None:
        """Return the anchor's live session of the shop; end it first if it is stale."""
        for session in await live.sessions(ctx, SessionStatus.LIVE, shop_id, 10, 0):
            if session.anchor_id != anchor.id:
                continue
            started = session.started_at or session.scheduled_at
            if ctx.now() - started < STALE_AFTER:
                return session
            await live.do_end(ctx, anchor, session.id)
        return None

    async def _go_live(self, ctx: Ctx, anchor: Actor, shop_id: str) -> SessionOut:
        """Go live on the preview that is due (its RSVPs are told), or on a show scheduled
        for now; pin the first product, and announce the next show."""
        products = await self._products(ctx, anchor, shop_id)
        due = await self._preview(ctx, anchor, shop_id, due_by=ctx.now())
        if due is None:
            due = await live.do_schedule(
                ctx,
                anchor,
                shop_id,
                SHOW_TITLE,
                products[0].image,
                ctx.now(),
                [p.id for p in products],
            )
        await live.do_go_live(ctx, anchor, due.id, self.state.tasks.kick_apart)
        await self._treat_fans(ctx, anchor, shop_id, due.id, products[0])
        await open_show_campaign(ctx, anchor, shop_id, due.id)
        if await self._preview(ctx, anchor, shop_id) is None:
            await live.do_schedule(
                ctx,
                anchor,
                shop_id,
                NEXT_SHOW_TITLE,
                products[0].image,
                ctx.now() + NEXT_SHOW_AFTER,
                [p.id for p in products],
            )
        return await live.do_pin(ctx, anchor, due.id, products[0].id)

    async def _preview(
        self, ctx: Ctx, anchor: Actor, shop_id: str, *, due_by: datetime | None = None
    ) -> SessionOut | None:
        """Return the anchor's next scheduled show of the shop (only one due by then, if asked)."""
        coming = await live.sessions(ctx, SessionStatus.SCHEDULED, shop_id, 10, 0)
        ours = sorted((s for s in coming if s.anchor_id == anchor.id), key=lambda s: s.scheduled_at)
        if due_by is not None:
            ours = [s for s in ours if s.scheduled_at <= due_by]
        return ours[0] if ours else None

    async def _treat_fans(
        self, ctx: Ctx, anchor: Actor, shop_id: str, session_id: str, product: Any
    ) -> None:
        """Give the show's fans a price on its first product and a coupon batch to claim."""
        detail = await catalog.product_detail(ctx, product.id, anchor)
        sku = detail.skus[0]
        price = FanPriceIn(price_minor=sku.price_minor * FAN_PRICE_PERCENT // 100)
        await fan_prices.do_set(ctx, anchor, session_id, sku.id, price)
        if not await coupons.coupons_of_anchor(ctx, anchor.id, current_only=True):
            batch = CouponIn(
                shop_id=shop_id,
                title="老铁 fans' thank-you",
                amount_off_minor=FAN_COUPON_OFF_MINOR,
                min_spend_minor=FAN_COUPON_MIN_SPEND_MINOR,
                quantity=FAN_COUPONS,
                expires_at=ctx.now() + FAN_COUPON_LIFE,
            )
            await coupons.do_issue(ctx, anchor, batch)

    async def _fill_cart(self, ctx: Ctx, anchor: Actor, shop_id: str, session_id: str) -> None:
        products = await self._products(ctx, anchor, shop_id)
        await live.do_set_cart(ctx, anchor, session_id, [p.id for p in products])

    async def _products(self, ctx: Ctx, anchor: Actor, shop_id: str) -> list[Any]:
        """Return the shop's products in the catalogue's order, any others after them."""
        page = await catalog.browse_products(ctx, anchor, shop_id=shop_id, limit=100)
        if not page.items:
            raise ShowUnavailableError(f"{self.shop.name} has no products")
        order = {product.title: i for i, product in enumerate(self.shop.products)}
        return sorted(page.items, key=lambda item: order.get(item.title, len(order)))

    # ------------------------------------------------------------ the audience

    async def cast_viewers(self) -> list[Viewer]:
        """Seat the demo buyers, then anonymous visitors, up to the number wanted.

        About half the demo buyers are the anchor's fans: they joined its fan group (and so
        follow it) through the real service, and their visits are private domain.
        """
        anchor_id = self._anchor().id
        self.viewers = []
        async with self._unit() as ctx:
            buyers = [await accounts.find_user_by_email(ctx, person.email) for person in BUYERS]
            shop_id = await self._shop_id(ctx, self._anchor())
            preview = await self._preview(ctx, self._anchor(), shop_id)
            for buyer in [b for b in buyers if b is not None][: self.wanted_viewers]:
                group = await fans.fan_group(ctx, buyer, anchor_id)
                if not group.member and self.rng.random() < FAN_SHARE:
                    group = await fans.do_join(ctx, buyer, anchor_id)
                if preview is not None and self.rng.random() < RSVP_SHARE:
                    await inbox.do_rsvp(ctx, buyer, preview.id)
                followed = await follows.follow_state(ctx, buyer, Target.ANCHOR, anchor_id)
                self.viewers.append(
                    Viewer(buyer, buyer.id, follows_anchor=followed.following, fan=group.member)
                )
        self.viewers += [
            Viewer(None, f"vis_{secrets.token_urlsafe(9)}")
            for _ in range(self.wanted_viewers - len(self.viewers))
        ]
        return self.viewers

    # ------------------------------------------------------------ the anchor's turn

    async def anchor_step(self) -> bool:
        """Pin the next product, maybe say something, restock; False once the show ended."""
        anchor = self._anchor()
        async with self._unit() as ctx:
            session = await live.load_session(ctx, self._session())
            if session.status != SessionStatus.LIVE:
                return False
            await self._pin_next(ctx, anchor, session)
            if self.rng.random() < ANCHOR_CHAT_CHANCE:
                await self._say(ctx, session, anchor, self.rng.choice(ANCHOR_LINES))
            restocked = await self._restock(ctx, anchor, session.id)
        self._after_restock(restocked)
        try:
            await self.flash_sale_step()
        except AppError as refusal:
            # The shop may not run flash sales, or its stock ran short: the show goes on.
            log.info("demo flash sale refused: %s", refusal.message)
        return True

    async def flash_sale_step(self) -> str | None:
        """End the show's sale when its time is up, or start one when it is time; say which."""
        now = self.state.clock.now()
        async with self._unit() as ctx:
            running = await sales.running_sale_of_session(ctx, self._session())
            due = running is not None and running.ends_at <= now
            sale_id = running.id if running is not None else None
        if running is not None:
            if not due or sale_id is None:
                return None
            # The periodic job ends it too; whichever comes second is refused.
            with contextlib.suppress(AppError):
                await end_sale(self.state, sale_id)
            self.next_sale_at = now + timedelta(seconds=self.rng.uniform(*SALE_EVERY_S))
            return "ended"
        if self.next_sale_at is None or now < self.next_sale_at:
            return None
        started = await self._start_sale()
        self.next_sale_at = now + timedelta(seconds=SALE_SECONDS + self.rng.uniform(*SALE_EVERY_S))
        return "started" if started else None

    async def _start_sale(self) -> bool:
        """Put a few units of a plentiful cart SKU on flash sale, as the anchor's button does."""
        anchor, runtime = self._anchor(), self.state.live
        async with self._unit() as ctx:
            session = await live.load_session(ctx, self._session())
            chosen = await self._something_small(ctx, session, spare=SALE_UNITS)
            if chosen is None:
                return False
            _, sku = chosen
            was = await catalog.lowest_regular_price(ctx, sku.id) or sku.price_minor
            info = await sales.do_start_sale(
                ctx,
                anchor,
                session.id,
                sku.id,
                sale_price(was),
                SALE_UNITS,
                1,
                SALE_SECONDS,
            )
            await self._say(ctx, session, anchor, self.rng.choice(SALE_LINES))

            async def open_gate() -> None:
                await open_sale(runtime, info)

            ctx.publish_on_commit(open_gate)
        self.sale_until = info.ends_at
        return True

    async def _pin_next(self, ctx: Ctx, anchor: Actor, session: LiveSession) -> None:
        cart = await live.cart_of(ctx, session.id)
        if not cart:
            return
        current = session.pinned_product_id
        following = cart[(cart.index(current) + 1) % len(cart)] if current in cart else cart[0]
        await live.do_pin(ctx, anchor, session.id, following)

    async def _restock(self, ctx: Ctx, anchor: Actor, session_id: str) -> dict[str, int]:
        """Put back on hand what the bots took of SKUs running low; return what was put."""
        restocked: dict[str, int] = {}
        events = []
        for sku_id, units in list(self.taken.items()):
            sku = await catalog.access_own_sku(ctx, anchor, sku_id)
            if sku.stock > STOCK_FLOOR:
                continue
            await catalog.do_adjust_stock(ctx, anchor, sku_id, units)
            restocked[sku_id] = units
            events.append(await live.stock_event(ctx, sku.product_id))
        emit(ctx, session_id, events)
        return restocked

    def _after_restock(self, restocked: dict[str, int]) -> None:
        for sku_id, units in restocked.items():
            self.taken[sku_id] -= units
            if self.taken[sku_id] <= 0:
                del self.taken[sku_id]

    # ------------------------------------------------------------ a viewer's turn

    async def viewer_step(self, viewer: Viewer, action: str | None = None) -> str:
        """Take one turn: enter, heartbeat when due, else act; return what was done."""
        if viewer.visit_id is None:
            await self.enter(viewer)
            return "enter"
        if self._heartbeat_due(viewer):
            await self.heartbeat(viewer)
            return "heartbeat"
        chosen = action or self._choose(viewer)
        actions: dict[str, Callable[[Viewer], Awaitable[object]]] = {
            "chat": self.say,
            "like": self.like,
            "buy": self.buy,
            "leave": self.leave,
        }
        if chosen in actions:
            await actions[chosen](viewer)
        return chosen

    def _choose(self, viewer: Viewer) -> str:
        weights = ANONYMOUS_ACTIONS
        if viewer.actor is not None:
            on_sale = self.sale_until is not None and self.state.clock.now() < self.sale_until
            weights = SALE_ACTIONS if on_sale else SIGNED_IN_ACTIONS
        roll = self.rng.random()
        for action, weight in weights.items():
            if roll < weight:
                return action
            roll -= weight
        return "watch"

    def _heartbeat_due(self, viewer: Viewer) -> bool:
        last = viewer.last_beat
        return last is not None and self.state.clock.now() - last >= visits.HEARTBEAT_EVERY

    async def enter(self, viewer: Viewer) -> str | None:
        """Come into the room from a source drawn at random; None if the room is closed."""
        user_id = viewer.actor.id if viewer.actor is not None else None
        async with self._unit() as ctx:
            session = await live.load_session(ctx, self._session())
            if session.status != SessionStatus.LIVE:
                return None
            if user_id is not None and await chat.is_banned(ctx, session.anchor_id, user_id):
                return None
            source = await self._source_of(ctx, viewer, session.id)
            visit_id = await visits.do_enter(
                ctx, session.id, viewer.viewer_key, user_id, source, viewer.follows_anchor
            )
        viewer.visit_id, viewer.source = visit_id, source
        viewer.last_beat = self.state.clock.now()
        await self.state.live.presence.touch(self.room, viewer.viewer_key, time.time())
        return visit_id

    async def _source_of(self, ctx: Ctx, viewer: Viewer, session_id: str) -> EntrySource:
        """Return where the viewer comes in from: its notification, its follow, or anywhere."""
        sources = FOLLOWER_SOURCES if viewer.follows_anchor else ANONYMOUS_SOURCES
        if viewer.actor is not None and not viewer.visit_id:  # a first entry reads its inbox
            for entry in (await inbox.inbox_of(ctx, viewer.actor)).entries:
                if entry.session_id == session_id:
                    await inbox.do_mark_read(ctx, viewer.actor, session_id)
                    return EntrySource(entry.reason)
        return self.rng.choices(list(sources), weights=list(sources.values()))[0]

    async def heartbeat(self, viewer: Viewer) -> int:
        """Tell the room the viewer is still watching; return the visit's watch time."""
        await self.state.live.presence.touch(self.room, viewer.viewer_key, time.time())
        async with self._unit() as ctx:
            watched = await visits.do_heartbeat(ctx, self._visit(viewer))
        viewer.last_beat = self.state.clock.now()
        return watched

    async def say(self, viewer: Viewer, text: str | None = None) -> bool:
        """Say a friendly line, within the room's chat limits; tell whether it was said."""
        if viewer.actor is None:
            return False
        runtime = self.state.live
        session_id = self._session()
        if not await runtime.chat_per_user.hit(f"{session_id}:{viewer.actor.id}"):
            return False
        if not await runtime.chat_per_room.hit(session_id):
            return False
        async with self._unit() as ctx:
            session = await live.load_session(ctx, session_id)
            await self._say(ctx, session, viewer.actor, text or self.rng.choice(VIEWER_LINES))
        return True

    async def like(self, viewer: Viewer) -> int:
        """Tap the heart a few times; the runtime coalesces the likes; return how many."""
        count = self.rng.randint(*LIKES_PER_BURST)
        self.state.live.like(self._session(), count)
        return count

    async def leave(self, viewer: Viewer) -> None:
        """Walk out of the room; the next turn comes back in, maybe from elsewhere."""
        if viewer.visit_id is None:
            return
        viewer.visit_id = viewer.last_beat = None
        if self.session_id is not None:
            await self.state.live.presence.leave(self.room, viewer.viewer_key)

    # ------------------------------------------------------------ buying

    async def buy(self, viewer: Viewer) -> list[str]:
        """Buy one unit in the room (the flash sale's SKU while one runs) and pay for it.

        The order goes through the room's own buying path, the one behind
        `POST /api/live/sessions/{id}/orders`: the sale's gate when a sale of the SKU runs,
        the live channel and the visit, and the room's `bought` event. Returns the orders.
        """
        buyer = viewer.actor
        if buyer is None or viewer.visit_id is None:
            return []
        choice = await self._something_to_buy()
        if choice is None:
            return []
        _, sku_id = choice
        key = f"demo-show-{secrets.token_hex(8)}"
        fan_price = viewer.fan and await self._has_fan_price(sku_id)
        checkout = await buying.buy_in_room(
            self.state, buyer, self._session(), sku_id, 1, viewer.visit_id, key, fan_price=fan_price
        )
        order_ids = [order.id for order in checkout.orders]
        async with self._unit() as ctx:
            # The room already heard the new stock from the buying path.
            await pay_through_sandbox(ctx, buyer, order_ids)
        self.taken[sku_id] += 1
        if self.rng.random() < BRAG_CHANCE:
            with contextlib.suppress(AppError):
                await self.say(viewer, self.rng.choice(BOUGHT_LINES))
        return order_ids

    async def _has_fan_price(self, sku_id: str) -> bool:
        """Tell whether a SKU has a fan price in the show and no flash sale running."""
        async with self._unit() as ctx:
            if await sales.running_sale(ctx, self._session(), sku_id) is not None:
                return False
            prices = await fan_prices.prices_of(ctx, self._session())
        return any(price.sku_id == sku_id for price in prices)

    async def _something_to_buy(self) -> tuple[str, str] | None:
        """Return (product, SKU): the running sale's while it has units to spare, else small."""
        async with self._unit() as ctx:
            session = await live.load_session(ctx, self._session())
            if session.status != SessionStatus.LIVE:
                return None
            sale = await sales.running_sale_of_session(ctx, session.id)
            if sale is not None and sale.ends_at > ctx.now():
                left = await self.state.live.gate.left(sale.id)
                if left is not None and left > SALE_FLOOR:
                    return sale.product_id, sale.sku_id
            # A SKU on sale is bought through its gate whatever the bot meant: leave it be.
            on_sale = {sale.sku_id} if sale is not None else set()
            small = await self._something_small(ctx, session, avoid=on_sale)
        return None if small is None else (small[0].id, small[1].id)

    async def _something_small(
        self,
        ctx: Ctx,
        session: LiveSession,
        spare: int = 1,
        avoid: Collection[str] = (),
    ) -> tuple[ProductOut, SkuOut] | None:
        """Return the cheapest plentiful SKU of the pinned product, else of the whole cart."""
        cart = await live.cart_of(ctx, session.id)
        pinned = [session.pinned_product_id] if session.pinned_product_id in cart else []
        for product_ids in (pinned, cart):
            found = [
                (product, sku)
                for product in [await catalog.product_detail(ctx, pid, None) for pid in product_ids]
                for sku in _plentiful(product.skus, spare)
                if sku.id not in avoid
            ]
            if found:
                return min(found, key=lambda pair: pair[1].price_minor)
        return None

    # ------------------------------------------------------------ the loops

    async def _anchor_forever(self) -> None:
        while self.on_air:
            await self._pause(ANCHOR_PAUSE_S)
            if not self.on_air:
                break
            try:
                still_live = await self.anchor_step()
            except AppError as refusal:
                log.info("demo anchor refused: %s", refusal.message)
                continue
            except Exception:
                log.exception("demo anchor failed")
                await self._pause(ERROR_PAUSE_S)
                continue
            if not still_live:
                log.info("demo live show ended by its anchor")
                self.on_air = False
                self._stop.request()

    async def _viewer_forever(self, viewer: Viewer) -> None:
        await self._pause(VIEWER_STAGGER_S)
        while self.on_air:
            try:
                await self.viewer_step(viewer)
            except AppError as refusal:
                # Muted, out of stock, the room closed: what a person would be told too.
                log.debug("demo viewer refused: %s", refusal.message)
            except Exception:
                log.exception("demo viewer failed")
                await self._pause(ERROR_PAUSE_S)
            await self._pause(VIEWER_PAUSE_S)
        await self.leave(viewer)

    async def _pause(self, bounds: tuple[float, float]) -> None:
        """Wait a random while, or until the show stops."""
        await self._stop.pause(self.rng.uniform(*bounds) * self.pace)

    # ------------------------------------------------------------ plumbing

    def _unit(self) -> contextlib.AbstractAsyncContextManager[Ctx]:
        return unit_of_work_for(self.state)

    async def _say(self, ctx: Ctx, session: LiveSession, speaker: Actor, text: str) -> None:
        """Have someone say a line; it joins the chat's next batch once the unit commits."""
        line = await chat.check_line(ctx, session, speaker, text)
        writer = self.state.live.chat

        async def queue() -> None:
            writer.add(line)

        ctx.publish_on_commit(queue)

    def _session(self) -> str:
        if self.session_id is None:
            raise AppError.of(LiveError.NOT_LIVE, "the demo show is not on air")
        return self.session_id

    def _anchor(self) -> Actor:
        if self.anchor is None:
            raise AppError.of(LiveError.NOT_LIVE, "the demo show is not on air")
        return self.anchor

    @staticmethod
    def _visit(viewer: Viewer) -> str:
        if viewer.visit_id is None:
            raise AppError.of(LiveError.NOT_LIVE, "the viewer is not in the room")
        return viewer.visit_id


def _plentiful(skus: Sequence[SkuOut], spare: int = 1) -> list[SkuOut]:
    """Return the SKUs bots may take `spare` units of: not limited per buyer, above the floor."""
    return [
        sku
        for sku in skus
        if sku.active and sku.per_buyer_limit is None and sku.stock >= STOCK_FLOOR + spare
    ]


def sale_price(was_minor: int) -> int:
    """Return a flash price a fifth below the 30-day low, in whole yuan when it can be."""
    price = was_minor * SALE_PRICE_PERCENT // 100
    return price // 100 * 100 or price or 1


def masked(name: str) -> str:
    """Return a buyer's name as a room shows it to everyone: its first letter only."""
    first = name.strip()[:1] or "?"
    return f"{first}**"
