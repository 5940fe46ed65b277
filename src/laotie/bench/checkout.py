"""`laotie bench checkout`: orders placed and paid per second, against /healthz on the same server.

Each virtual user loops: buy now (one line, a fresh Idempotency-Key), open a payment,
pay on the sandbox's hosted page; the sandbox then sends the signed webhook that marks
the order paid, before the page answers. An order counts only when all three succeeded.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import random
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from laotie.bench.common import (
    BUYER_ADDRESS,
    CLIENT_BOUND_SHARE,
    Server,
    client_share,
    fresh_database,
    pick_cores,
    postgres_server,
    raise_open_files,
    rounded,
    run_load_generator,
    throwaway_server,
    wait_until_healthy,
)
from laotie.bench.loadgen import HttpConnection, Recorder, Step, build_request

PASSWORD = "bench password 1"  # noqa: S105 - a throwaway account's
PRICE_MINOR = 1_990
SKUS_PER_PRODUCT = 50
# The most buyers seeded against a server the benchmark did not start: its sign-in rate
# limit (per address and minute) is its own; virtual users then share buyers.
EXTERNAL_BUYERS = 15
DATABASES = ("sqlite", "postgresql")


@dataclass
class Market:
    """The seeded shop: who sells, what is on sale and in what number, who buys."""

    seller_token: str
    shop_id: str
    product_ids: list[str]
    sku_ids: list[str]
    stock_per_sku: int
    buyer_tokens: list[str]


# ---------------------------------------------------------------- seeding through the API


async def _expect(answer: httpx.Response, status: int) -> dict[str, Any]:
    if answer.status_code != status:
        raise RuntimeError(
            f"{answer.request.method} {answer.request.url.path}: "
            f"{answer.status_code} {answer.text[:300]}"
        )
    body: dict[str, Any] = answer.json()
    return body


async def _sign_up(client: httpx.AsyncClient, email: str, roles: list[str]) -> str:
    """Sign a user up and return a bearer token, waiting out the sign-in rate limit."""
    await _expect(
        await client.post(
            "/api/auth/sign-up",
            json={
                "email": email,
                "password": PASSWORD,
                "name": email.split("@")[0],
                "roles": roles,
            },
        ),
        201,
    )
    while True:
        answer = await client.post("/api/auth/tokens", json={"email": email, "password": PASSWORD})
        if answer.status_code != 429:
            token = str((await _expect(answer, 201))["token"])
            headers = {"Authorization": f"Bearer {token}"}
            await _expect(
                await client.post("/api/addresses", json=BUYER_ADDRESS, headers=headers), 201
            )
            return token
        print("sign-in rate limit reached; waiting", file=sys.stderr)
        await asyncio.sleep(10)


async def seed_market(
    client: httpx.AsyncClient, *, buyers: int, products: int, stock: int
) -> Market:
    """Create a seller with a shop, products of many SKUs, and signed-in buyers."""
    run = uuid.uuid4().hex[:8]
    seller_token = await _sign_up(client, f"seller-{run}@example.com", ["seller"])
    seller = {"Authorization": f"Bearer {seller_token}"}
    shop = await _expect(
        await client.post("/api/shops", json={"name": f"Bench shop {run}"}, headers=seller), 201
    )
    product_ids, sku_ids = [], []
    for number in range(products):
        skus = [
            {"attributes": {"variant": f"V{i}"}, "price_minor": PRICE_MINOR, "stock": stock}
            for i in range(SKUS_PER_PRODUCT)
        ]
        product = await _expect(
            await client.post(
                f"/api/shops/{shop['id']}/products",
                json={"title": f"Bench item {number}", "category": "home", "skus": skus},
                headers=seller,
            ),
            201,
        )
        product_ids.append(str(product["id"]))
        sku_ids += [str(sku["id"]) for sku in product["skus"]]
    gate = asyncio.Semaphore(8)

    async def buyer(number: int) -> str:
        async with gate:
            return await _sign_up(client, f"buyer-{run}-{number}@example.com", ["buyer"])

    tokens = await asyncio.gather(*(buyer(n) for n in range(buyers)))
    return Market(seller_token, str(shop["id"]), product_ids, sku_ids, stock, list(tokens))


# ---------------------------------------------------------------- what virtual users do


def healthz_step(params: Mapping[str, Any], user: int) -> Step:
    """Return a step that asks for /healthz once."""
    raw = build_request("GET", "/healthz", params["host"])

    async def step(connection: HttpConnection, recorder: Recorder) -> None:
        started = time.perf_counter()
        status, body = await connection.request(raw)
        if status == 200:
            recorder.success(request=time.perf_counter() - started)
        else:
            recorder.failure(f"healthz {status}", body)

    return step


def checkout_step(params: Mapping[str, Any], user: int) -> Step:
    """Return a step that buys one unit of a random SKU and pays for it."""
    host = params["host"]
    tokens, skus = params["tokens"], params["sku_ids"]
    auth = f"Bearer {tokens[user % len(tokens)]}"
    choose = random.Random(user).choice
    keys = (f"{params['run']}-{user}-{n}" for n in itertools.count())

    async def step(connection: HttpConnection, recorder: Recorder) -> None:
        line = '{"lines":[{"sku_id":"%s","quantity":1}]}' % choose(skus)  # noqa: UP031
        started = time.perf_counter()
        status, body = await connection.request(
            build_request(
                "POST",
                "/api/orders",
                host,
                {
                    "Authorization": auth,
                    "Content-Type": "application/json",
                    "Idempotency-Key": next(keys),
                },
                line.encode(),
            )
        )
        if status != 201:
            return recorder.failure(f"place {status}", body)
        placed = time.perf_counter()
        order_id = json.loads(body)["orders"][0]["id"]
        status, body = await connection.request(
            build_request(
                "POST",
                "/api/payments",
                host,
                {"Authorization": auth, "Content-Type": "application/json"},
                b'{"order_ids":["%s"]}' % order_id.encode(),
            )
        )
        if status != 201:
            return recorder.failure(f"payment {status}", body)
        payment_id = json.loads(body)["id"]
        status, body = await connection.request(
            build_request(
                "POST",
                f"/sandbox/pay/{payment_id}",
                host,
                {"Content-Type": "application/x-www-form-urlencoded"},
                b"action=pay",
            )
        )
        if status != 303:
            return recorder.failure(f"sandbox pay {status}", body)
        recorder.success(keep=order_id, order=time.perf_counter() - started, place=placed - started)

    return step


# ---------------------------------------------------------------- correctness afterwards


@dataclass
class Verdict:
    """What the database says about the run."""

    lost: int  # acknowledged orders that are not paid
    oversold: int  # SKUs whose units went negative or do not add up
    unpaid: int  # orders left pending by a step that failed half-way


def verify_in_database(path: Path, market: Market, acknowledged: list[str]) -> Verdict:
    """Check paid orders and the units equation of every SKU in the server's SQLite file."""
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        statuses = db.execute(STATUSES_SQL, (market.shop_id,)).fetchall()
        units = db.execute(UNITS_SQL, (market.shop_id,)).fetchall()
        skus = db.execute(SKUS_SQL, (market.shop_id,)).fetchall()
    return _verdict(market, acknowledged, statuses, units, skus)


