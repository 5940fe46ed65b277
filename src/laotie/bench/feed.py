"""`laotie bench feed`: how fast is `GET /api/feed` for viewers with a history?

A throwaway server (pinned to one core, on SQLite or a throwaway PostgreSQL) gets a
marketplace written straight into its database: 1,000 live rooms of 1,000 shops (their
kept trust scores spread over the scale), viewers who follow 10 anchors each (100,000
follow edges), a visit history for each viewer, and 1,000,000 impressions of the last
day. The load generator (pinned to the other core) asks for feeds as signed-in viewers
(a different one each request): one request at a time (`p50_ms`, `p99_ms`), then 32 at a
time (`feeds_per_s`), each phase against `/healthz` on the same server.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import tempfile
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from laotie.accounts.models import AuthToken, User
from laotie.accounts.service import hash_token
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
from laotie.catalog import service as catalog
from laotie.catalog.models import Product, Shop
from laotie.core.clock import SystemClock
from laotie.core.context import unit_of_work
from laotie.db.engine import make_database
from laotie.live.models import LiveCartItem, LiveSession, Visit
from laotie.settings import Settings
from laotie.traffic.models import FeedImpression, FeedRoomCount, Follow
from laotie.trust.models import ShopScore

DATABASES = ("sqlite", "postgresql")
CHUNK = 10_000
FOLLOWS_EACH = 10
VISITS_EACH = 20
CATEGORIES = tuple(slug for slug, *_ in catalog.DEFAULT_CATEGORIES)


def run_feed(
    *,
    rooms: int = 1_000,
    follows: int = 100_000,
    impressions: int = 1_000_000,
    duration: float = 10.0,
    concurrency: int = 32,
    warmup: float = 1.0,
    database: str = "sqlite",
) -> dict[str, Any]:
    """Seed the marketplace, run the phases, return the figures."""
    if database not in DATABASES:
        raise ValueError(f"database must be one of {', '.join(DATABASES)}")
    raise_open_files()
    server_core, client_core = pick_cores()
    viewers = max(follows // FOLLOWS_EACH, 1)
    with contextlib.ExitStack() as stack:
        # The daily jobs would score the thousand shops while the feed is measured.
        extra = {"LAOTIE_RUN_JOBS": "false"}
        if database == "postgresql":
            postgres = stack.enter_context(postgres_server(server_core))
            extra["LAOTIE_DATABASE_URL"] = stack.enter_context(fresh_database(postgres))
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="laotie-bench-")))
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = migrated_sqlite_env(folder, url, extra)
        started = time.monotonic()
        tokens = asyncio.run(seed(env["LAOTIE_DATABASE_URL"], rooms, viewers, impressions))
        seed_s = time.monotonic() - started
        # Seeded before the server starts, so that nothing else writes meanwhile.
        process = stack.enter_context(
            pinned_process(serve_command(port), url, folder, server_core, env)
        )
        server = Server(url, process.pid)
        phases = _phases(server, tokens, concurrency, duration, warmup, client_core)
    figures = _figures(phases, database, rooms, viewers, impressions, seed_s, concurrency)
    return {**figures, "cores": {"server": server_core, "client": client_core}}


def _phases(
    server: Server,
    tokens: list[str],
    concurrency: int,
    duration: float,
    warmup: float,
    client_core: int,
) -> dict[str, dict[str, Any]]:
    """Measure /healthz and the feed, one request at a time and then `concurrency` at a time."""
    host, port = server.host_port
    params = {"host": f"{host}:{port}", "tokens": tokens}
    found: dict[str, dict[str, Any]] = {}
    for users in (1, concurrency):
        plan = {
            "host": host,
            "port": port,
            "concurrency": users,
            "server_pid": server.pid,
            "phases": [
                _phase(f"healthz_{users}", "healthz_step", params, duration, warmup),
                _phase(f"feed_{users}", "feed_step", params, duration, warmup),
            ],
        }
        for phase in run_load_generator(plan, client_core)["phases"]:
            found[phase["name"]] = phase
    return found


def _phase(
    name: str, step: str, params: Mapping[str, Any], duration: float, warmup: float
) -> dict[str, Any]:
    return {
        "name": name,
        "scenario": f"laotie.bench.feed:{step}",
        "params": params,
        "duration": duration,
        "warmup": warmup,
    }


def _figures(
    phases: Mapping[str, Mapping[str, Any]],
    database: str,
    rooms: int,
    viewers: int,
    impressions: int,
    seed_s: float,
    concurrency: int,
) -> dict[str, Any]:
    one, many = phases["feed_1"], phases[f"feed_{concurrency}"]
    base_one, base_many = phases["healthz_1"], phases[f"healthz_{concurrency}"]

    def rate(phase: Mapping[str, Any]) -> float:
        return float(phase["ok"]) / float(phase["wall_s"])

    shares = [client_share(phase) for phase in phases.values()]
    return {
        "benchmark": "feed",
        "database": database,
        "rooms": rooms,
        "viewers": viewers,
        "follow_edges": viewers * FOLLOWS_EACH,
        "impressions": impressions,
        "seed_s": rounded(seed_s, 1),
        "p50_ms": rounded(one["latency_ms"]["feed"]["p50"], 2),
        "p99_ms": rounded(one["latency_ms"]["feed"]["p99"], 2),
        "healthz_p99_ms": rounded(base_one["latency_ms"]["request"]["p99"], 2),
        "feeds_per_s": rounded(rate(many), 1),
        "concurrent_p99_ms": rounded(many["latency_ms"]["feed"]["p99"], 1),
        "healthz_per_s": rounded(rate(base_many), 1),
        "ratio": rounded(rate(many) / rate(base_many), 4),
        "concurrency": concurrency,
        "failures": {
            name: phase["failures"] for name, phase in phases.items() if phase["failures"]
        },
        "client_cpu_share": rounded(max(shares), 2),
        "client_bound": max(shares) > CLIENT_BOUND_SHARE,
    }


# ---------------------------------------------------------------- what virtual users do


def feed_step(params: Mapping[str, Any], user: int) -> Step:
    """Return a step that asks for one viewer's feed, a different viewer each time."""
    host, tokens = params["host"], params["tokens"]
    requests = [
        build_request("GET", "/api/feed", host, {"Authorization": f"Bearer {token}"})
        for token in tokens[user::32] or tokens
    ]
    turn = iter(range(1 << 62))

    async def step(connection: HttpConnection, recorder: Recorder) -> None:
        raw = requests[next(turn) % len(requests)]
        started = time.perf_counter()
        status, body = await connection.request(raw)
        if status != 200 or not json.loads(body)["items"]:
            return recorder.failure(f"feed {status}", body)
        recorder.success(feed=time.perf_counter() - started)

    return step


