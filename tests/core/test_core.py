"""Money arithmetic and formatting, the clock, rate limits, the job runner, error answers."""

from __future__ import annotations

import asyncio
import gc
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.datastructures import State

from laotie.core.clock import FrozenClock, SystemClock, as_utc
from laotie.core.gctune import (
    MIDDLE_THRESHOLD,
    OLDEST_THRESHOLD,
    YOUNG_THRESHOLD,
    tune_for_serving,
)
from laotie.core.http import install_error_handlers
from laotie.core.jobs import Job, SoleLease, run_jobs_forever, run_jobs_once
from laotie.core.money import Money, fee_of, format_minor
from laotie.core.ratelimit import RateLimiter
from laotie.core.stopping import Stop, finish


def test_money_adds_within_one_currency_only() -> None:
    total = Money(1_250, "CNY") + Money(50, "CNY") - Money(300, "CNY")
    assert total == Money(1_000, "CNY")
    assert total.times(3) == Money(3_000, "CNY")
    with pytest.raises(ValueError, match="cannot mix"):
        Money(1, "CNY") + Money(1, "USD")
    with pytest.raises(TypeError):
        Money(1.5, "CNY")  # type: ignore[arg-type]


def test_money_formats_without_floats() -> None:
    assert Money(123_456, "CNY").format() == "¥1,234.56"
    assert format_minor(-5, "USD") == "-$0.05"
    assert format_minor(1_000, "JPY") == "¥1,000"
    assert format_minor(1_234, "KWD") == "KWD 1.234"


def test_fee_rounds_half_up_and_never_exceeds_the_amount() -> None:
    assert fee_of(10_000, 500) == 500
    assert fee_of(10, 500) == 1  # 0.5 rounds up
    assert fee_of(9, 500) == 0
    assert fee_of(100, 20_000) == 100


def test_clocks_give_aware_utc() -> None:
    assert SystemClock().now().tzinfo is not None
    clock = FrozenClock(datetime(2026, 3, 1, tzinfo=UTC))
    clock.advance(timedelta(hours=1))
    assert clock.now() == datetime(2026, 3, 1, 1, tzinfo=UTC)
    with pytest.raises(ValueError):
        clock.advance(timedelta(seconds=-1))
    assert as_utc(datetime(2026, 3, 1)).tzinfo is UTC  # noqa: DTZ001 (a stored naive value)


def test_rate_limiter_opens_a_new_window() -> None:
    now = [0.0]
    limiter = RateLimiter(2, 60.0, now=lambda: now[0])
    assert [limiter.hit("a"), limiter.hit("a"), limiter.hit("a")] == [True, True, False]
    assert limiter.hit("b")
    now[0] = 61.0
    assert limiter.hit("a")


async def test_a_failing_job_does_not_stop_the_others() -> None:
    async def broken(_state: State) -> int:
        raise RuntimeError("boom")

    async def fine(_state: State) -> int:
        return 3

    moved = await run_jobs_once(State(), [Job("broken", broken), Job("fine", fine)])
    assert moved == {"broken": -1, "fine": 3}


async def test_jobs_run_on_an_interval_and_finish_their_sweep_when_stopped() -> None:
    runs: list[str] = []

    async def count(_state: State) -> int:
        runs.append("started")
        await asyncio.sleep(0.05)  # a sweep under way when the stop comes
        runs.append("done")
        return 1

    stop = Stop()
    task = asyncio.create_task(
        run_jobs_forever(State(), [Job("count", count)], 0.01, stop, SoleLease())
    )
    await asyncio.sleep(0.1)
    await finish([task], stop, grace_s=5)
    assert runs.count("started") >= 2
    assert runs[-1] == "done"  # not cut off


async def test_a_loop_past_its_grace_is_cancelled() -> None:
    async def stuck() -> None:
        await asyncio.sleep(60)

    task = asyncio.create_task(stuck())
    await finish([task], Stop(), grace_s=0.01)
    assert task.cancelled()


async def test_overload_and_failures_answer_json_with_a_code() -> None:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/busy")
    async def busy() -> None:
        raise PoolTimeoutError("QueuePool limit reached")

    @app.get("/broken")
    async def broken() -> None:
        raise RuntimeError("a bug")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        answer = await client.get("/busy")
        assert (answer.status_code, answer.json()["code"]) == (503, "busy")
        assert answer.headers["retry-after"] == "1"
        answer = await client.get("/broken")
        assert (answer.status_code, answer.json()["code"]) == (500, "internal_error")


def test_serving_freezes_start_up_objects_and_collects_less_often() -> None:
    before = (gc.get_threshold(), gc.get_freeze_count())
    try:
        tune_for_serving()
        assert gc.get_threshold() == (YOUNG_THRESHOLD, MIDDLE_THRESHOLD, OLDEST_THRESHOLD)
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*before[0])
