"""The flash-sale gate: who may take a sale's units, decided without the database.

A flash sale's units left the SKU's stock when the sale started; from then on every buyer
asks the gate first. The gate answers in one atomic step, and records the buyer's
idempotency key together with the units it grants, so a retried request never takes a
second unit. A refusal (sold out, over the per-buyer limit, closed) writes nothing and
touches no database: that is what keeps a sold-out sale cheap under a crowd.

The database stays the only source of truth. The gate is a fast, rebuildable copy:

- ``open(sale_id, quantity, per_buyer_limit)`` makes the sale's counter (idempotent).
- ``take(sale_id, buyer_id, key, units, now)`` grants ``units`` or refuses. A key seen
  before gets its earlier grant again and takes nothing; a refused key took nothing and
  was not recorded, so trying it again is a new attempt. One Redis round trip.
- ``confirm(sale_id, key)`` marks a grant whose order committed; ``confirm_many`` marks
  a batch of them in one step (the orders' group commit).
- ``release(sale_id, key)`` gives a grant's units back (order failed to commit, or an
  unpaid order expired); only once. While the sale runs the units return to the gate;
  after it closed the answer says they go back to the SKU's stock.
- ``in_flight(sale_id, older_than)`` and :func:`reconcile` find grants whose order never
  committed (the worker died between take and commit) and give them back.
- ``rebuild(sale_id, quantity, per_buyer_limit, committed)`` replaces the gate's state by
  the database's (at start-up, and when ``take`` answers ``unknown`` after Redis lost it).
- ``close(sale_id)`` stops selling and returns the units left, for the SKU's stock. Key
  records stay a while, so that late retries still get their grant.
- ``snapshot(sale_id)`` and ``left(sale_id)`` read the counters; ``count(sale_id)`` reads
  the units left with their version, which grows with every change of them (from the
  gate's clock, so it keeps growing across a rebuild): a room shows a `sale_left` only
  when it is newer than the one it shows, whichever worker announced it first.

Invariant, whenever no take is under way (:attr:`GateState.balanced`)::

    quantity = left + in_flight + committed + returned
    sum(per_buyer) = in_flight + committed

``committed`` is the database's reserved plus sold; ``returned`` is what went back to the
SKU's stock at or after the close.

:class:`MemoryGate` serves one process (its steps never await, so each is atomic on the
event loop). :class:`RedisGate` serves several workers with Lua scripts; the keys of one
sale share the hash tag ``{sale_id}`` so that they live on one cluster slot::

    <prefix>:{<sale_id>}:sale      hash   quantity, left, limit (0 = none), in_flight,
                                          committed, returned, closed (0/1), idle_ms,
                                          version (of left, in µs of Redis's clock)
    <prefix>:{<sale_id>}:keys      hash   idempotency key -> "state|units|taken_ms|buyer"
                                          (state i = in flight, c = committed, r = released)
    <prefix>:{<sale_id>}:buyers    hash   buyer id -> units held (in flight + committed)
    <prefix>:{<sale_id>}:inflight  zset   idempotency key scored by taken_ms

Every grant pushes the four keys' expiry to ``idle`` ahead, and closing sets it to
``keep``: an abandoned sale disappears by itself and a closed one after its retention.
:func:`take_benchmark_call` gives the take script with its KEYS/ARGV layout for
``redis-benchmark``. See docs/flash-sale-gate.md for the failure cases.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Protocol

from redis.asyncio import Redis

DEFAULT_PREFIX = "laotie:gate"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Answer(StrEnum):
    """What the gate says to a take."""

    GRANTED = "granted"
    SOLD_OUT = "sold_out"  # fewer units left than asked for
    LIMIT = "limit"  # the buyer would hold more than the per-buyer limit
    CLOSED = "closed"  # the sale has ended
    UNKNOWN = "unknown"  # the gate has no such sale: never opened, expired, or Redis lost it
    RELEASED = "released"  # this key's grant was given back; a new attempt needs a new key
    MISMATCH = "mismatch"  # this key was used by another buyer or for another quantity


class KeyState(StrEnum):
    """Where a granted key stands."""

    IN_FLIGHT = "in_flight"  # granted, its order not known to be committed yet
    COMMITTED = "committed"  # its order is in the database
    RELEASED = "released"  # its units were given back


@dataclass(frozen=True)
class Take:
    """The gate's answer to one take."""

    answer: Answer
    units: int  # units this key holds; 0 unless granted
    left: int  # units left in the gate after this step, for the room's stock
    retry: bool = False  # the key was seen before: this is its earlier answer
    state: KeyState | None = None  # for grants and released keys
    taken_ms: int = 0  # when the key's units were taken (ms since the epoch); 0 if not granted

    @property
    def granted(self) -> bool:
        """Tell whether the key holds units."""
        return self.answer is Answer.GRANTED


