"""`laotie bench notify`: an anchor with many followers goes live; how fast are they told?

A throwaway server (SQLite, pinned to one core) gets an anchor and a coming show through
its API, and the followers by direct inserts into its database. The load generator
(this module run as `python -m laotie.bench.notify`, pinned to the other core) connects
some of the followers to their user socket (`/ws/me`), sends the go-live request and
times it, and times each connected follower's push from the moment the request left.
Then the fan-out's row says when its last inbox row was written.

Figures: `golive_ms` (the request's own latency: the fan-out must not sit in it),
`notifications_per_s` (inbox rows over the time from the request to the last row),
`push_p50_ms` / `push_p99_ms` / `push_max_ms` (request to push, connected followers),
and the client's CPU share (above 0.9 of its core, the client is the bottleneck).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import websockets
from sqlalchemy import create_engine, insert
from websockets.typing import Origin

from laotie.accounts.models import User
from laotie.bench.checkout import _expect, _sign_up
from laotie.bench.common import (
    CLIENT_BOUND_SHARE,
    client_main,
    cpu_seconds_of,
    own_cpu_seconds,
    percentile,
    pick_cores,
    rounded,
    run_pinned_module,
    throwaway_server,
)
from laotie.core.signing import sign
from laotie.live.room.tickets import TICKET_PURPOSE
from laotie.traffic.models import Follow
from laotie.traffic.ws import TICKET_SCOPE

CONNECTS_IN_FLIGHT = 100
PUSH_TIMEOUT_S = 60.0
SEED_CHUNK = 20_000


def run_notify(followers: int, online: int) -> dict[str, Any]:
    """Seed, connect, go live, and return the figures."""
    server_core, client_core = pick_cores()
    online = min(online, followers)
    with throwaway_server(server_core) as server:
        assert server.database_path is not None and server.env is not None
        anchor, session_id, anchor_id = asyncio.run(_seed_show(server.url))
        started = time.monotonic()
        user_ids = _seed_followers(server.database_path, anchor_id, followers)
        seed_s = time.monotonic() - started
        # Every n-th follower is online: spread over the user order, as real ones are.
        step = max(followers // max(online, 1), 1)
        plan = {
            "url": server.url,
            "secret": server.env["LAOTIE_SECRET_KEY"],
            "anchor": anchor,
            "session_id": session_id,
            "online": user_ids[::step][:online],
        }
        cpu_before = cpu_seconds_of(server.pid)
        answer = run_pinned_module("laotie.bench.notify", plan, client_core)
        state, written, finished_at = _wait_for_fanout(server.database_path, session_id)
        cpu_after = cpu_seconds_of(server.pid)
        rows = _inbox_rows(server.database_path, session_id)
    fanout_s = (finished_at - answer["sent_at"]) if finished_at is not None else None
    pushes: list[float] = answer["push_ms"]
    return {
        "benchmark": "notify",
        "database": "sqlite",
        "followers": followers,
        "online": online,
        "seed_s": rounded(seed_s, 2),
        "golive_ms": rounded(answer["golive_ms"], 1),
        "fanout_state": state,
        "inbox_rows": rows,
        "fanout_written": written,
        "fanout_s": rounded(fanout_s, 3),
        "notifications_per_s": rounded(written / fanout_s, 0) if fanout_s else None,
        "pushes_received": len(pushes),
        "push_p50_ms": rounded(percentile(pushes, 50), 1),
        "push_p99_ms": rounded(percentile(pushes, 99), 1),
        "push_max_ms": rounded(max(pushes), 1) if pushes else None,
        "server_cpu_s": rounded((cpu_after or 0) - (cpu_before or 0), 2),
        "client_cpu_share": rounded(answer["client_cpu_share"], 2),
        "client_bound": answer["client_cpu_share"] > CLIENT_BOUND_SHARE,
        "connect_errors": answer["connect_errors"],
        "cores": {"server": server_core, "client": client_core},
    }


async def _seed_show(url: str) -> tuple[str, str, str]:
    """Make an anchor, its shop and a coming show; return its token, the session, its id."""
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        token = await _sign_up(
            http, f"anchor-{uuid.uuid4().hex[:8]}@bench.example", ["seller", "anchor"]
        )
        headers = {"Authorization": f"Bearer {token}"}
        me = await _expect(await http.get("/api/auth/me", headers=headers), 200)
        shop = await _expect(
            await http.post("/api/shops", json={"name": "Bench tea"}, headers=headers), 201
        )
        session = await _expect(
            await http.post(
                "/api/live/sessions",
                json={
                    "shop_id": shop["id"],
                    "title": "Bench show",
                    "scheduled_at": datetime.now(UTC).isoformat(),
                    "product_ids": [],
                },
                headers=headers,
            ),
            201,
        )
    return token, str(session["id"]), str(me["id"])


def _seed_followers(database: Path, anchor_id: str, count: int) -> list[str]:
    """Insert the followers and their follows straight into the database; return their ids."""
    now = datetime.now(UTC)
    ids = [f"usr_bench{i:08d}" for i in range(count)]
    engine = create_engine(f"sqlite:///{database}", connect_args={"timeout": 60})
    try:
        for start in range(0, count, SEED_CHUNK):
            chunk = ids[start : start + SEED_CHUNK]
            with engine.begin() as connection:
                connection.execute(
                    insert(User),
                    [
                        {
                            "id": user_id,
                            "email": f"{user_id}@bench.example",
                            "name": user_id,
                            "password_hash": "-",
                            "roles": "buyer",
                            "failed_sign_ins": 0,
                            "locked_until": None,
                            "created_at": now,
                        }
                        for user_id in chunk
                    ],
                )
                connection.execute(
                    insert(Follow),
                    [
                        {
                            "user_id": user_id,
                            "target_kind": "anchor",
                            "target_id": anchor_id,
                            "created_at": now,
                        }
                        for user_id in chunk
                    ],
                )
    finally:
        engine.dispose()
    return ids


def _wait_for_fanout(
    database: Path, session_id: str, timeout_s: float = 300.0
) -> tuple[str | None, int, float | None]:
    """Wait until the fan-out is done; return its state, rows written and end (epoch s)."""
    deadline = time.monotonic() + timeout_s
    row = None
    while time.monotonic() < deadline:
        with contextlib.closing(sqlite3.connect(database, timeout=30)) as db:
            row = db.execute(
                "SELECT state, written, finished_at FROM notification_fanouts WHERE session_id = ?",
                (session_id,),
            ).fetchone()
        if row is not None and row[0] == "done":
            break
        time.sleep(0.2)
    if row is None:
        return None, 0, None
    # Stored as naive UTC text on SQLite.
    finished = datetime.fromisoformat(row[2]).replace(tzinfo=UTC).timestamp() if row[2] else None
    return str(row[0]), int(row[1]), finished


def _inbox_rows(database: Path, session_id: str) -> int:
    with contextlib.closing(sqlite3.connect(database, timeout=30)) as db:
        row = db.execute(
            "SELECT COUNT(*) FROM inbox WHERE session_id = ?", (session_id,)
        ).fetchone()
    return int(row[0])


# ================================================================ the client (load generator)


async def _client(plan: dict[str, Any]) -> dict[str, Any]:
    """Connect the online followers, go live, and time the request and every push."""
    url: str = plan["url"]
    ws_url = url.replace("http://", "ws://")
    expiry = int(time.time()) + 3_600
    gate = asyncio.Semaphore(CONNECTS_IN_FLIGHT)
    sockets: list[Any] = []
    errors = 0

    async def connect(user_id: str) -> None:
        nonlocal errors
        ticket = sign(plan["secret"], TICKET_PURPOSE, f"{user_id}:{TICKET_SCOPE}:{expiry}")
        async with gate:
            try:
                socket = await websockets.connect(
                    f"{ws_url}/ws/me?ticket={ticket}", origin=Origin(url), open_timeout=60
                )
                hello = json.loads(await socket.recv())
                if hello.get("type") != "hello":
                    raise RuntimeError(f"no hello: {hello}")
            except Exception:
                errors += 1
                return
        sockets.append(socket)

    await asyncio.gather(*(connect(user_id) for user_id in plan["online"]))
    await asyncio.sleep(1.0)  # the server settles after the crowd's handshakes
    sent_at = 0.0
    started_ns = 0
    push_ms: list[float] = []

    async def wait_push(socket: Any) -> None:
        while True:
            message = json.loads(await socket.recv())
            if message.get("type") == "notification":
                push_ms.append((time.monotonic_ns() - started_ns) / 1e6)
                return

    cpu_before, wall_before = own_cpu_seconds(), time.monotonic()
    waiting = [asyncio.create_task(wait_push(socket)) for socket in sockets]
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        headers = {"Authorization": f"Bearer {plan['anchor']}"}
        started_ns, sent_at = time.monotonic_ns(), time.time()
        answer = await http.post(f"/api/live/sessions/{plan['session_id']}/start", headers=headers)
        golive_ms = (time.monotonic_ns() - started_ns) / 1e6
        if answer.status_code != 200:
            raise RuntimeError(f"go-live: {answer.status_code} {answer.text[:300]}")
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.gather(*waiting, return_exceptions=True), PUSH_TIMEOUT_S)
    cpu_share = (own_cpu_seconds() - cpu_before) / max(time.monotonic() - wall_before, 1e-9)
    for socket in sockets:
        with contextlib.suppress(Exception):
            await socket.close()
    return {
        "sent_at": sent_at,
        "golive_ms": golive_ms,
        "push_ms": push_ms,
        "connect_errors": errors,
        "client_cpu_share": cpu_share,
    }


if __name__ == "__main__":
    client_main(_client)
