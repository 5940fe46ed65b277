"""Group commit of flash-sale orders: every granted take waits here for one shared transaction.

A take the gate granted becomes a `Grant` and waits on a future. One writer task takes
everything waiting, writes each sale's grants in one transaction (the sale's row locked,
the SKU read once, one conditional UPDATE moving all the batch's units from `in_sale` to
`reserved`, one executemany per table), commits, confirms the keys in the gate in one
step, answers the buyers, and tells the room once per batch. While a batch commits the
next one gathers, so batches grow with the load and no delay is needed: an order is
durable before its buyer hears yes, as the single-order path promised, but SQLite's one
writer turns over once per batch instead of once per order.

A batch that cannot be written whole (a key raced by a retry, a SKU off sale, too few
units in the sale) is rolled back and its grants are written one at a time with
`do_checkout`, exactly as before the batching: one bad order fails alone and gives its
units back to the gate.

The writer and the reconciler (`jobs.sync_sales`) agree through the sale's row lock and
the in-flight timeout: the reconciler gives back only keys taken more than the timeout
before it looked, and the writer, once it holds the row, refuses keys that old (see
`stale`). A key the reconciler found without an order can therefore never commit later.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, select, update

from laotie.accounts.permissions import Actor
from laotie.core.context import Ctx, unit_of_work_for
from laotie.core.errors import AppError, IdempotencyError
from laotie.db.base import table_of
from laotie.db.engine import run_batch
from laotie.live.events import RoomEventType, room_name
from laotie.live.models import Visit
from laotie.live.room.visits import (
    access_own_visit,
    do_count_visit_until_purchase,
    owns_visit,
    visit_not_yours,
)
from laotie.live.sale.gate import KeyState, Take, millis
from laotie.live.sale.service import (
    SaleInfo,
    left_event,
    lock_sale_for_orders,
    lock_sale_for_orders_sync,
)
from laotie.orders import checkout as order_checkout
from laotie.orders import queries as order_queries
from laotie.orders import sale_orders as sale_orders
from laotie.orders.schemas import OrderOut
from laotie.realtime.events import RoomEvent

log = logging.getLogger(__name__)

# Grants written in one transaction at most; more wait for the next batch.
MAX_BATCH = 1_000
# The session's order count and GMV in `bought` are read again at most this often.
TOTALS_EVERY_S = 1.0


@dataclass(eq=False)
class Grant:
    """A take the gate granted, waiting for its order to be written."""

    sale: SaleInfo
    buyer: Actor
    key: str
    quantity: int
    channel: order_checkout.Channel
    take: Take
    done: asyncio.Future[order_checkout.Checkout]
    ship: order_checkout.Destination

    @property
    def batchable(self) -> bool:
        """Tell whether the grant is a first attempt (a retry may find its order written)."""
        return not self.take.retry and self.take.state is KeyState.IN_FLIGHT


def stale(grant: Grant, now: datetime, timeout_s: float) -> bool:
    """Tell whether the reconciler may have given the grant's units back already."""
    return grant.take.taken_ms < millis(now - timedelta(seconds=timeout_s))


def released() -> AppError:
    """Return the refusal of a grant given up before its order could be written."""
    return AppError.of(IdempotencyError.RELEASED, "this attempt was given up; retry with a new key")


@dataclass(frozen=True, slots=True)
class _Batch:
    """What one batch's transaction wrote: its grants young enough, their orders, the totals."""

    young: list[Grant]
    outs: list[OrderOut]
    totals: tuple[int, int] | None
    not_theirs: list[Grant] = field(default_factory=list)  # named someone else's visit


@dataclass
class _Totals:
    """A session's order count and GMV, read from the database now and then."""

    orders: int
    gmv_minor: int
    read_at: float
    fresh: bool = False  # read in the transaction that wrote the last orders