@dataclass(frozen=True)
class Release:
    """Units a release gave back, and where they must go."""

    units: int
    to_stock: bool = False  # the sale had closed: the caller returns them to the SKU's stock


@dataclass(frozen=True, slots=True)
class Count:
    """The units left in the gate, and the version of that figure (it only grows)."""

    left: int
    version: int


@dataclass(frozen=True)
class CommittedKey:
    """One committed order as the database knows it, for rebuilding the gate."""

    key: str
    buyer_id: str
    units: int


@dataclass(frozen=True)
class GateState:
    """A sale's counters at one moment."""

    quantity: int
    left: int
    in_flight: int
    committed: int
    returned: int
    closed: bool
    per_buyer_limit: int | None
    per_buyer: dict[str, int] = field(default_factory=dict)

    @property
    def balanced(self) -> bool:
        """Tell whether every unit is accounted for exactly once."""
        held = self.in_flight + self.committed
        return (
            self.quantity == self.left + held + self.returned
            and sum(self.per_buyer.values()) == held
            and min(self.left, self.in_flight, self.committed, self.returned) >= 0
        )


@dataclass(frozen=True)
class Reconciled:
    """What one reconciliation pass did."""

    confirmed: tuple[str, ...] = ()
    released: tuple[str, ...] = ()
    units_released: int = 0
    units_to_stock: int = 0  # released after the close: the caller returns them to the SKU


class SaleGate(Protocol):
    """The flash-sale gate, in one process or shared through Redis."""

    async def open(self, sale_id: str, quantity: int, per_buyer_limit: int | None) -> bool:
        """Make the sale's counter; tell whether it was new (an existing one is kept)."""
        ...

    async def take(self, sale_id: str, buyer_id: str, key: str, units: int, now: datetime) -> Take:
        """Grant `units` to a buyer under an idempotency key, or refuse; atomically."""
        ...

    async def confirm(self, sale_id: str, key: str) -> bool:
        """Mark a grant's order committed; tell whether the key holds its units."""
        ...

    async def confirm_many(self, sale_id: str, keys: Sequence[str]) -> int:
        """Mark several grants' orders committed in one step; return how many hold units."""
        ...

    async def release(self, sale_id: str, key: str, *, only_in_flight: bool = False) -> Release:
        """Give a grant's units back, once (only an in-flight one if asked)."""
        ...

    async def in_flight(self, sale_id: str, older_than: datetime, limit: int = 500) -> list[str]:
        """Return the oldest in-flight keys taken before `older_than`."""
        ...

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
        ...

    async def close(self, sale_id: str) -> int:
        """Stop selling; return the units left, which the caller gives back to the SKU."""
        ...

    async def snapshot(self, sale_id: str) -> GateState | None:
        """Read the sale's counters and per-buyer holdings (None if unknown)."""
        ...

    async def count(self, sale_id: str) -> Count | None:
        """Read the units left and their version (None if unknown)."""
        ...

    async def left(self, sale_id: str) -> int | None:
        """Read the units left (None if unknown)."""
        ...


async def reconcile(
    gate: SaleGate,
    sale_id: str,
    older_than: datetime,
    committed: Callable[[list[str]], Awaitable[set[str]]],
    *,
    batch: int = 500,
) -> Reconciled:
    """Confirm old in-flight grants that have an order and give back those that have none.

    `committed(keys)` answers which keys have a committed order. Its answer must be final:
    a key it leaves out must never commit afterwards (for example, it records the key as
    abandoned under the orders' unique idempotency key in the same transaction), or a
    worker that was only slow could commit an order whose unit was just given back.
    """
    confirmed: list[str] = []
    released: list[str] = []
    units = to_stock = 0
    seen: set[str] = set()
    while True:
        keys = [k for k in await gate.in_flight(sale_id, older_than, batch) if k not in seen]
        if not keys:
            break
        seen.update(keys)
        with_order = await committed(keys)
        for key in keys:
            if key in with_order:
                if await gate.confirm(sale_id, key):
                    confirmed.append(key)
                continue
            # Only in flight: a worker may have confirmed it since we asked the database.
            given = await gate.release(sale_id, key, only_in_flight=True)
            if given.units:
                released.append(key)
                units += given.units
                to_stock += given.units if given.to_stock else 0
    return Reconciled(tuple(confirmed), tuple(released), units, to_stock)


