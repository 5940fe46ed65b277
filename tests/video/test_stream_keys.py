"""Stream keys: made and shown once, kept only as a hash, rotated and revoked; the media
server's check knows a good key from a wrong or revoked one."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from laotie.accounts.permissions import Role
from laotie.core.clock import FrozenClock
from laotie.video.keys import anchor_of_key
from laotie.video.models import StreamKey
from tests.factories import sign_up
from tests.live.sale_room import go_live
from tests.web.pages import browsing

PATH = "/api/me/stream-key"


async def test_an_anchor_makes_sees_once_rotates_and_revokes_its_stream_key(
    client: httpx.AsyncClient, uow: Any
) -> None:
    anchor = await sign_up(client, Role.ANCHOR, name="Mei")
    before = (await client.get(PATH, headers=anchor.headers)).json()
    assert (before["active"], before["hint"]) == (False, None)
    assert before["server_url"].startswith("rtmp://") and before["server_url"].endswith(
        ":1935/live"
    )
    assert before["encoder"]["keyframe_interval_s"] == 2

    made = await client.post(PATH, headers=anchor.headers)
    assert made.status_code == 201, made.text
    key = made.json()["stream_key"]
    assert made.json()["active"] and key.startswith(made.json()["hint"])
    shown = (await client.get(PATH, headers=anchor.headers)).json()
    assert "stream_key" not in shown and shown["hint"] == made.json()["hint"]
    async with uow() as ctx:
        stored = await ctx.db.scalar(select(StreamKey).where(StreamKey.anchor_id == anchor.id))
        assert stored is not None and key not in stored.key_hash  # only its hash is kept
        assert await anchor_of_key(ctx, key) == anchor.id
        assert await anchor_of_key(ctx, key + "x") is None

    rotated = (await client.post(PATH, headers=anchor.headers)).json()["stream_key"]
    assert rotated != key
    async with uow() as ctx:
        assert await anchor_of_key(ctx, key) is None  # the old key stopped working
        assert await anchor_of_key(ctx, rotated) == anchor.id

    revoked = await client.delete(PATH, headers=anchor.headers)
    assert revoked.status_code == 200 and revoked.json()["active"] is False
    again = await client.delete(PATH, headers=anchor.headers)
    assert again.status_code == 200  # revoking twice changes nothing
    async with uow() as ctx:
        assert await anchor_of_key(ctx, rotated) is None


async def test_only_those_who_host_shows_have_stream_keys(client: httpx.AsyncClient) -> None:
    buyer = await sign_up(client, name="Li")
    assert (await client.post(PATH, headers=buyer.headers)).status_code == 403
    assert (await client.get(PATH, headers=buyer.headers)).status_code == 403
    none = await client.delete(PATH, headers=buyer.headers)
    assert none.status_code == 404 and none.json()["code"] == "no_stream_key"
    seller = await sign_up(client, Role.SELLER, name="Chen")  # a seller is its own anchor
    assert (await client.post(PATH, headers=seller.headers)).status_code == 201


async def test_the_console_shows_where_to_publish_and_the_keys_hint_never_the_key(
    client: httpx.AsyncClient, clock: FrozenClock, app: Any
) -> None:
    show = await go_live(client, clock, "Tea night", price_minor=900, stock=3)
    key = (await client.post(PATH, headers=show.anchor.headers)).json()["stream_key"]
    async with browsing(app) as users:
        anchor = await users(email=show.anchor.email)
        console = await anchor.get(f"/live/{show.session_id}/console")
    assert console.status_code == 200
    assert 'data-testid="rtmp-url">rtmp://' in console.text
    assert f"starts <code>{key[:6]}…</code>" in console.text and key not in console.text
