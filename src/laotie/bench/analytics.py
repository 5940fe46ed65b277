"""`laotie bench analytics`: how fast are a shop's monthly reports on a year of history?

A throwaway database (SQLite, or a throwaway PostgreSQL) gets a year of history written
straight into it (`bench/analytics_history.py`: 500 shops, 200,000 buyers, 2,000 anchors,
5,000,000 visits watching 10,000,000 minutes, 1,000,000 paid orders). The day rollups are
then filled for every final day through the analytics services, as the job would
(`fill_s`), one mid-year day again (`refresh_s`), and every whole month is counted into
the month rollups (`months_s`). A pinned server then answers, one request at a time from
a load generator on the other core, a shop owner's month for 200 random shops and months:
the GMV identity's change against the month before (LMDI) and the repurchase report, from
the rollups (a pair: `p50_ms`, `p99_ms`), then both from the raw rows (`raw_p50_ms`,
`raw_p99_ms`), against /healthz.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import tempfile
import time
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text

from laotie.analytics.models import SaleFact, ViewerDay
from laotie.analytics.months import do_fill_month, do_mark_months_filled, months_due
from laotie.analytics.rollups import (
    days_between,
    do_fill_day,
    do_mark_filled,
    first_day_with_facts,
    last_final_day,
)
from laotie.bench.analytics_history import History, Sizes, seed_history
from laotie.bench.checkout import healthz_step
from laotie.bench.common import (
    CLIENT_BOUND_SHARE,
    Server,
    client_share,
    free_port,
    fresh_database,
    migrated_sqlite_env,
    pick_cores,
    pinned_process,
    postgres_server,
    raise_open_files,
    rounded,
    run_load_generator,
    serve_command,
)
from laotie.bench.loadgen import HttpConnection, Recorder, Step, build_request
from laotie.catalog.models import ShelfView, Shop
from laotie.core.clock import SystemClock
from laotie.core.context import unit_of_work
from laotie.db.engine import make_database
from laotie.live.models import LiveSession, Visit
from laotie.orders.models import Order
from laotie.settings import Settings

DATABASES = ("sqlite", "postgresql")
REQUESTS = ("change", "repurchase", "raw change", "raw repurchase")
SAME = "same"  # the change and the repurchase answered alike from the rollups and raw rows
WARMUP_PAIRS = 20  # unmeasured (shop, month) pairs of each kind, other than the measured ones
HEALTHZ_SECONDS = 2.0
# A cap on a phase of requests: one at a time, even raw reads end long before.
PHASE_SECONDS = 3_600.0


def run_analytics(
    *, sizes: Sizes, requests: int = 200, database: str = "sqlite", seed: int = 7
) -> dict[str, Any]:
    """Seed a year, fill its rollups, time a shop's monthly reports; return the figures."""
    if database not in DATABASES:
        raise ValueError(f"database must be one of {', '.join(DATABASES)}")
    raise_open_files()
    server_core, client_core = pick_cores()
    today = datetime.now(UTC).date()
    with contextlib.ExitStack() as stack:
        # The daily jobs would fill or score meanwhile; the benchmark fills the rollups itself.
        extra = {"LAOTIE_RUN_JOBS": "false"}
        if database == "postgresql":
            postgres = stack.enter_context(postgres_server(server_core))
            extra["LAOTIE_DATABASE_URL"] = stack.enter_context(fresh_database(postgres))
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="laotie-bench-")))
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = migrated_sqlite_env(folder, url, extra)
        database_url = env["LAOTIE_DATABASE_URL"]
        started = time.monotonic()
        history = asyncio.run(seed_history(database_url, sizes, today, seed))
        seed_s = time.monotonic() - started
        filled = asyncio.run(fill_rollups(database_url, today, database == "postgresql"))
        # Filled before the server starts, so that nothing else writes meanwhile.
        process = stack.enter_context(
            pinned_process(serve_command(port), url, folder, server_core, env)
        )
        # The warm-up asks for other shops and months than those measured.
        chosen = month_pairs(
            history, last_final_day(today), requests + WARMUP_PAIRS, random.Random(seed)
        )
        pairs, warmup = chosen[:requests], chosen[requests:]
        loadavg = os.getloadavg()[0]
        phases = _phases(Server(url, process.pid), history, pairs, warmup, client_core)
    figures = {
        "benchmark": "analytics",
        "database": database,
        **filled,
        "seed_s": rounded(seed_s, 1),
        **_figures(phases, len(pairs)),
    }
    cores = {"server": server_core, "client": client_core}
    return {**figures, "loadavg_before": round(loadavg, 2), "cores": cores}


# ---------------------------------------------------------------- the rollups