def millis(moment: datetime) -> int:
    """Return an aware datetime as whole milliseconds since the Unix epoch."""
    if moment.tzinfo is None:
        raise ValueError("the gate needs timezone-aware times")
    return (moment - EPOCH) // timedelta(milliseconds=1)


def _check_take(units: int) -> None:
    if units < 1:
        raise ValueError("a take asks for at least one unit")


def _check_sale(quantity: int, per_buyer_limit: int | None) -> None:
    if quantity < 0:
        raise ValueError("a sale's quantity cannot be negative")
    if per_buyer_limit is not None and per_buyer_limit < 1:
        raise ValueError("a per-buyer limit allows at least one unit (None for no limit)")


def _committed_units(quantity: int, committed: Sequence[CommittedKey]) -> int:
    """Check the database's committed orders against the sale and return their units."""
    if len({c.key for c in committed}) != len(committed):
        raise ValueError("an idempotency key appears twice among committed orders")
    if any(c.units < 1 for c in committed):
        raise ValueError("a committed order holds at least one unit")
    sold = sum(c.units for c in committed)
    if sold > quantity:
        raise ValueError(f"committed orders hold {sold} units of a sale of {quantity}")
    return sold


# ------------------------------------------------------------------ one process


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
        _check_sale(quantity, per_buyer_limit)
        if sale_id in self._sales:
            return False
        self._sales[sale_id] = _Sale(quantity, per_buyer_limit, left=quantity)
        return True

    async def take(self, sale_id: str, buyer_id: str, key: str, units: int, now: datetime) -> Take:
        """Grant `units` under an idempotency key, or refuse."""
        _check_take(units)
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
        _check_sale(quantity, per_buyer_limit)
        orders = list(committed)
        sold = _committed_units(quantity, orders)
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
BUMP = """
local function bump(key)
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
  local was = tonumber(redis.call('HGET', key, 'version') or '0')
  if now <= was then now = was + 1 end
  redis.call('HSET', key, 'version', string.format('%d', now))
end
"""

TAKE_SCRIPT = (
    BUMP
    + """
-- ARGV: buyer id, idempotency key, units, now (ms since the epoch)
local meta = redis.call('HMGET', KEYS[1], 'left', 'closed', 'limit', 'idle_ms')
local left = tonumber(meta[1])
local record = redis.call('HGET', KEYS[2], ARGV[2])
if record then
  local state, units, taken, buyer = string.match(record, '^(%a)|(%d+)|(%d+)|(.*)$')
  if buyer ~= ARGV[1] or units ~= ARGV[3] then return {'mismatch', 0, left or 0, 1, '', 0} end
  if state == 'r' then return {'released', 0, left or 0, 1, 'r', 0} end
  return {'granted', tonumber(units), left or 0, 1, state, taken}
end
if not left then return {'unknown', 0, 0, 0, '', 0} end
if meta[2] == '1' then return {'closed', 0, left, 0, '', 0} end
local units = tonumber(ARGV[3])
if left < units then return {'sold_out', 0, left, 0, '', 0} end
local limit = tonumber(meta[3])
local held = tonumber(redis.call('HGET', KEYS[3], ARGV[1]) or '0')
if limit > 0 and held + units > limit then return {'limit', 0, left, 0, '', 0} end
left = redis.call('HINCRBY', KEYS[1], 'left', -units)
bump(KEYS[1])
redis.call('HINCRBY', KEYS[1], 'in_flight', units)
redis.call('HINCRBY', KEYS[3], ARGV[1], units)
redis.call('HSET', KEYS[2], ARGV[2], 'i|' .. ARGV[3] .. '|' .. ARGV[4] .. '|' .. ARGV[1])
redis.call('ZADD', KEYS[4], ARGV[4], ARGV[2])
for i = 1, 4 do redis.call('PEXPIRE', KEYS[i], meta[4]) end
return {'granted', units, left, 0, 'i', ARGV[4]}
"""
)