@dataclass
class SaleWriter:
    """Write granted takes' orders a batch at a time; one writer task per process."""

    batches: int = 0  # transactions that wrote a batch, for tests and the review
    _waiting: list[Grant] = field(default_factory=list)
    _writing: bool = False
    _task: asyncio.Task[None] | None = None
    _totals: dict[str, _Totals] = field(default_factory=dict)

    async def place(
        self,
        state: Any,
        sale: SaleInfo,
        buyer: Actor,
        key: str,
        quantity: int,
        channel: order_checkout.Channel,
        take: Take,
        ship: order_checkout.Destination,
    ) -> order_checkout.Checkout:
        """Queue a granted take; return its checkout once the order is committed."""
        done: asyncio.Future[order_checkout.Checkout] = asyncio.get_running_loop().create_future()
        self._waiting.append(Grant(sale, buyer, key, quantity, channel, take, done, ship))
        if not self._writing:
            self._writing = True
            self._task = asyncio.create_task(self._write_all(state), name="sale-writer")
        return await done

    async def _write_all(self, state: Any) -> None:
        """Write batches until nothing waits; then stop (the next grant starts a new task)."""
        try:
            while self._waiting:
                batch = self._waiting[:MAX_BATCH]
                del self._waiting[:MAX_BATCH]
                await self._write_batch(state, batch)
        finally:
            self._writing = False
            for grant in self._waiting:  # only when cancelled: nobody will write them
                _fail(grant, asyncio.CancelledError())
            self._waiting.clear()

    async def _write_batch(self, state: Any, batch: list[Grant]) -> None:
        """Write a batch, one transaction per sale; answer every grant whatever happens."""
        by_sale: dict[str, list[Grant]] = {}
        for grant in batch:
            by_sale.setdefault(grant.sale.sale_id, []).append(grant)
        for grants in by_sale.values():
            try:
                await self._write_sale(state, grants)
            except BaseException as error:
                for grant in grants:
                    _fail(grant, error)
                if not isinstance(error, Exception):
                    raise
                log.exception("writing flash-sale orders failed")

    async def _write_sale(self, state: Any, grants: list[Grant]) -> None:
        """Write one sale's grants together if it can, else one by one; then tell the room."""
        sale = grants[0].sale
        fresh = [g for g in grants if g.batchable]
        alone = [g for g in grants if not g.batchable]
        placed: list[tuple[Grant, order_checkout.Checkout]] = []
        if fresh:
            written = await self._try_together(state, sale, fresh)
            if written is None:
                alone = fresh + alone
            else:
                placed += written
        for grant in alone:
            checkout = await self._write_alone(state, grant)
            if checkout is not None and not checkout.replayed:
                placed.append((grant, checkout))
        await self._announce(state, sale, placed)

    async def _try_together(
        self, state: Any, sale: SaleInfo, grants: list[Grant]
    ) -> list[tuple[Grant, order_checkout.Checkout]] | None:
        """Write the grants in one transaction; None when it must be done one by one."""
        terms = order_checkout.SaleTerms(sale.sale_id, sale.sku_id, sale.price_minor)
        settings, clock = state.settings, state.clock
        totals_due = self._totals_due(sale.session_id)

        def write(connection: Connection) -> _Batch:
            lock_sale_for_orders_sync(connection, settings, sale.sale_id)
            now = clock.now()  # after the lock: see `stale`
            timeout = settings.sale_inflight_timeout_seconds
            young = [g for g in grants if not stale(g, now, timeout)]
            visits = read_visits(connection, [g.channel.visit_id for g in young])
            not_theirs = [g for g in young if not _own_visit(g, visits)]
            young = [g for g in young if _own_visit(g, visits)]
            placements = [
                sale_orders.SalePlacement(g.buyer.id, g.key, g.quantity, g.channel, g.ship)
                for g in young
            ]
            outs = sale_orders.place_sale_orders(connection, settings, now, terms, placements)
            count_until_purchase(connection, now, visits)
            totals = None
            if young and totals_due:
                totals = order_queries.live_session_totals_sync(connection, sale.session_id)
            return _Batch(young, outs, totals, not_theirs)

        try:
            batch = await run_batch(state.database, write)
        except Exception as error:
            if not isinstance(error, sale_orders.SaleBatchRefusedError):
                log.info("a batch of %d sale orders fell back: %r", len(grants), error)
            return None
        self.batches += 1
        if batch.totals is not None:
            self._totals[sale.session_id] = _Totals(*batch.totals, time.monotonic(), fresh=True)
        gate = state.live.gate
        await _confirm(gate.confirm_many(sale.sale_id, [g.key for g in batch.young]))
        kept = set(batch.young)  # grants hash by identity
        not_theirs = set(batch.not_theirs)
        for grant in grants:
            if grant in not_theirs:
                await gate.release(sale.sale_id, grant.key, only_in_flight=True)
                _fail(grant, visit_not_yours())
            elif grant not in kept:  # too old: the reconciler may have given it back
                await gate.release(sale.sale_id, grant.key, only_in_flight=True)
                _fail(grant, released())
        written = [
            (grant, order_checkout.Checkout([out], replayed=False))
            for grant, out in zip(batch.young, batch.outs, strict=True)
        ]
        for grant, checkout in written:
            if not grant.done.done():
                grant.done.set_result(checkout)
        return written

    async def _write_alone(self, state: Any, grant: Grant) -> order_checkout.Checkout | None:
        """Write one grant as the single-order path does; give its units back if that fails."""
        sale = grant.sale
        terms = order_checkout.SaleTerms(sale.sale_id, sale.sku_id, sale.price_minor)
        gate = state.live.gate
        try:
            async with unit_of_work_for(state) as ctx:
                await lock_sale_for_orders(ctx, sale.sale_id)
                timeout = state.settings.sale_inflight_timeout_seconds
                earlier = await order_checkout.replay_checkout(ctx, grant.buyer.id, grant.key)
                if earlier is None and stale(grant, ctx.now(), timeout):
                    raise released()
                visit = None
                if grant.channel.visit_id is not None:
                    visit = await access_own_visit(
                        ctx, grant.channel.visit_id, sale.session_id, grant.buyer.id
                    )
                lines = [(sale.sku_id, grant.quantity)]
                checkout = await order_checkout.do_checkout(
                    ctx, grant.buyer, lines, grant.key, grant.channel, terms, ship=grant.ship
                )
                if not checkout.replayed and visit is not None:
                    await do_count_visit_until_purchase(ctx, visit)
        except BaseException as error:
            if grant.take.state is not KeyState.COMMITTED:
                await gate.release(sale.sale_id, grant.key, only_in_flight=True)
            _fail(grant, error)
            if not isinstance(error, Exception):
                raise
            return None
        await _confirm(gate.confirm(sale.sale_id, grant.key))
        if not grant.done.done():
            grant.done.set_result(checkout)
        return checkout

    async def _announce(
        self, state: Any, sale: SaleInfo, placed: Sequence[tuple[Grant, order_checkout.Checkout]]
    ) -> None:
        """Tell the room the units left and, for new orders, one `bought` for the batch."""
        runtime = state.live
        room = room_name(sale.session_id)
        count = await runtime.gate.count(sale.sale_id)
        if count is not None:
            await runtime.hub.publish(room, left_event(sale.sale_id, count))
        if not placed:
            return
        totals = self._session_totals(sale.session_id, placed)
        if totals is None:  # only grants written one by one, and no batch read them yet
            async with unit_of_work_for(state) as ctx:
                await self._read_totals_if_due(ctx, sale.session_id)
            totals = self._session_totals(sale.session_id, placed)
        count, gmv = totals or (0, 0)
        last, checkout = placed[-1]
        line = checkout.orders[0].lines[0]
        data = {
            "orders": count,
            "gmv_minor": gmv,
            "who": (last.buyer.name[:1] or "?") + "**",
            "title": line.title,
            "quantity": line.quantity,
            "buyers": len(placed),
        }
        await runtime.hub.publish(room, RoomEvent(RoomEventType.BOUGHT, data, coalesce=None))

    def _totals_due(self, session_id: str) -> bool:
        """Tell whether the session's order count and GMV should be read again."""
        known = self._totals.get(session_id)
        return known is None or time.monotonic() - known.read_at >= TOTALS_EVERY_S

    async def _read_totals_if_due(self, ctx: Ctx, session_id: str) -> None:
        """Read the session's order count and GMV again if the copy is old."""
        if self._totals_due(session_id):
            count, gmv = await order_queries.live_session_totals(ctx, session_id)
            self._totals[session_id] = _Totals(count, gmv, time.monotonic(), fresh=True)

    def _session_totals(
        self, session_id: str, placed: Sequence[tuple[Grant, order_checkout.Checkout]]
    ) -> tuple[int, int] | None:
        """Return the session's order count and GMV, counted along between reads."""
        known = self._totals.get(session_id)
        if known is None:
            return None
        if known.fresh:  # read inside the batch's transaction: it holds the batch already
            known.fresh = False
            return known.orders, known.gmv_minor
        known.orders += len(placed)
        known.gmv_minor += sum(o.total_minor for _, c in placed for o in c.orders)
        return known.orders, known.gmv_minor


