"""The flash-sale gate: never oversells, answers retries alike, gives back once, rebuilds."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st
from redis.asyncio import BlockingConnectionPool, Redis

from laotie.live.sale.gate import (
    Answer,
    CommittedKey,
    GateState,
    KeyState,
    Release,
    SaleGate,
    millis,
    reconcile,
)
from laotie.live.sale.memory_gate import MemoryGate
from laotie.live.sale.redis_gate import RedisGate, sale_keys, take_benchmark_call, take_script
from tests.redis_fixture import RedisProcess

T0 = datetime(2026, 1, 5, 20, 0, tzinfo=UTC)
SALE = "sale1"


def _client(url: str) -> Redis:
    """Connect as a worker would: a bounded pool where a burst waits for a connection."""
    return Redis.from_pool(BlockingConnectionPool.from_url(url, max_connections=32))


def _prefix() -> str:
    return f"test:gate:{uuid.uuid4().hex[:10]}"


@pytest.fixture(params=["memory", "redis"])
async def gate(request: pytest.FixtureRequest) -> AsyncIterator[SaleGate]:
    """Yield each gate in turn; the Redis one on the shared server under its own prefix."""
    if request.param == "memory":
        yield MemoryGate()
        return
    client = _client(request.getfixturevalue("redis_url"))
    try:
        yield RedisGate(client, prefix=_prefix())
    finally:
        await client.aclose()


async def _balanced(gate: SaleGate, sale_id: str = SALE) -> GateState:
    state = await gate.snapshot(sale_id)
    assert state is not None
    assert state.balanced, state
    return state


async def test_flash_sale_never_oversells(gate: SaleGate) -> None:
    await gate.open(SALE, 50, None)
    takes = await asyncio.gather(*(gate.take(SALE, f"b{i}", f"k{i}", 1, T0) for i in range(400)))
    answers = [t.answer for t in takes]
    assert answers.count(Answer.GRANTED) == 50
    assert answers.count(Answer.SOLD_OUT) == 350
    state = await _balanced(gate)
    assert (state.left, state.in_flight, sum(state.per_buyer.values())) == (0, 50, 50)
    assert sorted(t.left for t in takes if t.granted) == list(range(50))


async def test_redis_gate_never_oversells_across_connections(redis_url: str) -> None:
    prefix = _prefix()
    clients = [_client(redis_url) for _ in range(4)]
    gates = [RedisGate(client, prefix=prefix) for client in clients]
    try:
        await gates[0].open(SALE, 300, 2)
        # 200 buyers ask three times each, spread over four connections at once.
        takes = await asyncio.gather(
            *(gates[i % 4].take(SALE, f"b{i % 200}", f"k{i}", 1, T0) for i in range(600))
        )
        granted = [t for t in takes if t.granted]
        assert len(granted) == 300
        assert {t.answer for t in takes} <= {Answer.GRANTED, Answer.SOLD_OUT, Answer.LIMIT}
        state = await _balanced(gates[3])
        assert state.left == 0 and state.in_flight == 300
        assert max(state.per_buyer.values()) <= 2
    finally:
        for client in clients:
            await client.aclose()


async def test_retried_key_takes_one_unit_and_keeps_its_answer_after_sold_out(
    gate: SaleGate,
) -> None:
    await gate.open(SALE, 2, None)
    first = await gate.take(SALE, "ann", "k-ann", 1, T0)
    again = await asyncio.gather(*(gate.take(SALE, "ann", "k-ann", 1, T0) for _ in range(30)))
    assert first.granted and first.left == 1 and not first.retry
    assert {(t.answer, t.units, t.left, t.retry) for t in again} == {(Answer.GRANTED, 1, 1, True)}
    assert (await gate.take(SALE, "bob", "k-bob", 1, T0)).granted
    assert (await gate.take(SALE, "cy", "k-cy", 1, T0)).answer is Answer.SOLD_OUT

    after = await gate.take(SALE, "ann", "k-ann", 1, T0)
    assert (after.answer, after.units, after.left, after.state) == (
        Answer.GRANTED,
        1,
        0,
        KeyState.IN_FLIGHT,
    )
    assert await gate.confirm(SALE, "k-ann")
    assert (await gate.take(SALE, "ann", "k-ann", 1, T0)).state is KeyState.COMMITTED
    # A refusal took nothing and was not kept: trying it again is asking again.
    assert (await gate.take(SALE, "cy", "k-cy", 1, T0)).answer is Answer.SOLD_OUT
    # Somebody else's key, or another quantity, gets nothing and learns nothing.
    assert (await gate.take(SALE, "eve", "k-ann", 1, T0)).answer is Answer.MISMATCH
    assert (await gate.take(SALE, "ann", "k-ann", 2, T0)).answer is Answer.MISMATCH
    state = await _balanced(gate)
    assert (state.committed, state.in_flight, state.per_buyer) == (1, 1, {"ann": 1, "bob": 1})


async def test_per_buyer_limit(gate: SaleGate) -> None:
    await gate.open(SALE, 10, 2)
    assert (await gate.take(SALE, "ann", "a1", 1, T0)).granted
    assert (await gate.take(SALE, "ann", "a2", 2, T0)).answer is Answer.LIMIT
    assert (await gate.take(SALE, "ann", "a3", 1, T0)).granted
    assert (await gate.take(SALE, "ann", "a4", 1, T0)).answer is Answer.LIMIT
    assert (await gate.take(SALE, "bob", "b1", 2, T0)).granted
    assert (await gate.release(SALE, "a1")).units == 1
    assert (await gate.take(SALE, "ann", "a5", 1, T0)).granted
    state = await _balanced(gate)
    assert state.per_buyer == {"ann": 2, "bob": 2} and state.left == 6


async def test_sold_out_is_answered_before_the_limit(gate: SaleGate) -> None:
    await gate.open(SALE, 1, 1)
    assert (await gate.take(SALE, "ann", "a1", 1, T0)).granted
    assert (await gate.take(SALE, "ann", "a2", 1, T0)).answer is Answer.SOLD_OUT


async def test_release_gives_back_exactly_once(gate: SaleGate) -> None:
    await gate.open(SALE, 3, None)
    for key in ("k1", "k2", "k3"):
        assert (await gate.take(SALE, key, key, 1, T0)).granted
    assert await gate.confirm(SALE, "k2")

    assert (await gate.release(SALE, "k1")).units == 1
    assert (await gate.release(SALE, "k1")).units == 0
    assert not await gate.confirm(SALE, "k1")
    retry = await gate.take(SALE, "k1", "k1", 1, T0)
    assert (retry.answer, retry.units, retry.state) == (Answer.RELEASED, 0, KeyState.RELEASED)
    # A committed order gives back only when asked for it, not as a stale in-flight one.
    assert (await gate.release(SALE, "k2", only_in_flight=True)).units == 0
    assert (await gate.release(SALE, "k2")).units == 1
    assert (await gate.release(SALE, "nobody")).units == 0
    state = await _balanced(gate)
    assert (state.left, state.in_flight, state.committed, state.per_buyer) == (2, 1, 0, {"k3": 1})

    assert await gate.close(SALE) == 2
    after_close = await gate.release(SALE, "k3")
    assert (after_close.units, after_close.to_stock) == (1, True)
    state = await _balanced(gate)
    assert (state.left, state.returned, state.per_buyer) == (0, 3, {})


async def test_reconcile_releases_orphans_and_confirms_orders(gate: SaleGate) -> None:
    await gate.open(SALE, 10, None)
    for i in range(5):
        assert (await gate.take(SALE, f"b{i}", f"k{i}", 1, T0)).granted
    assert (await gate.take(SALE, "late", "k-late", 2, T0 + timedelta(minutes=10))).granted
    assert await gate.confirm(SALE, "k0")
    asked: list[list[str]] = []

    async def committed(keys: list[str]) -> set[str]:
        asked.append(keys)
        return {"k1", "k2"} & set(keys)

    done = await reconcile(gate, SALE, T0 + timedelta(minutes=5), committed, batch=2)
    assert sorted(k for batch in asked for k in batch) == ["k1", "k2", "k3", "k4"]
    assert sorted(done.confirmed) == ["k1", "k2"]
    assert sorted(done.released) == ["k3", "k4"]
    assert (done.units_released, done.units_to_stock) == (2, 0)
    state = await _balanced(gate)
    assert (state.left, state.in_flight, state.committed) == (5, 2, 3)
    assert await gate.in_flight(SALE, T0 + timedelta(hours=1)) == ["k-late"]
    assert await reconcile(gate, SALE, T0 + timedelta(minutes=5), committed) == type(done)()


async def test_close_stops_selling_and_keeps_old_answers(gate: SaleGate) -> None:
    await gate.open(SALE, 5, None)
    assert not await gate.open(SALE, 99, None)  # opening again keeps the running sale
    assert (await gate.take(SALE, "ann", "a1", 2, T0)).granted
    assert await gate.left(SALE) == 3
    assert await gate.close(SALE) == 3
    assert await gate.close(SALE) == 0
    assert (await gate.take(SALE, "bob", "b1", 1, T0)).answer is Answer.CLOSED
    kept = await gate.take(SALE, "ann", "a1", 2, T0)
    assert kept.granted and kept.retry and kept.units == 2
    assert await gate.confirm(SALE, "a1")  # an order that commits after the close still counts
    state = await _balanced(gate)
    assert (state.closed, state.left, state.returned, state.committed) == (True, 0, 3, 2)


async def test_unknown_sale(gate: SaleGate) -> None:
    assert (await gate.take("nope", "ann", "a1", 1, T0)).answer is Answer.UNKNOWN
    assert await gate.snapshot("nope") is None
    assert await gate.left("nope") is None
    assert await gate.close("nope") == 0
    assert not await gate.confirm("nope", "a1")
    assert (await gate.release("nope", "a1")).units == 0
    assert await gate.in_flight("nope", T0) == []


async def test_rebuild_replaces_state_with_the_database_truth(gate: SaleGate) -> None:
    await gate.open(SALE, 10, 3)
    for i in range(4):
        assert (await gate.take(SALE, "ann", f"a{i}", 1, T0)).answer in {
            Answer.GRANTED,
            Answer.LIMIT,
        }
    truth = [CommittedKey("a0", "ann", 1), CommittedKey("b0", "bob", 3)]
    state = await gate.rebuild(SALE, 10, 3, truth)
    assert state.balanced
    assert (state.left, state.in_flight, state.committed) == (6, 0, 4)
    assert state.per_buyer == {"ann": 1, "bob": 3}
    assert (await gate.take(SALE, "ann", "a1", 1, T0)).granted  # its unit was never committed
    assert (await gate.take(SALE, "bob", "b1", 1, T0)).answer is Answer.LIMIT

    closed = await gate.rebuild(SALE, 10, 3, truth, closed=True)
    assert (closed.closed, closed.left, closed.returned) == (True, 0, 6)
    with pytest.raises(ValueError, match="committed orders hold"):
        await gate.rebuild(SALE, 3, None, truth)
    with pytest.raises(ValueError, match="twice"):
        await gate.rebuild(SALE, 10, None, truth + truth)


async def test_gate_rebuilt_after_redis_restarts(redis_server: RedisProcess) -> None:
    client = _client(redis_server.url)
    gate = RedisGate(client)
    try:
        await gate.open(SALE, 10, 2)
        for buyer, key, units in [("ann", "a1", 2), ("bob", "b1", 1), ("cy", "c1", 1)]:
            assert (await gate.take(SALE, buyer, key, units, T0)).granted
        for key in ("a1", "b1"):  # cy's order never committed before the crash
            assert await gate.confirm(SALE, key)

        redis_server.restart()
        await client.connection_pool.disconnect()
        assert (await gate.take(SALE, "ann", "a2", 1, T0)).answer is Answer.UNKNOWN

        truth = [CommittedKey("a1", "ann", 2), CommittedKey("b1", "bob", 1)]
        state = await gate.rebuild(SALE, 10, 2, truth)
        assert (state.left, state.committed, state.per_buyer) == (7, 3, {"ann": 2, "bob": 1})
        retry = await gate.take(SALE, "ann", "a1", 2, T0)
        assert (retry.answer, retry.retry, retry.state, retry.left) == (
            Answer.GRANTED,
            True,
            KeyState.COMMITTED,
            7,
        )
        assert (await gate.take(SALE, "ann", "a2", 1, T0)).answer is Answer.LIMIT
        assert (await gate.take(SALE, "cy", "c2", 1, T0)).granted
        await _balanced(gate)

        await client.flushall()
        assert await gate.left(SALE) is None
        await gate.rebuild(SALE, 10, 2, truth)
        assert await gate.left(SALE) == 7
    finally:
        await client.aclose()


async def test_keys_of_a_sale_share_a_slot_and_expire(redis_url: str) -> None:
    client = _client(redis_url)
    prefix = _prefix()
    gate = RedisGate(client, prefix=prefix, idle=timedelta(hours=1), keep=timedelta(minutes=5))
    try:
        keys = sale_keys(SALE, prefix)
        assert all(f"{{{SALE}}}" in key for key in keys)
        await gate.open(SALE, 5, None)
        await gate.take(SALE, "ann", "a1", 1, T0)
        assert all(0 < ttl <= 3_600_000 for ttl in [await client.pttl(key) for key in keys])
        await gate.close(SALE)
        assert all(0 < ttl <= 300_000 for ttl in [await client.pttl(key) for key in keys[:3]])
        with pytest.raises(ValueError, match="braces"):
            sale_keys("a}b")
    finally:
        await client.aclose()


def test_gate_refuses_bad_arguments() -> None:
    gate = MemoryGate()
    with pytest.raises(ValueError, match="timezone"):
        millis(datetime(2026, 1, 1))  # noqa: DTZ001 - the naive time is the point
    with pytest.raises(ValueError, match="at least one unit"):
        asyncio.run(gate.take(SALE, "ann", "a1", 0, T0))
    with pytest.raises(ValueError, match="negative"):
        asyncio.run(gate.open(SALE, -1, None))
    with pytest.raises(ValueError, match="per-buyer"):
        asyncio.run(gate.open(SALE, 1, 0))


async def test_memory_gate_forgets_old_closed_sales() -> None:
    gate = MemoryGate(keep_closed=2)
    for sale in ("s1", "s2", "s3"):
        await gate.open(sale, 1, None)
        await gate.close(sale)
    assert await gate.snapshot("s1") is None
    assert await gate.snapshot("s3") is not None


@pytest.mark.skipif(shutil.which("redis-benchmark") is None, reason="redis-benchmark missing")
async def test_redis_benchmark_runs_the_take_script(redis_url: str) -> None:
    client = _client(redis_url)
    prefix = _prefix()
    try:
        gate = RedisGate(client, prefix=prefix)
        await gate.open(SALE, 500, None)
        call = take_benchmark_call(SALE, prefix=prefix, now_ms=millis(T0))
        assert call.script == take_script()
        assert await client.script_load(call.script) == call.sha
        where = urlsplit(redis_url)
        command = ["redis-benchmark", "-h", str(where.hostname), "-p", str(where.port)]
        command += ["-n", "2000", "-c", "8", "-r", "100000000", "-q", *call.command()]
        done = await asyncio.to_thread(
            subprocess.run, command, capture_output=True, text=True, timeout=60, check=False
        )
        assert done.returncode == 0, done.stderr
        state = await _balanced(gate)
        assert (state.left, state.in_flight) == (0, 500)
    finally:
        await client.aclose()


# ------------------------------------------------------------------ both gates alike

_buyers = st.sampled_from(["ann", "bob", "cy"])
_keys = st.sampled_from([f"k{i}" for i in range(6)])
_ops = st.one_of(
    st.tuples(st.just("take"), _buyers, _keys, st.integers(1, 3), st.integers(0, 10)),
    st.tuples(st.just("confirm"), _keys),
    st.tuples(st.just("release"), _keys, st.booleans()),
    st.tuples(st.just("in_flight"), st.integers(0, 12)),
    st.tuples(st.just("close")),
    st.tuples(st.just("rebuild")),
)


async def _run_both(
    redis_url: str, quantity: int, limit: int | None, ops: list[tuple[object, ...]]
) -> None:
    client = _client(redis_url)
    memory, shared = MemoryGate(), RedisGate(client, prefix=_prefix())
    # What the database holds: keys whose order committed and was not given back.
    database: dict[str, CommittedKey] = {}
    closed = False
    try:
        for gate in (memory, shared):
            assert await gate.open(SALE, quantity, limit)
        for op in ops:
            answers = [
                await _apply(gate, op, database, quantity, limit, closed)
                for gate in (memory, shared)
            ]
            assert answers[0] == answers[1], op
            _remember(op, answers[0], database, memory)
            closed = closed or op[0] == "close"
            states = [await gate.snapshot(SALE) for gate in (memory, shared)]
            assert states[0] == states[1], op
            assert states[0] is not None and states[0].balanced, (op, states[0])
    finally:
        await client.aclose()


async def _apply(
    gate: SaleGate,
    op: tuple[object, ...],
    database: dict[str, CommittedKey],
    quantity: int,
    limit: int | None,
    closed: bool,
) -> object:
    match op:
        case ("take", str(buyer), str(key), int(units), int(minute)):
            return await gate.take(SALE, buyer, key, units, T0 + timedelta(minutes=minute))
        case ("confirm", str(key)):
            return await gate.confirm(SALE, key)
        case ("release", str(key), bool(only)):
            return await gate.release(SALE, key, only_in_flight=only)
        case ("in_flight", int(minute)):
            return await gate.in_flight(SALE, T0 + timedelta(minutes=minute))
        case ("close",):
            return await gate.close(SALE)
        case ("rebuild",):
            return await gate.rebuild(SALE, quantity, limit, database.values(), closed=closed)
    raise AssertionError(op)


def _remember(
    op: tuple[object, ...], answer: object, database: dict[str, CommittedKey], memory: MemoryGate
) -> None:
    """Keep the test's database in step: a confirmed key is committed, a released one gone."""
    key = op[1] if len(op) > 1 else None
    if op[0] == "confirm" and answer is True and isinstance(key, str) and key not in database:
        state = memory._sales[SALE].keys[key]  # the order carries the grant's buyer and units
        database[key] = CommittedKey(key, state.buyer_id, state.units)
    elif op[0] == "release" and isinstance(answer, Release) and answer.units:
        database.pop(str(key), None)