async def verify_in_postgres(url: str, market: Market, acknowledged: list[str]) -> Verdict:
    """The same checks on the server's PostgreSQL database."""
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(url)
    try:
        async with engine.connect() as db:
            shop = {"shop": market.shop_id}

            async def rows(sql: str) -> list[Any]:
                return list((await db.execute(text(sql.replace("?", ":shop")), shop)).all())

            statuses = await rows(STATUSES_SQL)
            units = await rows(UNITS_SQL)
            skus = await rows(SKUS_SQL)
    finally:
        await engine.dispose()
    return _verdict(market, acknowledged, statuses, units, skus)


STATUSES_SQL = "SELECT id, status FROM orders WHERE shop_id = ?"
UNITS_SQL = (
    "SELECT l.sku_id, o.status, SUM(l.quantity) FROM order_lines l "
    "JOIN orders o ON o.id = l.order_id WHERE o.shop_id = ? GROUP BY 1, 2"
)
SKUS_SQL = "SELECT id, stock, reserved, sold, returned_unsellable FROM skus WHERE shop_id = ?"


def _verdict(
    market: Market,
    acknowledged: list[str],
    status_rows: Sequence[Any],
    unit_rows: Sequence[Any],
    skus: Sequence[Any],
) -> Verdict:
    statuses = {order_id: status for order_id, status in status_rows}
    units: dict[tuple[str, str], int] = {
        (sku, status): int(total) for sku, status, total in unit_rows
    }
    lost = sum(1 for order_id in acknowledged if statuses.get(order_id) != "paid")
    oversold = sum(
        1
        for sku, stock, reserved, sold, returned in skus
        if min(stock, reserved, sold, returned) < 0
        or stock + reserved + sold + returned != market.stock_per_sku
        or sold != units.get((sku, "paid"), 0)
        or reserved != units.get((sku, "pending_payment"), 0)
    )
    unpaid = sum(1 for status in statuses.values() if status == "pending_payment")
    return Verdict(lost, oversold, unpaid)


