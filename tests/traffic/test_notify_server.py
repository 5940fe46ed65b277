"""Go-live notifications on a real server: the user's socket hears them, and a server
killed with SIGKILL mid fan-out finishes it after its restart, nobody notified twice."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import sqlite3
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import websockets
import websockets.exceptions
from sqlalchemy import create_engine, insert

from laotie.accounts.models import User
from laotie.bench.common import free_port
from laotie.live.room.sources import resolve_source
from laotie.live.schemas import EntrySource
from laotie.traffic.models import Follow
from tests.servers import live_server, migrated_sqlite, serving

__all__ = ["live_server", "migrated_sqlite"]

pytestmark = pytest.mark.server

SECRET = "test-secret-key-not-for-production"  # tests.servers.serving's
PASSWORD = "correct horse battery"


async def _user(http: httpx.AsyncClient, *roles: str) -> tuple[str, dict[str, str]]:
    email = f"{uuid.uuid4().hex[:10]}@example.com"
    body = {"email": email, "password": PASSWORD, "name": "Li", "roles": list(roles)}
    made = await http.post("/api/auth/sign-up", json=body)
    assert made.status_code == 201, made.text
    answer = await http.post("/api/auth/tokens", json={"email": email, "password": PASSWORD})
    return str(made.json()["id"]), {"Authorization": f"Bearer {answer.json()['token']}"}


async def _coming_show(http: httpx.AsyncClient) -> tuple[str, dict[str, str], str]:
    """Return an anchor's id and headers, and its scheduled session's id."""
    anchor_id, anchor = await _user(http, "seller", "anchor")
    shop = (await http.post("/api/shops", json={"name": "Tea"}, headers=anchor)).json()
    session = await http.post(
        "/api/live/sessions",
        json={
            "shop_id": shop["id"],
            "title": "Tasting",
            "scheduled_at": "2026-05-01T12:00:00Z",
            "product_ids": [],
        },
        headers=anchor,
    )
    return anchor_id, anchor, str(session.json()["id"])


async def _next(socket: Any, want: str, wait_s: float = 10.0) -> dict[str, Any]:
    async with asyncio.timeout(wait_s):
        while True:
            message: dict[str, Any] = json.loads(await socket.recv())
            if message["type"] == want:
                return message


async def test_the_user_socket_pushes_a_notification_to_an_online_follower(
    live_server: str,
) -> None:
    ws_base = live_server.replace("http://", "ws://")
    async with httpx.AsyncClient(base_url=live_server) as http:
        anchor_id, anchor, session_id = await _coming_show(http)
        _, fan = await _user(http, "buyer")
        await http.put(f"/api/follows/anchor/{anchor_id}", headers=fan)
        ticket = (await http.post("/api/me/tickets", headers=fan)).json()["ticket"]
        async with websockets.connect(
            f"{ws_base}/ws/me?ticket={ticket}", origin=live_server
        ) as socket:
            assert (await _next(socket, "hello"))["unread"] == 0
            started = await http.post(f"/api/live/sessions/{session_id}/start", headers=anchor)
            assert started.status_code == 200
            notice = (await _next(socket, "notification"))["data"]
        assert (notice["session_id"], notice["reason"]) == (session_id, "live_notification")
        [tag] = parse_qs(urlsplit(notice["url"]).query)["src"]
        assert resolve_source(SECRET, session_id, tag) is EntrySource.LIVE_NOTIFICATION
        assert (await http.get("/api/me/inbox", headers=fan)).json()["unread"] == 1


async def test_the_user_socket_wants_a_user_and_this_site(live_server: str) -> None:
    ws_base = live_server.replace("http://", "ws://")
    async with websockets.connect(f"{ws_base}/ws/me", origin=live_server) as socket:
        with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
            await socket.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
    forged = f"{ws_base}/ws/me?ticket=usr_x:me:9999999999.forged"
    async with websockets.connect(forged, origin=live_server) as socket:
        with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
            await socket.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
    with pytest.raises(websockets.exceptions.InvalidStatus):
        async with websockets.connect(f"{ws_base}/ws/me", origin="http://evil.example"):
            pass


# ---------------------------------------------------------------- killed mid fan-out

FOLLOWERS = 4_000


def _seed_followers(database: Path, anchor_id: str, count: int) -> None:
    """Insert followers of the anchor straight into the database."""
    now = datetime.now(UTC)
    engine = create_engine(f"sqlite:///{database}")
    users = [
        {
            "id": f"usr_seed{i:07d}",
            "email": f"seed{i}@example.com",
            "name": f"Seed {i}",
            "password_hash": "-",
            "roles": "buyer",
            "failed_sign_ins": 0,
            "locked_until": None,
            "created_at": now,
        }
        for i in range(count)
    ]
    follows = [
        {"user_id": u["id"], "target_kind": "anchor", "target_id": anchor_id, "created_at": now}
        for u in users
    ]
    with engine.begin() as connection:
        connection.execute(insert(User.__table__), users)
        connection.execute(insert(Follow.__table__), follows)
    engine.dispose()


def _inbox(database: Path, session_id: str) -> tuple[int, int]:
    with contextlib.closing(sqlite3.connect(database, timeout=30)) as db:
        row = db.execute(
            "SELECT COUNT(*), COUNT(DISTINCT user_id) FROM inbox WHERE session_id = ?",
            (session_id,),
        ).fetchone()
    return int(row[0]), int(row[1])


def _fanout(database: Path, session_id: str) -> tuple[str, int] | None:
    with contextlib.closing(sqlite3.connect(database, timeout=30)) as db:
        row = db.execute(
            "SELECT state, written FROM notification_fanouts WHERE session_id = ?", (session_id,)
        ).fetchone()
    return None if row is None else (str(row[0]), int(row[1]))


def test_a_fan_out_killed_midway_finishes_after_the_restart_nobody_twice(
    migrated_sqlite: Path, tmp_path: Path
) -> None:
    database = tmp_path / "laotie.db"
    shutil.copyfile(migrated_sqlite, database)
    log = tmp_path / "server.log"
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    # Small batches: the fan-out takes hundreds of commits, so the kill lands inside it.
    settings = {"LAOTIE_JOBS_INTERVAL_SECONDS": "0.5", "LAOTIE_NOTIFY_BATCH_SIZE": "20"}

    async def prepare() -> tuple[str, dict[str, str], str]:
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
            return await _coming_show(http)

    async def go_live(anchor: dict[str, str], session_id: str) -> None:
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
            started = await http.post(f"/api/live/sessions/{session_id}/start", headers=anchor)
            assert started.status_code == 200, started.text

    with serving(database, port, base_url, log, **settings) as server:
        anchor_id, anchor, session_id = asyncio.run(prepare())
        _seed_followers(database, anchor_id, FOLLOWERS)
        asyncio.run(go_live(anchor, session_id))
        deadline = time.monotonic() + 60
        while _inbox(database, session_id)[0] < 400 and time.monotonic() < deadline:
            time.sleep(0.01)
        server.kill()  # SIGKILL: no shutdown, the fan-out cut between two batches
        server.wait()
    written_before, _ = _inbox(database, session_id)
    assert 0 < written_before < FOLLOWERS, "the kill should land inside the fan-out"
    assert _fanout(database, session_id) == ("running", written_before)
    with serving(database, port, base_url, log, **settings):
        deadline = time.monotonic() + 120
        while _fanout(database, session_id) != ("done", FOLLOWERS):
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.2)
    assert _inbox(database, session_id) == (FOLLOWERS, FOLLOWERS)
