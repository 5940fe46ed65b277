"""Two workers on PostgreSQL and Redis share one room and one flash sale.

`laotie serve --workers 2`: viewers on different workers see the same pin and the same
units left, and buyers going through both workers never oversell. PostgreSQL and Redis
come from LAOTIE_TEST_POSTGRES_URL / LAOTIE_TEST_REDIS_URL, or are started here when
their programs are installed; without them the tests are skipped (failed when CI=true).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from laotie.bench.common import fresh_database, postgres_bindir, postgres_server
from laotie.bench.flashsale import (
    LaotieProcess,
    SaleWorld,
    cluster_server,
    redis_server,
    seed_sale,
    verify_sale,
)

pytestmark = pytest.mark.server

# Small enough for a quick test, and the reconciler runs often with a short in-flight timeout.
CLUSTER_ENV = {
    "LAOTIE_JOBS_INTERVAL_SECONDS": "0.5",
    "LAOTIE_SALE_INFLIGHT_TIMEOUT_SECONDS": "3",
}
# Refusals other than sold out (the database's guard, a key raced) before a buyer gives up.
PATIENCE = 50


def _missing(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def cluster_postgres() -> Iterator[str]:
    """Yield a PostgreSQL server's URL: the runner's, or a throwaway one."""
    given = os.environ.get("LAOTIE_TEST_POSTGRES_URL")
    if given:
        yield given
        return
    if postgres_bindir() is None or (os.geteuid() == 0 and shutil.which("runuser") is None):
        _missing("PostgreSQL not found (LAOTIE_TEST_POSTGRES_URL or initdb)")
    with postgres_server() as url:
        yield url


@pytest.fixture(scope="session")
def cluster_redis() -> Iterator[str]:
    """Yield a Redis server's URL: the runner's, or a throwaway one."""
    given = os.environ.get("LAOTIE_TEST_REDIS_URL")
    if given:
        yield given
        return
    if shutil.which("redis-server") is None:
        _missing("Redis not found (LAOTIE_TEST_REDIS_URL or redis-server)")
    with redis_server() as url:
        yield url


@pytest.fixture
def cluster_database(cluster_postgres: str) -> Iterator[str]:
    """Yield the URL of a fresh, empty PostgreSQL database."""
    with fresh_database(cluster_postgres) as url:
        yield url


@pytest.fixture
def cluster(cluster_database: str, cluster_redis: str) -> Iterator[LaotieProcess]:
    """Run `laotie serve --workers 2` on the fresh database and the shared Redis."""
    with cluster_server(cluster_database, cluster_redis, **CLUSTER_ENV) as server:
        yield server


async def buy_until_sold_out(
    world: SaleWorld,
    acknowledged: list[str],
    through: Sequence[httpx.AsyncClient] = (),
    accepted_through: Counter[int] | None = None,
) -> Counter[str]:
    """Let every buyer buy one unit at a time until sold out, its limit, or the server is gone.

    Buyers share one client of their own, or take turns on the clients given `through`;
    `accepted_through` then counts the orders each of those clients had accepted.
    """
    answers: Counter[str] = Counter()
    path = f"/api/live/sessions/{world.session_id}/orders"
    limits = httpx.Limits(max_connections=len(world.buyer_tokens) * 2)
    async with httpx.AsyncClient(base_url=world.url, timeout=30, limits=limits) as own:
        clients = list(through) or [own]

        async def buyer(number: int, token: str) -> None:
            http = clients[number % len(clients)]
            refusals = 0
            while refusals < PATIENCE:
                try:
                    answer = await http.post(
                        path,
                        json={"sku_id": world.sku_id, "quantity": 1},
                        headers={
                            "Authorization": f"Bearer {token}",
                            "Idempotency-Key": uuid.uuid4().hex,
                        },
                    )
                except httpx.TransportError:
                    answers["connection"] += 1
                    return
                if answer.status_code == 201:
                    acknowledged.append(answer.json()["orders"][0]["id"])
                    answers["accepted"] += 1
                    if accepted_through is not None:
                        accepted_through[number % len(clients)] += 1
                    continue
                code = answer.json().get("code", str(answer.status_code))
                answers[code] += 1
                if code in {"sold_out", "per_buyer_limit"}:
                    return
                refusals += 1

        await asyncio.gather(*(buyer(n, token) for n, token in enumerate(world.buyer_tokens)))
    return answers


async def clients_on_two_workers(
    server: LaotieProcess, stack: Any, tries: int = 32
) -> list[httpx.AsyncClient]:
    """Open one-connection clients until two hold connections to different workers."""
    by_worker: dict[int, httpx.AsyncClient] = {}
    for _ in range(tries):
        http = httpx.AsyncClient(
            base_url=server.url, timeout=30, limits=httpx.Limits(max_connections=1)
        )
        await stack.enter_async_context(http)
        answer = await http.get("/healthz")
        _, port = answer.extensions["network_stream"].get_extra_info("client_addr")
        pid = worker_of(server, port)
        if pid is not None:
            by_worker.setdefault(pid, http)
        if len(by_worker) == 2:
            return list(by_worker.values())
    raise AssertionError(f"{tries} connections all landed on one worker")


def worker_of(server: LaotieProcess, client_port: int) -> int | None:
    """Return the pid of the worker holding the server side of a client's TCP connection."""
    local, remote = f":{server.port:04X}", f":{client_port:04X}"
    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1].endswith(local) and fields[2].endswith(remote):
            inode = fields[9]
    if inode is None:
        return None
    for pid in server.worker_pids():
        folder = Path(f"/proc/{pid}/fd")
        for fd in folder.iterdir():
            try:
                if os.readlink(fd) == f"socket:[{inode}]":
                    return pid
            except OSError:
                continue
    return None