@given(
    quantity=st.integers(0, 8),
    limit=st.one_of(st.none(), st.integers(1, 4)),
    ops=st.lists(_ops, max_size=40),
)
def test_memory_and_redis_gates_answer_alike(
    redis_url: str, quantity: int, limit: int | None, ops: list[tuple[object, ...]]
) -> None:
    asyncio.run(_run_both(redis_url, quantity, limit, ops))


async def test_a_batch_of_keys_is_confirmed_in_one_step(gate: SaleGate) -> None:
    await gate.open(SALE, 5, None)
    for buyer in ("ann", "bob", "cy"):
        assert (await gate.take(SALE, buyer, f"k-{buyer}", 1, T0)).granted
    await gate.release(SALE, "k-cy")
    assert await gate.confirm(SALE, "k-bob")
    # ann's is confirmed now, bob's was already, cy's was given back, dan's never existed.
    assert await gate.confirm_many(SALE, ["k-ann", "k-bob", "k-cy", "k-dan"]) == 2
    assert await gate.confirm_many(SALE, []) == 0
    state = await _balanced(gate)
    assert (state.left, state.in_flight, state.committed) == (3, 0, 2)
    assert await gate.in_flight(SALE, T0 + timedelta(days=1)) == []


async def test_a_retry_tells_when_its_units_were_taken(gate: SaleGate) -> None:
    await gate.open(SALE, 3, None)
    first = await gate.take(SALE, "ann", "k-ann", 1, T0)
    again = await gate.take(SALE, "ann", "k-ann", 1, T0 + timedelta(minutes=5))
    assert first.taken_ms == again.taken_ms == millis(T0)
    assert again.retry
    sold_out = await gate.take(SALE, "bob", "k-bob", 5, T0)
    assert sold_out.taken_ms == 0


async def test_every_change_of_the_units_left_has_a_newer_version(gate: SaleGate) -> None:
    assert await gate.count(SALE) is None
    await gate.open(SALE, 5, None)
    seen = [await gate.count(SALE)]
    assert (await gate.take(SALE, "ann", "a1", 2, T0)).granted
    seen.append(await gate.count(SALE))
    assert (await gate.take(SALE, "ann", "a1", 2, T0)).retry  # a retry changes nothing
    assert await gate.count(SALE) == seen[-1]
    assert await gate.confirm(SALE, "a1")  # neither does a commit: the units were taken
    assert await gate.count(SALE) == seen[-1]
    assert (await gate.release(SALE, "a1")).units == 2
    seen.append(await gate.count(SALE))
    await gate.rebuild(SALE, 5, None, [CommittedKey("b1", "bob", 1)])
    seen.append(await gate.count(SALE))
    assert await gate.close(SALE) == 4
    seen.append(await gate.count(SALE))
    counts = [count for count in seen if count is not None]
    assert [count.left for count in counts] == [5, 3, 5, 4, 0]
    versions = [count.version for count in counts]
    assert versions == sorted(set(versions)), versions  # strictly growing, rebuild included