__all__ = ["feed_step", "healthz_step", "run_feed"]


# ---------------------------------------------------------------- seeding


async def seed(database_url: str, rooms: int, viewers: int, impressions: int) -> list[str]:
    """Write the marketplace into the server's database; return the viewers' API tokens."""
    settings = Settings(database_url=database_url, log_level="WARNING")
    database = make_database(settings)
    now = datetime.now(UTC)
    rng = random.Random(11)
    try:
        async with unit_of_work(database, settings, SystemClock()) as ctx:
            await catalog.do_ensure_default_categories(ctx)
        tables = _marketplace(rooms, viewers, impressions, now, rng)
        tokens = [f"bench-feed-{i:07d}" for i in range(viewers)]
        tables.insert(2, (AuthToken, list(_tokens(tokens, now))))
        for table, rows in tables:
            for chunk in _chunks(rows):
                async with unit_of_work(database, settings, SystemClock()) as ctx:
                    await ctx.db.execute(insert(table), chunk)
    finally:
        await database.dispose()
    return tokens


def _marketplace(
    rooms: int, viewers: int, impressions: int, now: datetime, rng: random.Random
) -> list[tuple[Any, Any]]:
    """Return the rows of every table to seed, in the order their keys need."""
    anchors = [f"usr_anchor{i:06d}" for i in range(rooms)]
    people = [f"usr_viewer{i:07d}" for i in range(viewers)]
    sessions = [f"liv_bench{i:06d}" for i in range(rooms)]
    shown = _impressions(sessions, people, impressions, now, rng)
    return [
        (User, [_user(uid, now) for uid in anchors + people]),
        (Shop, [_shop(i, anchors[i], now) for i in range(rooms)]),
        (Product, [_product(i, now) for i in range(rooms)]),
        (LiveSession, [_session(i, anchors[i], now) for i in range(rooms)]),
        (
            LiveCartItem,
            [
                {"session_id": s, "product_id": f"prd_bench{i:06d}", "position": 0}
                for i, s in enumerate(sessions)
            ],
        ),
        (ShopScore, [_score(i, now, rng) for i in range(rooms)]),
        (Follow, list(_follows(people, anchors, now, rng))),
        (Visit, list(_visits(people, sessions, now, rng))),
        (FeedImpression, shown),
        (FeedRoomCount, _counts(shown, now)),
    ]