async def frame(socket: Any, want: str, wait_s: float = 20.0) -> dict[str, Any]:
    """Read until a room frame of this type arrives (inside a batch) or a direct frame."""
    async with asyncio.timeout(wait_s):
        while True:
            message = json.loads(await socket.recv())
            if message["type"] == "batch":
                for found in message["frames"]:
                    if found["type"] == want:
                        return dict(found)
            elif message["type"] == want:
                return dict(message)


async def last_left(socket: Any, sale_id: str, quiet_s: float = 3.0) -> int | None:
    """Read frames until the room is quiet; return the `left` a page shows (newest version)."""
    left, version = None, -1
    while True:
        try:
            async with asyncio.timeout(quiet_s):
                message = json.loads(await socket.recv())
        except TimeoutError:
            return left
        for found in message.get("frames", [message]):
            data = found.get("data", {})
            ours = found["type"] in ("sale", "sale_left") and data.get("sale_id") == sale_id
            if ours and data["version"] >= version:  # as the room's reducer does
                left, version = data["left"], data["version"]


async def viewers_on_two_workers(
    server: LaotieProcess, world: SaleWorld, stack: Any, tries: int = 16
) -> list[Any]:
    """Open viewers until two of them sit on different workers; return those two."""
    ws_url = world.url.replace("http://", "ws://") + f"/ws/live/{world.session_id}"
    by_worker: dict[int, Any] = {}
    for _ in range(tries):
        socket = await stack.enter_async_context(websockets.connect(ws_url, origin=world.url))
        await frame(socket, "hello")
        pid = worker_of(server, socket.local_address[1])
        if pid is not None:
            by_worker.setdefault(pid, socket)
        if len(by_worker) == 2:
            return list(by_worker.values())
    raise AssertionError(f"{tries} viewers all landed on one worker")


async def test_viewers_on_two_workers_see_one_room_and_one_sale(
    cluster: LaotieProcess, cluster_database: str
) -> None:
    from contextlib import AsyncExitStack

    quantity = 60
    world = await seed_sale(cluster.url, buyers=8, units=quantity, per_buyer_limit=quantity)
    async with AsyncExitStack() as stack:
        first, second = await viewers_on_two_workers(cluster, world, stack)
        for viewer in (first, second):
            snapshot = await frame(viewer, "snapshot")
            assert snapshot["data"]["status"] == "live"
        async with httpx.AsyncClient(base_url=world.url) as http:
            session = (await http.get(f"/api/live/sessions/{world.session_id}")).json()
            product_id = session["cart"][0]
            pinned = await http.put(
                f"/api/live/sessions/{world.session_id}/pin",
                json={"product_id": product_id},
                headers={"Authorization": f"Bearer {world.anchor_token}"},
            )
            assert pinned.status_code == 200, pinned.text
        for viewer in (first, second):
            assert (await frame(viewer, "pin"))["data"] == {"product_id": product_id}

        acknowledged: list[str] = []
        answers = await buy_until_sold_out(world, acknowledged)
        assert answers["accepted"] == quantity, answers
        for viewer in (first, second):
            assert await last_left(viewer, world.sale_id) == 0

    verdict = await verify_sale(cluster_database, world, acknowledged)
    assert verdict.lost == 0, verdict.missing
    assert verdict.oversold == 0
    assert verdict.sold == verdict.orders == quantity
    assert verdict.in_sale == 0
    assert verdict.balanced


async def test_buyers_through_both_workers_never_oversell(
    cluster: LaotieProcess, cluster_database: str
) -> None:
    from contextlib import AsyncExitStack

    quantity = 240
    world = await seed_sale(cluster.url, buyers=24, units=quantity, per_buyer_limit=20)
    acknowledged: list[str] = []
    accepted: Counter[int] = Counter()
    async with AsyncExitStack() as stack:
        # Each client keeps its one connection to the worker that accepted it.
        clients = await clients_on_two_workers(cluster, stack)
        answers = await buy_until_sold_out(world, acknowledged, clients, accepted)
    assert accepted[0] > 0 and accepted[1] > 0, accepted  # both workers sold
    assert answers["accepted"] == quantity, answers
    assert set(answers) <= {"accepted", "sold_out", "per_buyer_limit"}, answers
    verdict = await verify_sale(cluster_database, world, acknowledged)
    assert (verdict.lost, verdict.oversold) == (0, 0)
    assert verdict.sold == quantity
    assert verdict.balanced


async def test_a_viewer_who_joins_mid_sale_sees_the_sale() -> None:
    from laotie.bench.flashsale import sqlite_server

    with sqlite_server() as server:
        world = await seed_sale(server.url, buyers=1, units=5, per_buyer_limit=5)
        ws_url = world.url.replace("http://", "ws://") + f"/ws/live/{world.session_id}"
        async with websockets.connect(ws_url, origin=world.url) as viewer:
            snapshot = await frame(viewer, "snapshot")
    assert snapshot["data"]["sale"] is not None
    assert snapshot["data"]["sale"]["sale_id"] == world.sale_id
    assert snapshot["data"]["sale"]["left"] == 5
