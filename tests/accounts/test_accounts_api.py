"""Sign-up, sign-in, tokens, lock-out and rate limits through the API."""

from __future__ import annotations

from datetime import timedelta

import httpx

from laotie.core.clock import FrozenClock
from tests.factories import PASSWORD, sign_up


async def test_sign_up_then_sign_in_gives_a_working_token(client: httpx.AsyncClient) -> None:
    user = await sign_up(client, name="Wang")
    me = await client.get("/api/auth/me", headers=user.headers)
    assert me.status_code == 200
    assert me.json()["email"] == user.email
    assert me.json()["roles"] == ["buyer"]


async def test_duplicate_email_is_refused_with_a_code(client: httpx.AsyncClient) -> None:
    user = await sign_up(client)
    again = await client.post(
        "/api/auth/sign-up", json={"email": user.email, "password": PASSWORD, "name": "X"}
    )
    assert again.status_code == 409
    assert again.json()["code"] == "email_taken"


async def test_nobody_signs_up_as_operator(client: httpx.AsyncClient) -> None:
    answer = await client.post(
        "/api/auth/sign-up",
        json={"email": "op@example.com", "password": PASSWORD, "name": "Op", "roles": ["operator"]},
    )
    assert answer.status_code == 403
    assert answer.json()["code"] == "role_not_allowed"


async def test_bad_input_gets_invalid_input_code(client: httpx.AsyncClient) -> None:
    answer = await client.post("/api/auth/sign-up", json={"email": "nope", "password": "x"})
    assert answer.status_code == 422
    body = answer.json()
    assert body["code"] == "invalid_input"
    assert {e["field"] for e in body["errors"]} >= {"email", "password", "name"}


async def test_wrong_password_is_refused(client: httpx.AsyncClient) -> None:
    user = await sign_up(client)
    answer = await client.post(
        "/api/auth/tokens", json={"email": user.email, "password": "wrong password"}
    )
    assert answer.status_code == 401
    assert answer.json()["code"] == "bad_credentials"


async def test_repeated_failures_lock_the_account_until_it_expires(
    client: httpx.AsyncClient, clock: FrozenClock
) -> None:
    user = await sign_up(client)
    for _ in range(5):
        await client.post("/api/auth/tokens", json={"email": user.email, "password": "bad guess!"})
    locked = await client.post("/api/auth/tokens", json={"email": user.email, "password": PASSWORD})
    assert locked.status_code == 423
    assert locked.json()["code"] == "account_locked"
    clock.advance(timedelta(minutes=16))
    again = await client.post("/api/auth/tokens", json={"email": user.email, "password": PASSWORD})
    assert again.status_code == 201


async def test_sign_in_is_rate_limited_per_address(client: httpx.AsyncClient) -> None:
    codes = [
        (
            await client.post(
                "/api/auth/tokens", json={"email": "ghost@example.com", "password": "whatever"}
            )
        ).status_code
        for _ in range(25)
    ]
    assert codes[0] == 401
    assert codes[-1] == 429


async def test_revoked_token_stops_working(client: httpx.AsyncClient) -> None:
    user = await sign_up(client)
    assert (
        await client.delete("/api/auth/tokens/current", headers=user.headers)
    ).status_code == 204
    assert (await client.get("/api/auth/me", headers=user.headers)).status_code == 401


async def test_probes_answer(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"database": True}


async def test_docs_work_offline(client: httpx.AsyncClient) -> None:
    page = await client.get("/docs")
    assert "/docs-assets/swagger-ui-bundle.js" in page.text
    asset = await client.get("/docs-assets/swagger-ui-bundle.js")
    assert asset.status_code == 200