def _user(user_id: str, now: datetime) -> dict[str, Any]:
    return {
        "id": user_id,
        "email": f"{user_id}@bench.example",
        "name": user_id,
        "password_hash": "-",
        "roles": "buyer seller anchor" if "anchor" in user_id else "buyer",
        "failed_sign_ins": 0,
        "locked_until": None,
        "created_at": now,
    }


def _tokens(tokens: list[str], now: datetime) -> Iterator[dict[str, Any]]:
    for i, token in enumerate(tokens):
        yield {
            "token_hash": hash_token(token),
            "id": f"tok_bench{i:07d}",
            "user_id": f"usr_viewer{i:07d}",
            "kind": "api",
            "label": "bench",
            "created_at": now,
            "expires_at": now + timedelta(days=1),
        }


def _shop(i: int, owner: str, now: datetime) -> dict[str, Any]:
    return {
        "id": f"shp_bench{i:06d}",
        "owner_id": owner,
        "name": f"Bench shop {i:06d}",
        "description": "",
        "verified": False,
        "deposit_minor": 0,
        "currency": "CNY",
        "created_at": now,
        "suspended_until": None,
        "trust_badge": False,
    }


def _product(i: int, now: datetime) -> dict[str, Any]:
    return {
        "id": f"prd_bench{i:06d}",
        "shop_id": f"shp_bench{i:06d}",
        "title": f"Bench item {i}",
        "description": "",
        "images": [],
        "category_slug": CATEGORIES[i % len(CATEGORIES)],
        "status": "active",
        "created_at": now,
    }


def _session(i: int, anchor: str, now: datetime) -> dict[str, Any]:
    started = now - timedelta(hours=1)
    return {
        "id": f"liv_bench{i:06d}",
        "anchor_id": anchor,
        "shop_id": f"shp_bench{i:06d}",
        "title": f"Bench show {i}",
        "cover_url": None,
        "status": "live",
        "scheduled_at": started,
        "started_at": started,
        "ended_at": None,
        "pinned_product_id": None,
        "likes": 0,
        "created_at": started,
    }


def _score(i: int, now: datetime, rng: random.Random) -> dict[str, Any]:
    """A kept score from 3.8 to 5.0, so that some shops sit under the feed's floor."""
    return {
        "shop_id": f"shp_bench{i:06d}",
        "day": now.date(),
        "score": round(rng.uniform(3.8, 5.0), 2),
        "tier": "bench",
        "new": False,
        "buyers": 100,
        "dimensions": [],
        "formula_version": "bench",
        "computed_at": now,
    }


def _follows(
    people: list[str], anchors: list[str], now: datetime, rng: random.Random
) -> Iterator[dict[str, Any]]:
    for person in people:
        for anchor in rng.sample(anchors, min(FOLLOWS_EACH, len(anchors))):
            yield {
                "user_id": person,
                "target_kind": "anchor",
                "target_id": anchor,
                "created_at": now,
            }


def _visits(
    people: list[str], sessions: list[str], now: datetime, rng: random.Random
) -> Iterator[dict[str, Any]]:
    """Each viewer's history: a few visits of the last days, most of one favourite category."""
    for n, person in enumerate(people):
        favourite = n % len(CATEGORIES)
        for k in range(VISITS_EACH):
            room = rng.randrange(len(sessions))
            if k % 4:  # three in four of its visits in its favourite category
                room -= room % len(CATEGORIES) - favourite
                room %= len(sessions)
            entered = now - timedelta(minutes=rng.randrange(1, 3 * 24 * 60))
            yield {
                "id": f"vst_bench{n:07d}{k:02d}",
                "session_id": sessions[room],
                "viewer_key": person,
                "user_id": person,
                "source": "recommend_feed" if k % 3 else "other",
                "follows_anchor": False,
                "private": False,
                "entered_at": entered,
                "last_seen_at": entered,
                "watch_seconds": rng.randrange(5, 900),
            }


def _impressions(
    sessions: list[str], people: list[str], count: int, now: datetime, rng: random.Random
) -> list[dict[str, Any]]:
    return [
        {
            "viewer_key": people[rng.randrange(len(people))],
            "session_id": sessions[rng.randrange(len(sessions))],
            "position": rng.randrange(20),
            "promoted": False,
            "shown_at": now - timedelta(seconds=rng.randrange(86_400)),
        }
        for _ in range(count)
    ]


def _counts(shown: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    per_room: dict[str, int] = {}
    for row in shown:
        per_room[row["session_id"]] = per_room.get(row["session_id"], 0) + 1
    return [
        {"session_id": sid, "impressions": n, "promoted": 0, "updated_at": now}
        for sid, n in sorted(per_room.items())
    ]


def _chunks(rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), CHUNK):
        yield rows[start : start + CHUNK]
