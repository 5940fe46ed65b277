"""The room's WebSocket against a real server: join, live events, chat, likes, bad frames."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
import websockets.exceptions

from laotie.live.room.sources import source_tag
from laotie.live.schemas import EntrySource

pytestmark = pytest.mark.server


@dataclass
class Show:
    """A live show on the server, and the people in it."""

    base: str
    session_id: str
    products: list[str]
    anchor: dict[str, str]
    viewer_token: str


async def _user(http: httpx.AsyncClient, *roles: str) -> str:
    email = f"{uuid.uuid4().hex[:10]}@example.com"
    body = {"email": email, "password": "correct horse battery", "name": "Li", "roles": list(roles)}
    assert (await http.post("/api/auth/sign-up", json=body)).status_code == 201
    answer = await http.post(
        "/api/auth/tokens", json={"email": email, "password": body["password"]}
    )
    return str(answer.json()["token"])


@pytest.fixture
async def show(live_server: str) -> AsyncIterator[Show]:
    """An anchor live with two products in the cart, and a signed-up viewer."""
    async with httpx.AsyncClient(base_url=live_server) as http:
        anchor = {"Authorization": f"Bearer {await _user(http, 'seller', 'anchor')}"}
        shop = (await http.post("/api/shops", json={"name": "Tea"}, headers=anchor)).json()
        products = []
        for title in ("Pu'er cake", "Gaiwan"):
            made = await http.post(
                f"/api/shops/{shop['id']}/products",
                json={
                    "title": title,
                    "category": "food",
                    "skus": [{"price_minor": 9_900, "stock": 20}],
                },
                headers=anchor,
            )
            products.append(made.json()["id"])
        session = await http.post(
            "/api/live/sessions",
            json={
                "shop_id": shop["id"],
                "title": "Tasting",
                "scheduled_at": "2026-05-01T12:00:00Z",
                "product_ids": products,
            },
            headers=anchor,
        )
        session_id = session.json()["id"]
        assert (
            await http.post(f"/api/live/sessions/{session_id}/start", headers=anchor)
        ).status_code == 200
        viewer = await _user(http, "buyer")
        yield Show(live_server, session_id, products, anchor, viewer)


def _url(show: Show, **query: str) -> str:
    ws_base = show.base.replace("http://", "ws://")
    params = "&".join(f"{k}={v}" for k, v in query.items())
    return f"{ws_base}/ws/live/{show.session_id}?{params}"


async def _ticket(show: Show, session_id: str | None = None) -> str:
    """Ask for a ticket into the room, with the viewer's token in the header."""
    async with httpx.AsyncClient(base_url=show.base) as http:
        answer = await http.post(
            "/api/live/tickets",
            json={"session_id": session_id or show.session_id},
            headers={"Authorization": f"Bearer {show.viewer_token}"},
        )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["ticket"])


async def _signed_url(show: Show, **query: str) -> str:
    return _url(show, ticket=await _ticket(show), **query)


async def _frames(socket: Any, want: str, wait_s: float = 5.0) -> dict[str, Any]:
    """Read until a room frame of this type arrives (inside a batch) or a direct frame."""
    async with asyncio.timeout(wait_s):
        while True:
            message = json.loads(await socket.recv())
            if message["type"] == "batch":
                for frame in message["frames"]:
                    if frame["type"] == want:
                        return dict(frame)
            elif message["type"] == want:
                return dict(message)


async def test_a_viewer_joins_with_a_snapshot_and_sees_the_pin(show: Show) -> None:
    async with websockets.connect(
        await _signed_url(show, source="follow_feed"), origin=show.base
    ) as socket:
        hello = await _frames(socket, "hello")
        assert hello["viewer"]["signed_in"] is True
        snapshot = await _frames(socket, "snapshot")
        assert snapshot["data"]["status"] == "live"
        assert [c["product_id"] for c in snapshot["data"]["cart"]] == show.products
        async with httpx.AsyncClient(base_url=show.base) as http:
            await http.put(
                f"/api/live/sessions/{show.session_id}/pin",
                json={"product_id": show.products[1]},
                headers=show.anchor,
            )
        pin = await _frames(socket, "pin")
        assert pin["data"] == {"product_id": show.products[1]}
        assert pin["seq"].split(":")[0] == snapshot["seq"].split(":")[0]


