"""Flash sales: units leave the SKU's stock when a sale starts and sell only through its gate.

DESIGN.md, "Inventory and flash sales": the sale's units move from on hand to `in_sale` in
one conditional UPDATE when it starts; a buyer's take goes through the gate (in-process,
or a Redis Lua script shared by workers), which records the idempotency key with its
units, so a retry never takes a second unit and a sold-out answer touches no database.
The order then moves the units from `in_sale` to `reserved` with a conditional UPDATE, the
database's own guard: a gate that drifted can cause a refusal, never an oversell. An
unpaid sale order that expires gives its units back to the sale (orders move them to
`in_sale`, and `sync_sale` hands them to the gate) while the sale runs; when it ends,
whatever the sale still holds goes back on hand. Invariant, whenever the sale is idle:
quantity = left in gate + in flight + reserved + sold (+ refunded units, back on hand).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Connection, Select, or_, select

from laotie.accounts.permissions import Actor
from laotie.affiliate import pool
from laotie.catalog import service as catalog
from laotie.catalog import stock
from laotie.catalog.schemas import SkuOut
from laotie.core.context import Ctx
from laotie.core.errors import AppError, not_found
from laotie.core.ids import new_id
from laotie.live.errors import LiveError
from laotie.live.events import RoomEventType, emit
from laotie.live.models import FlashSale, LiveCartItem, LiveSession
from laotie.live.sale.gate import CommittedKey, Count, SaleGate
from laotie.live.schemas import SessionStatus
from laotie.live.session.service import (
    access_own_session,
    cart_of,
    load_session,
    stock_event,
    stock_event_of,
)
from laotie.orders import sale_orders as sale_orders
from laotie.realtime.events import RoomEvent
from laotie.settings import Settings
from laotie.trust import privileges

RoomEvents = list[RoomEvent]
RUNNING = "running"
ENDED = "ended"
MAX_DURATION = timedelta(hours=2)


@dataclass(frozen=True, slots=True)
class SaleInfo:
    """What a buy in the room needs to know of a running sale, without the database."""

    sale_id: str
    session_id: str
    sku_id: str
    product_id: str
    title: str
    price_minor: int
    was_price_minor: int
    currency: str
    quantity: int
    per_buyer_limit: int
    ends_at: datetime
    shop_id: str = ""
    anchor_id: str = ""
    commission_bps: int = 0  # a pool product's rate when the sale started

    def commissions(self) -> dict[str, int]:
        """Return the commission rate its orders' line carries, by product (none: its own)."""
        return {self.product_id: self.commission_bps} if self.commission_bps else {}

    def event(self, left: int, version: int = 0) -> RoomEvent:
        """Return the room event that shows this sale (`version`: of `left`, see the gate)."""
        return RoomEvent(
            RoomEventType.SALE,
            {
                "sale_id": self.sale_id,
                "sku_id": self.sku_id,
                "product_id": self.product_id,
                "title": self.title,
                "price_minor": self.price_minor,
                "was_price_minor": self.was_price_minor,
                "currency": self.currency,
                "quantity": self.quantity,
                "left": left,
                "version": version,
                "per_buyer_limit": self.per_buyer_limit,
                "ends_at": self.ends_at.isoformat(),
            },
            priority=True,
        )


def left_event(sale_id: str, count: Count) -> RoomEvent:
    """Return the coalesced 'units left' event; sold out is never dropped.

    It carries the count's version: a room keeps the newest count it has seen, so an
    announcement that reaches the log late (another worker's) cannot undo a newer one.
    """
    return RoomEvent(
        RoomEventType.SALE_LEFT,
        {"sale_id": sale_id, "left": count.left, "version": count.version},
        priority=count.left == 0,
        coalesce=f"sale:{sale_id}",
    )


# Reads the running sale; given the stale answer, it may only check that it still runs.
SaleLoader = Callable[["SaleInfo | None"], Awaitable["SaleInfo | None"]]


