"""The flash-sale gate of one process: steps never await, so each is atomic on the loop."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from laotie.live.sale.gate import (
    Answer,
    CommittedKey,
    Count,
    GateState,
    KeyState,
    Release,
    Take,
    check_sale,
    check_take,
    committed_units,
    millis,
)


@dataclass
class _Record:
    buyer_id: str
    units: int
    taken_ms: int
    state: KeyState


@dataclass
class _Sale:
    quantity: int
    per_buyer_limit: int | None
    left: int
    in_flight: int = 0
    committed: int = 0
    returned: int = 0
    closed: bool = False
    buyers: dict[str, int] = field(default_factory=dict)
    keys: dict[str, _Record] = field(default_factory=dict)
    version: int = field(default_factory=lambda: _next_version(0))

    def bump(self) -> None:
        """Mark a change of the units left."""
        self.version = _next_version(self.version)


def _next_version(was: int) -> int:
    """Return a version above `was`, from the clock so that it also grows across rebuilds."""
    return max(was + 1, time.time_ns() // 1_000)


def _replay(record: _Record, buyer_id: str, units: int, left: int) -> Take:
    """Answer a key seen before with its earlier answer."""
    if record.buyer_id != buyer_id or record.units != units:
        return Take(Answer.MISMATCH, 0, left, retry=True)
    if record.state is KeyState.RELEASED:
        return Take(Answer.RELEASED, 0, left, retry=True, state=KeyState.RELEASED)
    return Take(
        Answer.GRANTED,
        record.units,
        left,
        retry=True,
        state=record.state,
        taken_ms=record.taken_ms,
    )


class MemoryGate:
    """The gate for a single process: plain counters, atomic because no step awaits.

    Closed sales are forgotten, oldest first, beyond the last `keep_closed`, so that
    memory stays bounded in a long-running process.
    """

    def __init__(self, keep_closed: int = 64) -> None:
        self.keep_closed = keep_closed
        self._sales: dict[str, _Sale] = {}
        self._closed_order: list[str] = []

    async def open(self, sale_id: str, quantity: int, per_buyer_limit: int | None) -> bool:
        """Make the sale's counter; tell whether it was new."""
        check_sale(quantity, per_buyer_limit)
        if sale_id in self._sales:
            return False
        self._sales[sale_id] = _Sale(quantity, per_buyer_limit, left=quantity)
        return True

    async def take(self, sale_id: str, buyer_id: str, key: str, units: int, now: datetime) -> Take:
        """Grant `units` under an idempotency key, or refuse."""
        check_take(units)
        sale = self._sales.get(sale_id)
        if sale is None:
            return Take(Answer.UNKNOWN, 0, 0)
        record = sale.keys.get(key)
        if record is not None:
            return _replay(record, buyer_id, units, sale.left)
        if sale.closed:
            return Take(Answer.CLOSED, 0, sale.left)
        if sale.left < units:
            return Take(Answer.SOLD_OUT, 0, sale.left)
        held = sale.buyers.get(buyer_id, 0)
        if sale.per_buyer_limit is not None and held + units > sale.per_buyer_limit:
            return Take(Answer.LIMIT, 0, sale.left)
        sale.left -= units
        sale.bump()
        sale.in_flight += units
        sale.buyers[buyer_id] = held + units
        taken_ms = millis(now)
        sale.keys[key] = _Record(buyer_id, units, taken_ms, KeyState.IN_FLIGHT)
        return Take(Answer.GRANTED, units, sale.left, state=KeyState.IN_FLIGHT, taken_ms=taken_ms)

    async def confirm(self, sale_id: str, key: str) -> bool:
        """Mark a grant's order committed."""
        sale = self._sales.get(sale_id)
        record = sale.keys.get(key) if sale else None
        if sale is None or record is None or record.state is KeyState.RELEASED:
            return False
        if record.state is KeyState.IN_FLIGHT:
            record.state = KeyState.COMMITTED
            sale.in_flight -= record.units
            sale.committed += record.units
        return True

    async def confirm_many(self, sale_id: str, keys: Sequence[str]) -> int:
        """Mark several grants' orders committed."""
        return sum([await self.confirm(sale_id, key) for key in keys])

    async def release(self, sale_id: str, key: str, *, only_in_flight: bool = False) -> Release:
        """Give a grant's units back, once."""
        sale = self._sales.get(sale_id)
        record = sale.keys.get(key) if sale else None
        if sale is None or record is None or record.state is KeyState.RELEASED:
            return Release(0)
        if only_in_flight and record.state is not KeyState.IN_FLIGHT:
            return Release(0)
        if record.state is KeyState.IN_FLIGHT:
            sale.in_flight -= record.units
        else:
            sale.committed -= record.units
        record.state = KeyState.RELEASED
        held = sale.buyers.pop(record.buyer_id) - record.units
        if held > 0:
            sale.buyers[record.buyer_id] = held
        if sale.closed:
            sale.returned += record.units
            return Release(record.units, to_stock=True)
        sale.left += record.units
        sale.bump()
        return Release(record.units)

    async def in_flight(self, sale_id: str, older_than: datetime, limit: int = 500) -> list[str]:
        """Return the oldest in-flight keys taken before `older_than`."""
        sale = self._sales.get(sale_id)
        if sale is None:
            return []
        before = millis(older_than)
        old = [
            (r.taken_ms, key)
            for key, r in sale.keys.items()
            if r.state is KeyState.IN_FLIGHT and r.taken_ms < before
        ]
        return [key for _, key in sorted(old)[:limit]]

    async def rebuild(
        self,
        sale_id: str,
        quantity: int,
        per_buyer_limit: int | None,
        committed: Iterable[CommittedKey],
        *,
        closed: bool = False,
    ) -> GateState:
        """Replace the sale's state by the database's committed orders."""
        check_sale(quantity, per_buyer_limit)
        orders = list(committed)
        sold = committed_units(quantity, orders)
        sale = _Sale(quantity, per_buyer_limit, left=quantity - sold, committed=sold)
        for order in orders:
            sale.keys[order.key] = _Record(order.buyer_id, order.units, 0, KeyState.COMMITTED)
            sale.buyers[order.buyer_id] = sale.buyers.get(order.buyer_id, 0) + order.units
        if closed:
            sale.closed, sale.returned, sale.left = True, sale.left, 0
        self._sales[sale_id] = sale
        return self._state(sale)

    async def close(self, sale_id: str) -> int:
        """Stop selling; return the units left."""
        sale = self._sales.get(sale_id)
        if sale is None or sale.closed:
            return 0
        left, sale.left, sale.closed = sale.left, 0, True
        sale.bump()
        sale.returned += left
        self._closed_order.append(sale_id)
        while len(self._closed_order) > self.keep_closed:
            self._sales.pop(self._closed_order.pop(0), None)
        return left

    async def snapshot(self, sale_id: str) -> GateState | None:
        """Read the sale's counters."""
        sale = self._sales.get(sale_id)
        return self._state(sale) if sale else None

    async def count(self, sale_id: str) -> Count | None:
        """Read the units left and their version."""
        sale = self._sales.get(sale_id)
        return Count(sale.left, sale.version) if sale else None

    async def left(self, sale_id: str) -> int | None:
        """Read the units left."""
        sale = self._sales.get(sale_id)
        return sale.left if sale else None

    @staticmethod
    def _state(sale: _Sale) -> GateState:
        return GateState(
            quantity=sale.quantity,
            left=sale.left,
            in_flight=sale.in_flight,
            committed=sale.committed,
            returned=sale.returned,
            closed=sale.closed,
            per_buyer_limit=sale.per_buyer_limit,
            per_buyer=dict(sale.buyers),
        )


# ------------------------------------------------------------------ Redis

# All scripts take the same four KEYS: sale, keys, buyers, inflight (see the module doc).
# A record is "state|units|taken_ms|buyer"; the buyer comes last so it may hold "|".

# Prepended to the scripts that change the units left: a version from Redis's own clock.