async def verify_through_api(url: str, market: Market, acknowledged: list[str]) -> Verdict:
    """Check paid orders and units on hand through the seller's API (a server not ours)."""
    seller = {"Authorization": f"Bearer {market.seller_token}"}
    orders: list[dict[str, Any]] = []
    async with httpx.AsyncClient(base_url=url, headers=seller, timeout=60) as client:
        for offset in itertools.count(0, 200):
            answer = await client.get(
                f"/api/shops/{market.shop_id}/orders", params={"limit": 200, "offset": offset}
            )
            page = answer.raise_for_status().json()
            orders += page
            if len(page) < 200:
                break
        on_hand: dict[str, int] = {}
        for product_id in market.product_ids:
            product = (await client.get(f"/api/products/{product_id}")).raise_for_status().json()
            on_hand |= {sku["id"]: sku["stock"] for sku in product["skus"]}
    statuses = {order["id"]: order["status"] for order in orders}
    taken: dict[str, int] = {}
    for order in orders:
        if order["status"] in {"pending_payment", "paid"}:
            for line in order["lines"]:
                taken[line["sku_id"]] = taken.get(line["sku_id"], 0) + line["quantity"]
    lost = sum(1 for order_id in acknowledged if statuses.get(order_id) != "paid")
    oversold = sum(
        1
        for sku, stock in on_hand.items()
        if stock < 0 or stock + taken.get(sku, 0) != market.stock_per_sku
    )
    unpaid = sum(1 for status in statuses.values() if status == "pending_payment")
    return Verdict(lost, oversold, unpaid)


# ---------------------------------------------------------------- statements per order


async def count_statements(database_url: str | None = None) -> dict[str, int]:
    """Count the SQL statements of placing one order, and of placing and paying it, in-process.

    On a fresh SQLite file unless given an empty database's URL (PostgreSQL).
    """
    from laotie.app import create_app
    from laotie.db.migrate import upgrade
    from laotie.settings import Settings

    origin = "http://bench.local"
    with tempfile.TemporaryDirectory(prefix="laotie-count-") as folder:
        database_url = database_url or f"sqlite+aiosqlite:///{folder}/count.db"
        await asyncio.to_thread(upgrade, database_url)
        settings = Settings(
            database_url=database_url,
            public_url=origin,
            run_jobs=False,
            argon2_time_cost=1,
            argon2_memory_kib=1_024,
            sign_up_rate_per_minute=1_000_000,
            log_level="WARNING",
        )
        app = create_app(settings)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=origin) as client:

            async def deliver(path: str, body: bytes, headers: dict[str, str]) -> None:
                await _expect(await client.post(path, content=body, headers=headers), 200)

            app.state.webhook_sender = deliver
            market = await seed_market(client, buyers=1, products=1, stock=100)
            buyer = {"Authorization": f"Bearer {market.buyer_tokens[0]}"}
            counter = app.state.database.counter
            counted: dict[str, int] = {}
            for attempt in range(2):  # the first warms caches; the second is counted
                with counter.counting() as statements:
                    order = await _expect(
                        await client.post(
                            "/api/orders",
                            json={"lines": [{"sku_id": market.sku_ids[0], "quantity": 1}]},
                            headers={**buyer, "Idempotency-Key": f"count-order-{attempt}"},
                        ),
                        201,
                    )
                    counted["place_order"] = len(statements)
                    order_id = order["orders"][0]["id"]
                    payment = await _expect(
                        await client.post(
                            "/api/payments", json={"order_ids": [order_id]}, headers=buyer
                        ),
                        201,
                    )
                    paid = await client.post(
                        f"/sandbox/pay/{payment['id']}", data={"action": "pay"}
                    )
                    if paid.status_code != 303:
                        raise RuntimeError(f"sandbox pay: {paid.status_code} {paid.text[:300]}")
                    counted["place_and_pay"] = len(statements)
        await app.state.database.dispose()
    return counted