OPEN_SCRIPT = (
    BUMP
    + """
-- ARGV: quantity, per-buyer limit (0 = none), idle ms
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('DEL', KEYS[2], KEYS[3], KEYS[4])
redis.call('HSET', KEYS[1], 'quantity', ARGV[1], 'left', ARGV[1], 'limit', ARGV[2],
  'in_flight', 0, 'committed', 0, 'returned', 0, 'closed', 0, 'idle_ms', ARGV[3])
bump(KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
"""
)

CONFIRM_SCRIPT = """
-- ARGV: idempotency key
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local record = redis.call('HGET', KEYS[2], ARGV[1])
if not record then return 0 end
local state, units, rest = string.match(record, '^(%a)|(%d+)|(.*)$')
if state == 'c' then return 1 end
if state ~= 'i' then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], 'c|' .. units .. '|' .. rest)
redis.call('ZREM', KEYS[4], ARGV[1])
redis.call('HINCRBY', KEYS[1], 'in_flight', -tonumber(units))
redis.call('HINCRBY', KEYS[1], 'committed', tonumber(units))
return 1
"""

CONFIRM_MANY_SCRIPT = """
-- ARGV: idempotency keys; returns how many of them hold units (committed now or before)
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local held, moved = 0, 0
for i = 1, #ARGV do
  local record = redis.call('HGET', KEYS[2], ARGV[i])
  if record then
    local state, units, rest = string.match(record, '^(%a)|(%d+)|(.*)$')
    if state == 'i' then
      redis.call('HSET', KEYS[2], ARGV[i], 'c|' .. units .. '|' .. rest)
      redis.call('ZREM', KEYS[4], ARGV[i])
      moved = moved + tonumber(units)
    end
    if state ~= 'r' then held = held + 1 end
  end
end
if moved > 0 then
  redis.call('HINCRBY', KEYS[1], 'in_flight', -moved)
  redis.call('HINCRBY', KEYS[1], 'committed', moved)
end
return held
"""

RELEASE_SCRIPT = (
    BUMP
    + """
-- ARGV: idempotency key, only in flight (1/0); returns {units, to stock (1/0)}
if redis.call('EXISTS', KEYS[1]) == 0 then return {0, 0} end
local record = redis.call('HGET', KEYS[2], ARGV[1])
if not record then return {0, 0} end
local state, units, rest = string.match(record, '^(%a)|(%d+)|(.*)$')
if state == 'r' or (state == 'c' and ARGV[2] == '1') then return {0, 0} end
local buyer = string.match(rest, '^%d+|(.*)$')
units = tonumber(units)
redis.call('HSET', KEYS[2], ARGV[1], 'r|' .. units .. '|' .. rest)
if state == 'i' then
  redis.call('ZREM', KEYS[4], ARGV[1])
  redis.call('HINCRBY', KEYS[1], 'in_flight', -units)
else
  redis.call('HINCRBY', KEYS[1], 'committed', -units)
end
if redis.call('HINCRBY', KEYS[3], buyer, -units) <= 0 then redis.call('HDEL', KEYS[3], buyer) end
if redis.call('HGET', KEYS[1], 'closed') == '1' then
  redis.call('HINCRBY', KEYS[1], 'returned', units)
  return {units, 1}
end
redis.call('HINCRBY', KEYS[1], 'left', units)
bump(KEYS[1])
return {units, 0}
"""
)

CLOSE_SCRIPT = (
    BUMP
    + """
-- ARGV: keep ms (how long records outlive the close)
local meta = redis.call('HMGET', KEYS[1], 'left', 'closed')
if not meta[1] or meta[2] == '1' then return 0 end
redis.call('HSET', KEYS[1], 'closed', 1, 'left', 0)
bump(KEYS[1])
redis.call('HINCRBY', KEYS[1], 'returned', meta[1])
for i = 1, 4 do redis.call('PEXPIRE', KEYS[i], ARGV[1]) end
return tonumber(meta[1])
"""
)

