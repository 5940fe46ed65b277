"""Sweeps of flash sales: end sales whose time is up, keep the gates in step with orders."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from starlette.datastructures import State

from laotie.accounts.permissions import Actor
from laotie.catalog import stock
from laotie.core.context import unit_of_work_for
from laotie.live.events import room_name
from laotie.live.runtime import LiveRuntime
from laotie.live.sale.gate import reconcile
from laotie.live.sale.service import (
    SaleInfo,
    access_own_sale,
    do_end_sale,
    due_sales,
    left_event,
    load_sale,
    lock_sale_for_orders,
    running_sales,
    stranded_sale_units,
)
from laotie.orders import sale_orders as sale_orders


async def open_sale(runtime: LiveRuntime, sale: SaleInfo) -> None:
    """After a sale's start commits: open its gate, drop stale cache entries, tell the room."""
    await runtime.gate.open(sale.sale_id, sale.quantity, sale.per_buyer_limit)
    runtime.sales.forget(sale.session_id, sale.sku_id)
    count = await runtime.gate.count(sale.sale_id)
    shown = sale.event(sale.quantity) if count is None else sale.event(count.left, count.version)
    await runtime.hub.publish(room_name(sale.session_id), shown)


async def end_due_sales(state: State) -> int:
    """End the running sales whose time is up and tell their rooms."""
    async with unit_of_work_for(state) as ctx:
        due = await due_sales(ctx)
    for sale_id in due:
        await end_sale(state, sale_id)
    return len(due)


async def end_sale(state: State, sale_id: str, anchor: Actor | None = None) -> int:
    """End one sale (anchor's button or time up): units back on hand, gate closed, room told."""
    runtime: LiveRuntime = state.live
    async with unit_of_work_for(state) as ctx:
        if anchor is None:
            sale = await load_sale(ctx, sale_id)
        else:
            sale = await access_own_sale(ctx, anchor, sale_id)
        session_id, sku_id = sale.session_id, sale.sku_id

        async def close_gate() -> None:
            await runtime.gate.close(sale_id)
            runtime.sales.forget(session_id, sku_id)

        # Queued first: the gate closes before the room hears that the sale ended.
        ctx.publish_on_commit(close_gate)
        return await do_end_sale(ctx, sale)


async def sync_sales(state: State) -> int:
    """Hand the gate the units of expired sale orders; give back takes that never committed."""
    runtime: LiveRuntime = state.live
    moved = 0
    async with unit_of_work_for(state) as ctx:
        sales = [(s.id, s.session_id) for s in await running_sales(ctx)]
    for sale_id, session_id in sales:
        async with unit_of_work_for(state) as ctx:
            cancelled = await sale_orders.sale_orders_cancelled(ctx, sale_id)
        for key in cancelled:
            moved += (await runtime.gate.release(sale_id, key)).units
        result = await reconcile(
            runtime.gate, sale_id, _in_flight_since(state), _orders_of(state, sale_id)
        )
        moved += result.units_released
        count = await runtime.gate.count(sale_id)
        if count is not None and (cancelled or result.units_released):
            await runtime.hub.publish(room_name(session_id), left_event(sale_id, count))
    async with unit_of_work_for(state) as ctx:
        for sku_id in await stranded_sale_units(ctx):
            moved += await stock.return_sale_units(ctx, sku_id)
    return moved


def _in_flight_since(state: State) -> datetime:
    """Return the moment before which an uncommitted take is given back to the gate."""
    timeout = timedelta(seconds=state.settings.sale_inflight_timeout_seconds)
    now: datetime = state.clock.now()
    return now - timeout


def _orders_of(state: State, sale_id: str) -> Callable[[list[str]], Awaitable[set[str]]]:
    """Return the reconciler's question: which of these keys have a committed order?"""

    async def committed(keys: list[str]) -> set[str]:
        async with unit_of_work_for(state) as ctx:
            # Final because the writers lock the same row and refuse keys older than the
            # timeout once they hold it (`writer.stale`): a key found without an order
            # here can never commit later.
            await lock_sale_for_orders(ctx, sale_id)
            held = {key for key, _, _ in await sale_orders.sale_orders_holding_units(ctx, sale_id)}
        return held & set(keys)

    return committed