async def _confirm(step: Awaitable[object]) -> None:
    """Tell the gate that orders committed; if it cannot hear it, the reconciler will."""
    try:
        await step
    except Exception:
        log.warning("confirming committed sale orders in the gate failed", exc_info=True)


def _fail(grant: Grant, error: BaseException) -> None:
    """Answer a waiting buyer with an error, unless the buyer has gone."""
    if grant.done.done():
        return
    if isinstance(error, asyncio.CancelledError):
        grant.done.cancel()
    else:
        grant.done.set_exception(error)


@dataclass(frozen=True, slots=True)
class VisitRow:
    """What a batch needs of a visit named by an order: whose, where, and its watch time."""

    session_id: str
    user_id: str | None
    entered_at: datetime
    watch_seconds: int
    used: bool = False  # an order of the batch names it


def read_visits(connection: Connection, visit_ids: Sequence[str | None]) -> dict[str, VisitRow]:
    """Read the visits the batch's orders name, in one statement (none when none is named)."""
    wanted = sorted({visit_id for visit_id in visit_ids if visit_id is not None})
    if not wanted:
        return {}
    rows = connection.execute(
        select(
            Visit.id, Visit.session_id, Visit.user_id, Visit.entered_at, Visit.watch_seconds
        ).where(Visit.id.in_(wanted))
    )
    return {row[0]: VisitRow(*row[1:]) for row in rows}


def _own_visit(grant: Grant, visits: dict[str, VisitRow]) -> bool:
    """Tell whether the grant names no visit, or the buyer's own visit of the sale's session."""
    visit_id = grant.channel.visit_id
    if visit_id is None:
        return True
    visit = visits.get(visit_id)
    if visit is None or not owns_visit(
        visit.session_id, visit.user_id, grant.sale.session_id, grant.buyer.id
    ):
        return False
    visits[visit_id] = replace(visit, used=True)
    return True


def count_until_purchase(
    connection: Connection, now: datetime, visits: dict[str, VisitRow]
) -> None:
    """Make each visit that ends in an order count at least its time to purchase, in batch."""
    changes = []
    for visit_id, visit in visits.items():
        if not visit.used:
            continue
        entered_at, watch_seconds = visit.entered_at, visit.watch_seconds
        at_least = max(int((now - entered_at).total_seconds()), 1)  # as `visits` does
        if watch_seconds < at_least:
            changes.append({"visit": visit_id, "seconds": at_least})
    if changes:
        table = table_of(Visit)
        connection.execute(
            update(table)
            .where(table.c.id == bindparam("visit"))
            .values(watch_seconds=bindparam("seconds")),
            changes,
        )