# ---------------------------------------------------------------- the benchmark


def run_checkout(
    *,
    url: str | None = None,
    duration: float = 10.0,
    concurrency: int = 32,
    buyers: int | None = None,
    warmup: float = 1.0,
    stock: int = 1_000_000,
    database: str = "sqlite",
) -> dict[str, Any]:
    """Run the whole benchmark and return its figures.

    `database` "postgresql" runs the throwaway server on a throwaway PostgreSQL cluster
    (on the server's core), and counts the statements there too.
    """
    if database not in DATABASES:
        raise ValueError(f"database must be one of {', '.join(DATABASES)}")
    raise_open_files()
    load_before = os.getloadavg()[0]
    server_core, client_core = pick_cores()
    with contextlib.ExitStack() as stack:
        postgres = None
        if database == "postgresql" and not url:
            postgres = stack.enter_context(postgres_server(server_core))
        statements = asyncio.run(
            count_statements(stack.enter_context(fresh_database(postgres)) if postgres else None)
        )
        wanted_buyers = buyers or (min(concurrency, EXTERNAL_BUYERS) if url else concurrency)
        if url:
            server = Server(url.rstrip("/"))
        else:
            extra = {}
            if postgres:
                extra["LAOTIE_DATABASE_URL"] = stack.enter_context(fresh_database(postgres))
            server = stack.enter_context(throwaway_server(server_core, extra))
        return _run_against(
            server,
            statements,
            target=url or "throwaway",
            database=database if not url else None,
            duration=duration,
            concurrency=concurrency,
            buyers=wanted_buyers,
            warmup=warmup,
            stock=stock,
            cores=(server_core, client_core),
            load_before=load_before,
        )
    raise AssertionError("unreachable")  # pragma: no cover - mypy: the with block returns


def _run_against(
    server: Server,
    statements: Mapping[str, int],
    *,
    target: str,
    database: str | None,
    duration: float,
    concurrency: int,
    buyers: int,
    warmup: float,
    stock: int,
    cores: tuple[int, int],
    load_before: float,
) -> dict[str, Any]:
    """Seed, run both phases, check the database; return the figures."""
    server_core, client_core = cores
    wait_until_healthy(server.url)
    market = asyncio.run(_seed_over_http(server.url, buyers, stock))
    host, port = server.host_port
    common = {"host": f"{host}:{port}"}
    plan = {
        "host": host,
        "port": port,
        "concurrency": concurrency,
        "server_pid": server.pid,
        "phases": [
            {
                "name": "baseline",
                "scenario": "laotie.bench.checkout:healthz_step",
                "params": common,
                "duration": duration,
                "warmup": warmup,
            },
            {
                "name": "checkout",
                "scenario": "laotie.bench.checkout:checkout_step",
                "params": {
                    **common,
                    "tokens": market.buyer_tokens,
                    "sku_ids": market.sku_ids,
                    "run": uuid.uuid4().hex[:12],
                },
                "duration": duration,
                "warmup": warmup,
            },
        ],
    }
    answer = run_load_generator(plan, client_core)
    baseline, checkout = answer["phases"]
    database_url = (server.env or {}).get("LAOTIE_DATABASE_URL", "")
    if database_url.startswith("postgresql"):
        verdict = asyncio.run(verify_in_postgres(database_url, market, checkout["kept"]))
    elif server.database_path is not None:
        verdict = verify_in_database(server.database_path, market, checkout["kept"])
    else:
        verdict = asyncio.run(verify_through_api(server.url, market, checkout["kept"]))
    return summarize(
        baseline,
        checkout,
        statements,
        verdict,
        target=target,
        database=database,
        cores=(server_core, client_core),
        concurrency=concurrency,
        buyers=len(market.buyer_tokens),
        skus=len(market.sku_ids),
        duration=duration,
        load_before=load_before,
    )