@dataclass
class SaleBook:
    """Running sales by (session, SKU), cached for a moment so that hot buys skip the database.

    When an entry goes stale under a crowd, one request reads the database again while the
    others go on with the stale answer (the gate refuses a sale that has closed meanwhile),
    rather than every buyer queueing for the same read at once.
    """

    ttl_s: float = 2.0
    _entries: dict[tuple[str, str], tuple[float, SaleInfo | None]] = field(default_factory=dict)
    _reading: dict[tuple[str, str], asyncio.Future[SaleInfo | None]] = field(default_factory=dict)
    _generation: dict[tuple[str, str], int] = field(default_factory=dict)

    def get(self, session_id: str, sku_id: str) -> tuple[bool, SaleInfo | None]:
        """Return (known, sale): known is False when the cache has nothing fresh."""
        entry = self._entries.get((session_id, sku_id))
        if entry is None or entry[0] < time.monotonic():
            return False, None
        return True, entry[1]

    async def lookup(self, session_id: str, sku_id: str, load: SaleLoader) -> SaleInfo | None:
        """Return the running sale: fresh, or stale while one read refreshes it, or read."""
        key = (session_id, sku_id)
        entry = self._entries.get(key)
        if entry is not None and entry[0] >= time.monotonic():
            return entry[1]
        reading = self._reading.get(key)
        if reading is None:
            before = None if entry is None else entry[1]
            reading = asyncio.ensure_future(self._read(key, load, before))
            # Callers on the stale answer never await it: its failure is not theirs.
            reading.add_done_callback(lambda done: done.cancelled() or done.exception())
            self._reading[key] = reading
        if entry is not None:
            return entry[1]
        return await asyncio.shield(reading)

    async def _read(
        self, key: tuple[str, str], load: SaleLoader, before: SaleInfo | None
    ) -> SaleInfo | None:
        generation = self._generation.get(key, 0)
        try:
            sale = await load(before)
        finally:
            self._reading.pop(key, None)
        if self._generation.get(key, 0) == generation:  # not forgotten while it read
            self.put(*key, sale)
        return sale

    def put(self, session_id: str, sku_id: str, sale: SaleInfo | None) -> None:
        """Remember the running sale of a SKU in a session (or that there is none)."""
        self._entries[(session_id, sku_id)] = (time.monotonic() + self.ttl_s, sale)

    def forget(self, session_id: str, sku_id: str) -> None:
        """Drop a cached answer (the sale started or ended here)."""
        key = (session_id, sku_id)
        self._entries.pop(key, None)
        self._generation[key] = self._generation.get(key, 0) + 1

    def find(self, sale_id: str) -> SaleInfo | None:
        """Return a running sale by its id, if a fresh entry holds it."""
        now = time.monotonic()
        for expires, sale in self._entries.values():
            if sale is not None and sale.sale_id == sale_id and expires >= now:
                return sale
        return None

    def known_sales(self) -> list[SaleInfo]:
        """Return the sales this process has seen running lately."""
        return [sale for _, sale in self._entries.values() if sale is not None]


async def check_flash_sale_privilege(ctx: Ctx, shop_id: str) -> None:
    """Refuse flash sales to shops whose experience score is below the floor."""
    refusal = await privileges.flash_sale_refusal(ctx, shop_id)
    if refusal is not None:
        raise AppError.of(LiveError.FLASH_SALES_NOT_ALLOWED, refusal)


def info_of(sale: FlashSale, title: str, currency: str, shop_id: str, anchor_id: str) -> SaleInfo:
    """Return the cacheable view of a sale row."""
    return SaleInfo(
        sale_id=sale.id,
        session_id=sale.session_id,
        sku_id=sale.sku_id,
        product_id=sale.product_id,
        title=title,
        price_minor=sale.price_minor,
        was_price_minor=sale.was_price_minor,
        currency=currency,
        quantity=sale.quantity,
        per_buyer_limit=sale.per_buyer_limit,
        ends_at=sale.ends_at,
        shop_id=shop_id,
        anchor_id=anchor_id,
        commission_bps=sale.commission_bps,
    )


async def do_start_sale(
    ctx: Ctx,
    anchor: Actor,
    session_id: str,
    sku_id: str,
    price_minor: int,
    quantity: int,
    per_buyer_limit: int,
    duration_s: int,
) -> SaleInfo:
    """Start a flash sale of a cart product's SKU: its units leave the stock in one UPDATE."""
    session = await access_own_session(ctx, anchor, session_id)
    if session.status != SessionStatus.LIVE:
        raise AppError.of(LiveError.NOT_LIVE, "go live before starting a flash sale")
    sku, commission_bps = await _sku_to_sell(ctx, session, sku_id)
    await check_flash_sale_privilege(ctx, sku.shop_id)
    if sku.product_id not in await cart_of(ctx, session.id):
        raise AppError.of(LiveError.PRODUCT_NOT_IN_CART, "put the product in the cart first")
    if await running_sale_of_session(ctx, session.id) is not None:
        raise AppError.of(LiveError.SALE_RUNNING, "end the running flash sale first")
    was = await catalog.lowest_regular_price(ctx, sku_id) or sku.price_minor
    if price_minor >= was:
        raise AppError.of(
            LiveError.PRICE_NOT_BELOW_WAS,
            f"a flash price must be below the lowest price of the last 30 days ({was})",
        )
    if not await stock.move_units(
        ctx, sku_id, quantity, stock.Bucket.ON_HAND, stock.Bucket.IN_SALE
    ):
        raise AppError.of(LiveError.INSUFFICIENT_STOCK, f"only {sku.stock} units on hand")
    now = ctx.now()
    sale = FlashSale(
        id=new_id("fls"),
        session_id=session.id,
        sku_id=sku_id,
        product_id=sku.product_id,
        price_minor=price_minor,
        was_price_minor=was,
        quantity=quantity,
        per_buyer_limit=per_buyer_limit,
        status=RUNNING,
        started_at=now,
        ends_at=now + min(timedelta(seconds=duration_s), MAX_DURATION),
        returned_units=0,
        commission_bps=commission_bps,
    )
    ctx.db.add(sale)
    await ctx.db.flush()
    product = await catalog.product_detail(ctx, sku.product_id, None)
    emit(ctx, session.id, [stock_event_of(product)])  # the sale's units left the shelf
    return info_of(sale, product.title, sku.currency, product.shop_id, session.anchor_id)