async def test_cross_origin_handshake_is_refused(show: Show) -> None:
    with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
        async with websockets.connect(_url(show), origin="http://evil.example"):
            pass
    assert refused.value.response.status_code == 403


async def _refusal(url: str, origin: str) -> tuple[int, str]:
    """Connect, and return the close code and reason the room answers with at once."""
    async with websockets.connect(url, origin=origin) as socket:
        with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
            await socket.recv()
    received = closed.value.rcvd
    assert received is not None
    return received.code, received.reason


async def test_unknown_source_and_room_are_refused_with_a_code_saying_why(show: Show) -> None:
    code, reason = await _refusal(_url(show, source="nowhere"), show.base)
    assert code == 4422 and "source must be one of" in reason
    missing = show.base.replace("http://", "ws://") + "/ws/live/liv_missing"
    assert (await _refusal(missing, show.base))[0] == 4404


async def test_a_banned_viewer_is_refused_at_the_door(show: Show) -> None:
    url = await _signed_url(show)
    async with websockets.connect(url, origin=show.base) as socket:
        viewer_id = (await _frames(socket, "hello"))["viewer"]["id"]
    async with httpx.AsyncClient(base_url=show.base) as http:
        banned = await http.post(
            f"/api/live/sessions/{show.session_id}/moderation",
            json={"action": "ban", "user_id": viewer_id},
            headers=show.anchor,
        )
        assert banned.status_code == 200, banned.text
    assert await _refusal(url, show.base) == (4403, "the anchor has banned you from this room")
    async with websockets.connect(_url(show), origin=show.base) as socket:  # others still enter
        assert (await _frames(socket, "hello"))["visit_id"].startswith("vst_")


async def test_a_token_in_the_url_signs_nobody_in_and_a_bad_ticket_is_refused(
    show: Show,
) -> None:
    async with websockets.connect(_url(show, token=show.viewer_token), origin=show.base) as ws:
        assert (await _frames(ws, "hello"))["viewer"]["signed_in"] is False
    ticket = await _ticket(show)
    forged = ticket[:-1] + ("1" if ticket.endswith("0") else "0")
    code, reason = await _refusal(_url(show, ticket=forged), show.base)
    assert code == 4401 and "not for this room" in reason
    async with httpx.AsyncClient(base_url=show.base) as http:
        unknown_room = await http.post(
            "/api/live/tickets",
            json={"session_id": "liv_missing"},
            headers={"Authorization": f"Bearer {show.viewer_token}"},
        )
        assert unknown_room.status_code == 404
        anonymous = await http.post("/api/live/tickets", json={"session_id": show.session_id})
        assert anonymous.status_code == 401


async def test_bad_frames_get_an_error_and_the_room_stays_up(show: Show) -> None:
    async with websockets.connect(_url(show), origin=show.base) as socket:
        for bad in ("not json", "[1,2]", json.dumps({"type": "fly"}), "x" * 10_000):
            await socket.send(bad)
            error = await _frames(socket, "error")
            assert error["code"] == "bad_frame"
        await socket.send(json.dumps({"type": "ping"}))
        assert (await _frames(socket, "pong"))["type"] == "pong"


async def test_chat_is_data_rate_limited_and_needs_a_sign_in(show: Show) -> None:
    async with (
        websockets.connect(await _signed_url(show), origin=show.base) as socket,
        websockets.connect(_url(show), origin=show.base) as anonymous,
    ):
        await _frames(socket, "snapshot")
        await anonymous.send(json.dumps({"type": "chat", "text": "hi"}))
        assert (await _frames(anonymous, "error"))["message"] == "sign in to chat"
        hostile = "<script>alert(1)</script><b>hi</b>"
        await socket.send(json.dumps({"type": "chat", "text": hostile}))
        line = await _frames(socket, "chat")
        assert line["data"]["text"] == hostile  # data, never markup: pages render it as text
        await socket.send(json.dumps({"type": "chat", "text": "add my wechat abc"}))
        assert (await _frames(socket, "error"))["code"] == "chat_blocked_word"
        codes = []
        for i in range(6):
            await socket.send(json.dumps({"type": "chat", "text": f"line {i}"}))
        for _ in range(2):
            codes.append((await _frames(socket, "error"))["code"])
        assert "chat_rate_limited" in codes