REBUILD_SCRIPT = (
    BUMP
    + """
-- ARGV: quantity, limit (0 = none), idle ms, closed (1/0), keep ms,
--       then key, buyer, units for each committed order
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
local sold = 0
for i = 6, #ARGV, 3 do
  local units = tonumber(ARGV[i + 2])
  redis.call('HSET', KEYS[2], ARGV[i], 'c|' .. units .. '|0|' .. ARGV[i + 1])
  redis.call('HINCRBY', KEYS[3], ARGV[i + 1], units)
  sold = sold + units
end
local left, returned, ttl = tonumber(ARGV[1]) - sold, 0, ARGV[3]
if ARGV[4] == '1' then left, returned, ttl = 0, left, ARGV[5] end
redis.call('HSET', KEYS[1], 'quantity', ARGV[1], 'left', left, 'limit', ARGV[2],
  'in_flight', 0, 'committed', sold, 'returned', returned, 'closed', ARGV[4], 'idle_ms', ARGV[3])
bump(KEYS[1])
for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], ttl) end
return left
"""
)


def sale_keys(sale_id: str, prefix: str = DEFAULT_PREFIX) -> list[str]:
    """Return the sale's four Redis keys (sale, keys, buyers, inflight) on one hash slot."""
    if "{" in sale_id or "}" in sale_id:
        raise ValueError("a sale id cannot hold braces: they delimit the hash tag")
    tagged = f"{prefix}:{{{sale_id}}}"
    return [f"{tagged}:sale", f"{tagged}:keys", f"{tagged}:buyers", f"{tagged}:inflight"]


@dataclass(frozen=True)
class ScriptCall:
    """A Lua script and one call of it, as redis-benchmark needs them."""

    script: str
    keys: list[str]
    args: list[str]

    @property
    def sha(self) -> str:
        """Return the SHA1 that EVALSHA names the script by."""
        return hashlib.sha1(self.script.encode()).hexdigest()  # noqa: S324 (Redis's own naming)

    def command(self) -> list[str]:
        """Return the EVALSHA command words (run SCRIPT LOAD with `script` first)."""
        return ["EVALSHA", self.sha, str(len(self.keys)), *self.keys, *self.args]


def take_script() -> str:
    """Return the Lua text of the take: the script the gate runs for every buyer."""
    return TAKE_SCRIPT