async def _sku_to_sell(ctx: Ctx, session: LiveSession, sku_id: str) -> tuple[SkuOut, int]:
    """Return a SKU the room may put on flash sale, and the commission its sale pays.

    The room's own shop's SKU pays none; a pool product's needs its shop's consent to
    flash sales and pays the rate in force now, for the whole sale.
    """
    sku = await catalog.sku_detail(ctx, sku_id)
    if sku.shop_id == session.shop_id:
        return sku, 0
    terms = (await pool.selling_terms(ctx, session.anchor_id, [sku.product_id])).get(sku.product_id)
    if terms is None:
        raise pool.not_approved(sku.product_id)
    if not terms.flash_sales:
        raise AppError.of(
            LiveError.FLASH_SALES_NOT_ALLOWED,
            "the shop that sells this product does not allow flash sales of it",
        )
    return sku, terms.commission_bps


async def running_sale_of_session(ctx: Ctx, session_id: str) -> FlashSale | None:
    """Return the session's running sale, if any."""
    found: FlashSale | None = await ctx.db.scalar(
        select(FlashSale).where(FlashSale.session_id == session_id, FlashSale.status == RUNNING)
    )
    return found


async def running_sale(ctx: Ctx, session_id: str, sku_id: str) -> SaleInfo | None:
    """Return the running sale of a SKU in a session, if any."""
    sale = await ctx.db.scalar(
        select(FlashSale).where(
            FlashSale.session_id == session_id,
            FlashSale.sku_id == sku_id,
            FlashSale.status == RUNNING,
            _in_cart(),
        )
    )
    return None if sale is None else await _info(ctx, sale)


async def _info(ctx: Ctx, sale: FlashSale) -> SaleInfo:
    """Return the cacheable view of a sale, with its product's title, currency and shop."""
    product = await catalog.product_detail(ctx, sale.product_id, None)
    currency = next(
        (s.currency for s in product.skus if s.id == sale.sku_id), ctx.settings.currency
    )
    session = await load_session(ctx, sale.session_id)
    return info_of(sale, product.title, currency, product.shop_id, session.anchor_id)


async def sale_info(ctx: Ctx, sale_id: str) -> tuple[SaleInfo, bool]:
    """Return a sale's terms and whether it still runs."""
    sale = await ctx.db.get(FlashSale, sale_id)
    if sale is None:
        raise not_found("flash sale")
    return await _info(ctx, sale), sale.status == RUNNING


async def still_running(ctx: Ctx, sale_id: str) -> bool:
    """Tell whether a sale still runs with its product in the cart, in one small statement."""
    status = await ctx.db.scalar(
        select(FlashSale.status).where(FlashSale.id == sale_id, _in_cart())
    )
    return status == RUNNING


def _in_cart() -> ColumnElement[bool]:
    # A product taken out of the cart is no longer sold in the room, even at a running sale.
    return (
        select(LiveCartItem.product_id)
        .where(
            LiveCartItem.session_id == FlashSale.session_id,
            LiveCartItem.product_id == FlashSale.product_id,
        )
        .exists()
    )


async def load_sale(ctx: Ctx, sale_id: str) -> FlashSale:
    """Return a sale, locked for update."""
    sale = await ctx.db.scalar(select(FlashSale).where(FlashSale.id == sale_id).with_for_update())
    if sale is None:
        raise not_found("flash sale")
    return sale


async def lock_sale_for_orders(ctx: Ctx, sale_id: str) -> None:
    """Lock a sale's row: its order writers and its reconciler take turns on it.

    PostgreSQL holds the row lock to the commit, so a reconciler that asks which keys have
    an order sees every batch committed before it, and a batch that locks after it sees
    the reconciler's clock (see `writer.stale`).
    """
    if not ctx.settings.is_sqlite:
        await ctx.db.execute(_sale_row_lock(sale_id))