async def _seed_over_http(url: str, buyers: int, stock: int) -> Market:
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        return await seed_market(client, buyers=buyers, products=2, stock=stock)


def summarize(
    baseline: Mapping[str, Any],
    checkout: Mapping[str, Any],
    statements: Mapping[str, int],
    verdict: Verdict,
    *,
    target: str,
    database: str | None,
    cores: tuple[int, int],
    concurrency: int,
    buyers: int,
    skus: int,
    duration: float,
    load_before: float,
) -> dict[str, Any]:
    """Turn the load generator's phases into the benchmark's one JSON object."""
    orders_per_s = checkout["ok"] / checkout["wall_s"]
    baseline_rps = baseline["ok"] / baseline["wall_s"]
    order_latency = checkout["latency_ms"].get("order", {})
    place_latency = checkout["latency_ms"].get("place", {})
    shares = {"baseline": client_share(baseline), "checkout": client_share(checkout)}
    return {
        "benchmark": "checkout",
        "orders_per_s": rounded(orders_per_s, 1),
        "p50_ms": rounded(order_latency.get("p50", float("nan")), 2),
        "p99_ms": rounded(order_latency.get("p99", float("nan")), 2),
        "place_p50_ms": rounded(place_latency.get("p50", float("nan")), 2),
        "place_p99_ms": rounded(place_latency.get("p99", float("nan")), 2),
        "statements_per_order": statements["place_and_pay"],
        "statements_place_order": statements["place_order"],
        "baseline_rps": rounded(baseline_rps, 1),
        "ratio": rounded(orders_per_s / baseline_rps if baseline_rps else float("nan"), 4),
        "client_cpu": rounded(max(shares.values()), 3),
        "client_cpu_baseline": rounded(shares["baseline"], 3),
        "client_cpu_checkout": rounded(shares["checkout"], 3),
        "client_bound": max(shares.values()) > CLIENT_BOUND_SHARE,
        "server_cpu_baseline": _server_share(baseline),
        "server_cpu_checkout": _server_share(checkout),
        # CPU per unit of work does not depend on how much of its core the server was
        # given, so it stays comparable on a box where other programs also run.
        "server_cpu_ms_per_healthz": _cpu_ms_per(baseline),
        "server_cpu_ms_per_order": _cpu_ms_per(checkout),
        "cpu_ratio": _cpu_ratio(baseline, checkout),
        "orders": checkout["ok"],
        "failed": sum(checkout["failures"].values()),
        "failures": {**checkout["failures"], **_prefixed("baseline ", baseline["failures"])},
        "failure_details": checkout["failure_details"] + baseline["failure_details"],
        "lost": verdict.lost,
        "oversold": verdict.oversold,
        "unpaid_left": verdict.unpaid,
        "duration_s": duration,
        "concurrency": concurrency,
        "buyers": buyers,
        "skus": skus,
        "target": target,
        "database": database,
        "server_core": cores[0] if target == "throwaway" else None,
        "client_core": cores[1],
        # Other programs on the box take CPU from both cores: read the figures with this.
        "loadavg_before": round(load_before, 2),
    }


def _server_share(phase: Mapping[str, Any]) -> float | None:
    used = phase.get("server_cpu_s")
    return None if used is None else rounded(used / phase["wall_s"], 3)


def _cpu_ms_per(phase: Mapping[str, Any]) -> float | None:
    used = phase.get("server_cpu_s")
    return None if used is None or not phase["ok"] else rounded(1000 * used / phase["ok"], 3)


def _cpu_ratio(baseline: Mapping[str, Any], checkout: Mapping[str, Any]) -> float | None:
    healthz, order = _cpu_ms_per(baseline), _cpu_ms_per(checkout)
    return None if healthz is None or not order else rounded(healthz / order, 4)


def _prefixed(prefix: str, counts: Mapping[str, int]) -> dict[str, int]:
    return {prefix + key: value for key, value in counts.items()}