def take_benchmark_call(
    sale_id: str, *, prefix: str = DEFAULT_PREFIX, units: int = 1, now_ms: int = 0
) -> ScriptCall:
    """Return the take script and a call whose buyer and key redis-benchmark randomises.

    KEYS are the sale's four keys (:func:`sale_keys`); ARGV are buyer id, idempotency key,
    units and the time in ms. ``__rand_int__`` is replaced by redis-benchmark with a fresh
    number per occurrence when it runs with ``-r <range>``, so each call is a new buyer with
    a new key. Open the sale (with no per-buyer limit) before running it.
    """
    args = ["buyer:__rand_int__", "key:__rand_int__", str(units), str(now_ms)]
    return ScriptCall(TAKE_SCRIPT, sale_keys(sale_id, prefix), args)


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class RedisGate:
    """The gate shared by several workers: one Lua script per step, on one hash slot.

    Scripts are registered once and called by EVALSHA; redis-py loads them again when the
    server answers NOSCRIPT (after a restart). `idle` is how long a sale's state outlives
    its last grant, `keep` how long key records outlive the close.
    """

    def __init__(
        self,
        redis: Redis,
        *,
        prefix: str = DEFAULT_PREFIX,
        idle: timedelta = timedelta(days=2),
        keep: timedelta = timedelta(days=1),
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self._idle_ms = str(idle // timedelta(milliseconds=1))
        self._keep_ms = str(keep // timedelta(milliseconds=1))
        self._take = redis.register_script(TAKE_SCRIPT)
        self._open = redis.register_script(OPEN_SCRIPT)
        self._confirm = redis.register_script(CONFIRM_SCRIPT)
        self._confirm_many = redis.register_script(CONFIRM_MANY_SCRIPT)
        self._release = redis.register_script(RELEASE_SCRIPT)
        self._close = redis.register_script(CLOSE_SCRIPT)
        self._rebuild = redis.register_script(REBUILD_SCRIPT)

    def _keys(self, sale_id: str) -> list[str]:
        return sale_keys(sale_id, self.prefix)

    async def open(self, sale_id: str, quantity: int, per_buyer_limit: int | None) -> bool:
        """Make the sale's counter; tell whether it was new."""
        _check_sale(quantity, per_buyer_limit)
        args: list[str | int] = [quantity, per_buyer_limit or 0, self._idle_ms]
        return bool(await self._open(keys=self._keys(sale_id), args=args))

    async def take(self, sale_id: str, buyer_id: str, key: str, units: int, now: datetime) -> Take:
        """Grant `units` under an idempotency key, or refuse; one round trip."""
        _check_take(units)
        args: list[str | int] = [buyer_id, key, units, millis(now)]
        answer, granted, left, retry, state, taken = await self._take(
            keys=self._keys(sale_id), args=args
        )
        return Take(
            Answer(_text(answer)),
            int(granted),
            int(left),
            retry=bool(int(retry)),
            state=_STATES.get(_text(state)),
            taken_ms=int(taken),
        )

    async def confirm(self, sale_id: str, key: str) -> bool:
        """Mark a grant's order committed."""
        return bool(await self._confirm(keys=self._keys(sale_id), args=[key]))

    async def confirm_many(self, sale_id: str, keys: Sequence[str]) -> int:
        """Mark several grants' orders committed, in one script call."""
        if not keys:
            return 0
        return int(await self._confirm_many(keys=self._keys(sale_id), args=list(keys)))

    async def release(self, sale_id: str, key: str, *, only_in_flight: bool = False) -> Release:
        """Give a grant's units back, once."""
        args: list[str | int] = [key, int(only_in_flight)]
        units, to_stock = await self._release(keys=self._keys(sale_id), args=args)
        return Release(int(units), to_stock=bool(int(to_stock)))

    async def in_flight(self, sale_id: str, older_than: datetime, limit: int = 500) -> list[str]:
        """Return the oldest in-flight keys taken before `older_than`."""
        inflight = self._keys(sale_id)[3]
        found = await self.redis.zrangebyscore(
            inflight, "-inf", f"({millis(older_than)}", start=0, num=limit
        )
        return [_text(key) for key in found]

    async def rebuild(
        self,
        sale_id: str,
        quantity: int,
        per_buyer_limit: int | None,
        committed: Iterable[CommittedKey],
        *,
        closed: bool = False,
    ) -> GateState:
        """Replace the sale's state by the database's committed orders, in one step."""
        _check_sale(quantity, per_buyer_limit)
        orders = list(committed)
        _committed_units(quantity, orders)
        args: list[str | int] = [
            quantity,
            per_buyer_limit or 0,
            self._idle_ms,
            int(closed),
            self._keep_ms,
        ]
        for order in orders:
            args += [order.key, order.buyer_id, order.units]
        await self._rebuild(keys=self._keys(sale_id), args=args)
        state = await self.snapshot(sale_id)
        if state is None:  # pragma: no cover - the script has just written it
            raise RuntimeError(f"sale {sale_id} vanished while it was rebuilt")
        return state

    async def close(self, sale_id: str) -> int:
        """Stop selling; return the units left."""
        return int(await self._close(keys=self._keys(sale_id), args=[self._keep_ms]))

    async def snapshot(self, sale_id: str) -> GateState | None:
        """Read the sale's counters and holdings in one transaction."""
        sale, _, buyers, _ = self._keys(sale_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hgetall(sale)
            pipe.hgetall(buyers)
            meta_raw, buyers_raw = await pipe.execute()
        if not meta_raw:
            return None
        meta = {_text(k): int(v) for k, v in meta_raw.items()}
        return GateState(
            quantity=meta["quantity"],
            left=meta["left"],
            in_flight=meta["in_flight"],
            committed=meta["committed"],
            returned=meta["returned"],
            closed=bool(meta["closed"]),
            per_buyer_limit=meta["limit"] or None,
            per_buyer={_text(k): int(v) for k, v in buyers_raw.items()},
        )

    async def count(self, sale_id: str) -> Count | None:
        """Read the units left and their version, in one round trip."""
        left, version = await self.redis.hmget(self._keys(sale_id)[0], ["left", "version"])
        return None if left is None else Count(int(left), int(version or 0))

    async def left(self, sale_id: str) -> int | None:
        """Read the units left."""
        value = await self.redis.hget(self._keys(sale_id)[0], "left")
        return None if value is None else int(value)


_STATES = {"i": KeyState.IN_FLIGHT, "c": KeyState.COMMITTED, "r": KeyState.RELEASED}
