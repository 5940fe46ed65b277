"""The flash-sale gate shared by several workers: Lua scripts on Redis (key layout in `gate`)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from redis.asyncio import Redis

from laotie.live.sale.gate import (
    DEFAULT_PREFIX,
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
        check_sale(quantity, per_buyer_limit)
        args: list[str | int] = [quantity, per_buyer_limit or 0, self._idle_ms]
        return bool(await self._open(keys=self._keys(sale_id), args=args))

    async def take(self, sale_id: str, buyer_id: str, key: str, units: int, now: datetime) -> Take:
        """Grant `units` under an idempotency key, or refuse; one round trip."""
        check_take(units)
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
        check_sale(quantity, per_buyer_limit)
        orders = list(committed)
        committed_units(quantity, orders)
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