def lock_sale_for_orders_sync(connection: Connection, settings: Settings, sale_id: str) -> None:
    """`lock_sale_for_orders` on a synchronous connection (a batch run in one go)."""
    if not settings.is_sqlite:
        connection.execute(_sale_row_lock(sale_id))


def _sale_row_lock(sale_id: str) -> Select[str]:
    # On SQLite every transaction already takes its turn on the process's write lock.
    return select(FlashSale.id).where(FlashSale.id == sale_id).with_for_update()


async def access_own_sale(ctx: Ctx, anchor: Actor, sale_id: str) -> FlashSale:
    """Return, locked, a sale of a session the actor hosts."""
    sale = await load_sale(ctx, sale_id)
    session = await load_session(ctx, sale.session_id)
    if session.anchor_id != anchor.id:
        raise not_found("flash sale")
    return sale


async def do_end_sale(ctx: Ctx, sale: FlashSale) -> int:
    """End a sale: what it still holds goes back on hand; return those units."""
    if sale.status != RUNNING:
        raise AppError.of(LiveError.SALE_NOT_RUNNING, "this flash sale has ended")
    sale.status = ENDED
    sale.ended_at = ctx.now()
    returned = await stock.return_sale_units(ctx, sale.sku_id)
    sale.returned_units += returned
    await ctx.db.flush()
    ended = RoomEvent(RoomEventType.SALE_END, {"sale_id": sale.id}, priority=True)
    emit(ctx, sale.session_id, [ended, await stock_event(ctx, sale.product_id)])
    return returned


async def committed_keys(ctx: Ctx, sale_id: str) -> list[CommittedKey]:
    """Return the sale's orders that hold units, as the gate records them."""
    return [
        CommittedKey(key, buyer_id, units)
        for key, buyer_id, units in await sale_orders.sale_orders_holding_units(ctx, sale_id)
    ]


async def rebuild_gate(ctx: Ctx, gate: SaleGate, sale_id: str) -> None:
    """Set the gate from the database's truth (start-up, or after Redis lost the sale)."""
    sale = await ctx.db.scalar(select(FlashSale).where(FlashSale.id == sale_id))
    if sale is None:
        return
    await gate.rebuild(
        sale.id,
        sale.quantity,
        sale.per_buyer_limit,
        await committed_keys(ctx, sale.id),
        closed=sale.status != RUNNING,
    )


async def sale_units(ctx: Ctx, sale_id: str) -> dict[str, int]:
    """Return the sale's units by where they are in the orders, for the invariant."""
    return await sale_orders.sale_units(ctx, sale_id)


async def running_sales(ctx: Ctx) -> list[FlashSale]:
    """Return every running sale."""
    return list(await ctx.db.scalars(select(FlashSale).where(FlashSale.status == RUNNING)))


async def due_sales(ctx: Ctx) -> list[str]:
    """Return the running sales whose time is up, or whose show has ended."""
    rows = await ctx.db.scalars(
        select(FlashSale.id)
        .join(LiveSession, LiveSession.id == FlashSale.session_id)
        .where(
            FlashSale.status == RUNNING,
            or_(FlashSale.ends_at <= ctx.now(), LiveSession.status == SessionStatus.ENDED),
        )
    )
    return list(rows)


async def stranded_sale_units(ctx: Ctx) -> list[str]:
    """Return SKUs holding sale units with no running sale (an order released them late)."""
    running = {sale.sku_id for sale in await running_sales(ctx)}
    return [sku_id for sku_id in await stock.skus_holding_sale_units(ctx) if sku_id not in running]


@dataclass(frozen=True, slots=True)
class SaleTerms:
    """A flash sale as a session's report reads it: what was offered, when, at what price."""

    sale_id: str
    sku_id: str
    product_id: str
    price_minor: int
    quantity: int
    started_at: datetime
    ends_at: datetime
    ended_at: datetime | None  # None: still running
    returned_units: int


async def sales_of_session(ctx: Ctx, session_id: str) -> list[SaleTerms]:
    """Return a session's flash sales, in the order they started."""
    rows = await ctx.db.scalars(
        select(FlashSale)
        .where(FlashSale.session_id == session_id)
        .order_by(FlashSale.started_at, FlashSale.id)
    )
    return [
        SaleTerms(
            sale.id,
            sale.sku_id,
            sale.product_id,
            sale.price_minor,
            sale.quantity,
            sale.started_at,
            sale.ends_at,
            sale.ended_at,
            sale.returned_units,
        )
        for sale in rows
    ]
