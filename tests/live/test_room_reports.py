"""A viewer reports a live room's shop; the report reaches the operators' queue."""

from __future__ import annotations

from typing import Any

import httpx

from laotie.accounts.permissions import Role
from laotie.accounts.service import do_grant_roles
from tests.factories import sign_up

FAKE = {"kind": "fake_engagement", "text": "The same twenty accounts cheer every minute."}


async def test_a_viewer_reports_a_room_once_and_an_operator_sees_it(
    client: httpx.AsyncClient, room: dict[str, Any], uow: Any
) -> None:
    viewer = await sign_up(client, Role.BUYER, name="Viewer")
    path = f"/api/live/sessions/{room['session_id']}/reports"
    assert (await client.post(path, json=FAKE)).status_code == 401
    filed = await client.post(path, json=FAKE, headers=viewer.headers)
    assert filed.status_code == 201, filed.text
    session = (await client.get(f"/api/live/sessions/{room['session_id']}")).json()
    assert (filed.json()["shop_id"], filed.json()["session_id"]) == (
        session["shop_id"],
        room["session_id"],
    )
    again = await client.post(path, json=FAKE, headers=viewer.headers)
    assert (again.status_code, again.json()["code"]) == (409, "already_reported")
    missing = await client.post(
        "/api/live/sessions/liv_none/reports", json=FAKE, headers=viewer.headers
    )
    assert missing.status_code == 404
    operator = await sign_up(client, Role.BUYER, name="Operator")
    async with uow() as ctx:
        await do_grant_roles(ctx, operator.id, frozenset({Role.OPERATOR}))
    queue = await client.get("/api/operator/reports", headers=operator.headers)
    assert [r["id"] for r in queue.json()] == [filed.json()["id"]]