async def fill_rollups(database_url: str, today: date, analyze: bool) -> dict[str, Any]:
    """Fill every final day as the job does, a day a transaction, then refill a mid-year
    day; return the counts of the history and the rollups, and the times."""
    settings = Settings(database_url=database_url, log_level="WARNING")
    database = make_database(settings)
    try:
        async with unit_of_work(database, settings, SystemClock()) as ctx:
            first = await first_day_with_facts(ctx)
        assert first is not None, "the history is empty"
        days = list(days_between(first, last_final_day(today)))
        started = time.monotonic()
        for day in days:
            async with unit_of_work(database, settings, SystemClock()) as ctx:
                await do_fill_day(ctx, day)
                await do_mark_filled(ctx, day)
        fill_s = time.monotonic() - started
        # Refilled without moving how far the rollups are filled: the day's rows again.
        middle = days[len(days) // 2]
        started = time.monotonic()
        async with unit_of_work(database, settings, SystemClock()) as ctx:
            refilled = await do_fill_day(ctx, middle)
        refresh_s = time.monotonic() - started
        month_seconds = await _count_months(database, settings)
        async with unit_of_work(database, settings, SystemClock()) as ctx:
            counts = await _counts(ctx)
            if analyze:  # what autovacuum would have done by then, in one go
                await ctx.db.execute(text("ANALYZE"))
    finally:
        await database.dispose()
    return {
        **counts,
        "filled_days": len(days),
        "fill_s": rounded(fill_s, 1),
        "months_counted": len(month_seconds),
        "months_s": rounded(sum(month_seconds), 1),
        "month_max_s": rounded(max(month_seconds, default=0.0), 1),
        "refresh_s": rounded(refresh_s, 2),
        "refresh_day": middle.isoformat(),
        "refresh_rows": {"viewer_days": refilled[0], "sale_facts": refilled[1]},
    }


async def _count_months(database: Any, settings: Settings) -> list[float]:
    """Count every whole month the days hold, as the job does, a month a transaction;
    return the seconds each took."""
    seconds: list[float] = []
    while True:
        async with unit_of_work(database, settings, SystemClock()) as ctx:
            due = await months_due(ctx)
        if not due:
            return seconds
        for month in due:
            started = time.monotonic()
            async with unit_of_work(database, settings, SystemClock()) as ctx:
                await do_fill_month(ctx, month)
                await do_mark_months_filled(ctx, month)
            seconds.append(time.monotonic() - started)


async def _counts(ctx: Any) -> dict[str, Any]:
    """The rows written, read back: the history is what the figures say it is."""

    async def count(query: Any) -> int:
        return int(await ctx.db.scalar(query) or 0)

    return {
        "shops": await count(select(func.count()).select_from(Shop)),
        "sessions": await count(select(func.count()).select_from(LiveSession)),
        "visits": await count(select(func.count()).select_from(Visit)),
        "watch_minutes": await count(select(func.sum(Visit.watch_seconds))) // 60,
        "orders": await count(select(func.count()).select_from(Order)),
        "live_orders": await count(select(func.count(Order.live_session_id))),
        "shelf_views": await count(select(func.count()).select_from(ShelfView)),
        "viewer_days": await count(select(func.count()).select_from(ViewerDay)),
        "sale_facts": await count(select(func.count()).select_from(SaleFact)),
    }


# ---------------------------------------------------------------- what is asked


def whole_months(first: date, end: date) -> list[date]:
    """The first days of the calendar months lying whole in [first, end)."""
    month = first if first.day == 1 else _next_month(first)
    months = []
    while _next_month(month) <= end:
        months.append(month)
        month = _next_month(month)
    return months


def _next_month(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


def months_touching(first: date, end: date) -> list[date]:
    """The first days of the calendar months that overlap [first, end)."""
    month, months = first.replace(day=1), []
    while month < end:
        months.append(month)
        month = _next_month(month)
    return months


def month_pairs(
    history: History, last_filled: date, count: int, rng: random.Random
) -> list[tuple[int, date]]:
    """`count` random (shop, month) pairs, each at most once while there are enough, of the
    months the rollups hold whole after a whole one, which each is compared with (or, in a
    history too short for that, of any month)."""
    end = last_filled + timedelta(days=1)
    months = whole_months(history.first_day, end)[1:] or months_touching(history.first_day, end)
    every = [(shop, month) for shop in range(len(history.shop_ids)) for month in months]
    if len(every) >= count:
        return rng.sample(every, count)
    return [rng.choice(every) for _ in range(count)]


def _requests(history: History, pairs: list[tuple[int, date]]) -> list[list[str]]:
    """The paths of each pair's requests (the month's change against the month before and
    its repurchase, from the rollups, then from the raw rows), with the owner's token."""
    found = []
    for shop, month in pairs:
        shop_id, days = history.shop_ids[shop], f"start={month}&end={_next_month(month)}"
        before = f"base_start={_month_before(month)}&base_end={month}"
        change = f"/api/analytics/shop/{shop_id}/change?{days}&{before}"
        repurchase = f"/api/analytics/shop/{shop_id}/repurchase?{days}"
        raw = [f"{change}&source=raw", f"{repurchase}&source=raw"]
        found.append([change, repurchase, *raw, history.owner_tokens[shop]])
    return found


def _month_before(month: date) -> date:
    return (month - timedelta(days=1)).replace(day=1)


# ---------------------------------------------------------------- the phases


def _phases(
    server: Server,
    history: History,
    pairs: list[tuple[int, date]],
    warmup: list[tuple[int, date]],
    client_core: int,
) -> dict[str, dict[str, Any]]:
    """/healthz, then the warm-up pairs, then the measured ones, one request at a time."""
    host, port = server.host_port

    def phase(name: str, chosen: list[tuple[int, date]]) -> dict[str, Any]:
        return {
            "name": name,
            "scenario": "laotie.bench.analytics:round_step",
            "params": {"host": f"{host}:{port}", "pairs": _requests(history, chosen)},
            "duration": PHASE_SECONDS,
            "warmup": 0,
            "steps": len(chosen),
        }

    healthz = {
        "name": "healthz",
        "scenario": "laotie.bench.analytics:healthz_step",
        "params": {"host": f"{host}:{port}"},
        "duration": HEALTHZ_SECONDS,
        "warmup": 0.5,
    }
    plan = {
        "host": host,
        "port": port,
        "concurrency": 1,
        "server_pid": server.pid,
        "phases": [healthz, phase("warmup", warmup), phase("rounds", pairs)],
    }
    return {found["name"]: found for found in run_load_generator(plan, client_core)["phases"]}


def _figures(phases: Mapping[str, Mapping[str, Any]], requests: int) -> dict[str, Any]:
    rounds, healthz = phases["rounds"], phases["healthz"]

    def ms(phase: Mapping[str, Any], timing: str, q: str) -> float | None:
        found = phase["latency_ms"].get(timing)
        return None if found is None else rounded(found[q], 2)

    p99, raw_p99 = ms(rounds, "pair", "p99"), ms(rounds, "raw_pair", "p99")
    used = rounds["server_cpu_s"]
    shares = [client_share(phase) for phase in (rounds, healthz)]
    return {
        "requests": requests,
        "p50_ms": ms(rounds, "pair", "p50"),
        "p99_ms": p99,
        "raw_p50_ms": ms(rounds, "raw_pair", "p50"),
        "raw_p99_ms": raw_p99,
        "ratio": None if not p99 or raw_p99 is None else rounded(raw_p99 / p99, 2),
        "change_p50_ms": ms(rounds, "change", "p50"),
        "change_p99_ms": ms(rounds, "change", "p99"),
        "raw_change_p50_ms": ms(rounds, "raw_change", "p50"),
        "raw_change_p99_ms": ms(rounds, "raw_change", "p99"),
        "repurchase_p50_ms": ms(rounds, "repurchase", "p50"),
        "repurchase_p99_ms": ms(rounds, "repurchase", "p99"),
        "raw_repurchase_p50_ms": ms(rounds, "raw_repurchase", "p50"),
        "raw_repurchase_p99_ms": ms(rounds, "raw_repurchase", "p99"),
        # The server's CPU time for the four requests of a (shop, month); the latencies
        # above it were spent waiting (for the disk, or for a core shared with other work).
        "server_cpu_ms_per_pair": None
        if used is None
        else rounded(1000 * used / max(rounds["ok"], 1), 2),
        "same_answers": rounds["kept"].count(SAME),
        "healthz_p50_ms": ms(healthz, "request", "p50"),
        "healthz_p99_ms": ms(healthz, "request", "p99"),
        "failures": {
            name: phase["failures"] for name, phase in phases.items() if phase["failures"]
        },
        "client_cpu_share": rounded(max(shares), 3),
        "client_bound": max(shares) > CLIENT_BOUND_SHARE,
    }


# ---------------------------------------------------------------- what the client does


def round_step(params: Mapping[str, Any], user: int) -> Step:
    """Return a step that asks for one (shop, month): its change and its repurchase from the
    rollups, then both from the raw rows; a pair is a change and a repurchase."""
    host = params["host"]
    requests = [
        [build_request("GET", path, host, {"Authorization": f"Bearer {token}"}) for path in paths]
        for *paths, token in params["pairs"]
    ]
    turn = iter(range(1 << 62))

    async def step(connection: HttpConnection, recorder: Recorder) -> None:
        # The rollups' pair first: the raw one then reads its own tables (visits and orders),
        # which the rollups' did not touch.
        answers, seconds = [], []
        for name, raw in zip(REQUESTS, requests[next(turn) % len(requests)], strict=True):
            started = time.perf_counter()
            status, body = await connection.request(raw)
            seconds.append(time.perf_counter() - started)
            if status != 200:
                return recorder.failure(f"{name} {status}", body)
            answers.append(body)
        change, repurchase, raw_change, raw_repurchase = seconds
        recorder.success(
            keep=SAME if answers[:2] == answers[2:] else "different",
            change=change,
            repurchase=repurchase,
            raw_change=raw_change,
            raw_repurchase=raw_repurchase,
            pair=change + repurchase,
            raw_pair=raw_change + raw_repurchase,
        )

    return step


__all__ = ["healthz_step", "round_step", "run_analytics"]