async def test_a_muted_viewer_hears_why_once_the_batch_is_checked(show: Show) -> None:
    async with (
        websockets.connect(await _signed_url(show), origin=show.base) as socket,
        httpx.AsyncClient(base_url=show.base) as http,
    ):
        hello = await _frames(socket, "hello")
        muted = await http.post(
            f"/api/live/sessions/{show.session_id}/moderation",
            json={"action": "mute", "user_id": hello["viewer"]["id"], "minutes": 5},
            headers=show.anchor,
        )
        assert muted.status_code == 200, muted.text
        await socket.send(json.dumps({"type": "chat", "text": "can you hear me"}))
        assert (await _frames(socket, "error"))["code"] == "muted"


async def test_likes_are_coalesced_into_a_total(show: Show) -> None:
    async with websockets.connect(_url(show), origin=show.base) as socket:
        await _frames(socket, "snapshot")
        for _ in range(10):
            await socket.send(json.dumps({"type": "like", "count": 3}))
        totals = []
        while not totals or totals[-1] < 30:
            totals.append((await _frames(socket, "likes"))["data"]["total"])
        assert totals[-1] == 30


async def test_reconnecting_viewer_gets_a_replay_not_a_snapshot(show: Show) -> None:
    async with websockets.connect(_url(show), origin=show.base) as socket:
        snapshot = await _frames(socket, "snapshot")
    async with httpx.AsyncClient(base_url=show.base) as http:
        await http.put(
            f"/api/live/sessions/{show.session_id}/pin",
            json={"product_id": show.products[0]},
            headers=show.anchor,
        )
    async with websockets.connect(_url(show, after=snapshot["seq"]), origin=show.base) as socket:
        first_batch = json.loads(await socket.recv())
        while first_batch["type"] != "batch":
            first_batch = json.loads(await socket.recv())
        types = [frame["type"] for frame in first_batch["frames"]]
        assert "snapshot" not in types
        assert "pin" in types


async def test_heartbeats_count_watch_time(show: Show) -> None:
    async with websockets.connect(_url(show, source="share"), origin=show.base) as socket:
        await socket.send(json.dumps({"type": "heartbeat"}))
        watched = await _frames(socket, "watched")
        assert watched["seconds"] >= 0


async def test_a_private_source_counts_only_from_a_link_signed_for_the_room(
    show: Show, tmp_path: Path
) -> None:
    secret = "test-secret-key-not-for-production"  # the test server's (tests/servers.py)
    signed = source_tag(secret, show.session_id, EntrySource.FOLLOW_FEED)
    elsewhere = source_tag(secret, "liv_elsewhere", EntrySource.FOLLOW_FEED)
    expected = {
        signed: ("follow_feed", 1),
        "follow_feed": ("other", 0),  # typed by hand: claims what it cannot prove
        elsewhere: ("other", 0),  # signed, but for another room
        "follow_feed.0123456789abcdef0123456789abcdef": ("other", 0),  # forged
        "search": ("search", 0),  # public sources need no signature
    }
    visits = {}
    for tag in expected:
        async with websockets.connect(_url(show, source=tag), origin=show.base) as socket:
            visits[tag] = (await _frames(socket, "hello"))["visit_id"]
    await asyncio.sleep(0.5)  # the entries are written a batch at a time
    with sqlite3.connect(tmp_path / "laotie.db") as db:
        for tag, (source, private) in expected.items():
            row = db.execute(
                "SELECT source, private FROM visits WHERE id = ?", (visits[tag],)
            ).fetchone()
            assert tuple(row) == (source, private), tag
