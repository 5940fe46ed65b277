"""Per-minute counters: each complete minute of a show is rolled up once, the same every time."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx

from laotie.accounts.permissions import Role
from laotie.accounts.service import access_user
from laotie.core.clock import FrozenClock
from laotie.live.jobs import roll_up_minutes
from laotie.live.room import chat, visits
from laotie.live.schemas import EntrySource
from laotie.live.session.service import load_session
from tests.catalog_factories import make_operator
from tests.factories import sign_up
from tests.live.sale_room import go_live


async def test_each_minute_of_a_show_is_counted_once(
    client: httpx.AsyncClient, uow: Any, app: Any, clock: FrozenClock
) -> None:
    show = await go_live(client, clock, "Minutes", price_minor=2_000, stock=9)
    anchor, session_id, product = show.anchor, show.session_id, show.product
    viewer = await sign_up(client, Role.BUYER, name="Viewer")
    async with uow() as ctx:
        visit_id = await visits.do_enter(
            ctx, session_id, viewer.id, viewer.id, EntrySource.FOLLOW_FEED, False
        )
        session = await load_session(ctx, session_id)
        await chat.do_say(ctx, session, await access_user(ctx, viewer.id), "hello")
    app.state.live.like(session_id, 7)
    await app.state.live.flush_counters(app.state)
    bought = await client.post(
        f"/api/live/sessions/{session_id}/orders",
        json={"sku_id": product.sku_ids[0], "quantity": 2, "visit_id": visit_id},
        headers={**viewer.headers, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert bought.status_code == 201, bought.text
    assert await roll_up_minutes(app.state) == 0  # the first minute is not over yet
    clock.advance(timedelta(minutes=1))
    async with uow() as ctx:
        await visits.do_heartbeat(ctx, visit_id)
    clock.advance(timedelta(minutes=1))
    assert await roll_up_minutes(app.state) == 2
    assert await roll_up_minutes(app.state) == 0  # nothing rolled up twice
    rows = (
        await client.get(f"/api/live/sessions/{session_id}/minutes", headers=anchor.headers)
    ).json()
    first, second = rows
    assert (first["entries"], first["viewers"], first["chats"], first["likes"]) == (1, 1, 1, 7)
    assert (first["orders"], first["gmv_minor"]) == (1, 4_000)
    assert (second["entries"], second["viewers"], second["chats"], second["orders"]) == (0, 1, 0, 0)
    assert second["likes"] == 0
    stranger = await sign_up(client, Role.SELLER)
    refused = await client.get(f"/api/live/sessions/{session_id}/minutes", headers=stranger.headers)
    assert refused.status_code == 404
    operator = await make_operator(client, uow)
    assert (
        len(
            (
                await client.get(
                    f"/api/live/sessions/{session_id}/minutes", headers=operator.headers
                )
            ).json()
        )
        == 2
    )
