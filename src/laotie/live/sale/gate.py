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

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Protocol

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


def check_take(units: int) -> None:
    if units < 1:
        raise ValueError("a take asks for at least one unit")


def check_sale(quantity: int, per_buyer_limit: int | None) -> None:
    if quantity < 0:
        raise ValueError("a sale's quantity cannot be negative")
    if per_buyer_limit is not None and per_buyer_limit < 1:
        raise ValueError("a per-buyer limit allows at least one unit (None for no limit)")


def committed_units(quantity: int, committed: Sequence[CommittedKey]) -> int:
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
