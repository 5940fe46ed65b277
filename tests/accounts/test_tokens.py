"""API tokens expire after LAOTIE_TOKEN_DAYS, and their owner lists and revokes them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from laotie.core.clock import FrozenClock
from tests.factories import PASSWORD, sign_in, sign_up


async def test_a_token_expires_even_while_it_is_cached(
    client: httpx.AsyncClient, clock: FrozenClock, app: Any
) -> None:
    user = await sign_up(client, address=False)  # an address book entry would add a token
    assert (await client.get("/api/auth/me", headers=user.headers)).status_code == 200
    assert app.state.token_cache.get(user.token, clock.now()) is not None  # cached now
    clock.advance(timedelta(days=app.state.settings.token_days, seconds=1))
    expired = await client.get("/api/auth/me", headers=user.headers)
    assert expired.status_code == 401
    assert expired.json()["code"] == "token_expired"


async def test_the_room_order_lane_refuses_an_expired_token(
    client: httpx.AsyncClient, clock: FrozenClock, app: Any
) -> None:
    user = await sign_up(client, address=False)  # an address book entry would add a token
    await client.get("/api/auth/me", headers=user.headers)
    clock.advance(timedelta(days=31))
    answer = await client.post(
        "/api/live/sessions/liv_x/orders",
        json={"sku_id": "sku_x", "quantity": 1},
        headers={**user.headers, "Idempotency-Key": "k" * 32},
    )
    assert answer.status_code == 401
    assert answer.json()["code"] == "token_expired"


async def test_a_user_lists_and_revokes_their_tokens(
    client: httpx.AsyncClient, clock: FrozenClock
) -> None:
    user = await sign_up(client, address=False)  # an address book entry would add a token
    laptop = await client.post(
        "/api/auth/tokens", json={"email": user.email, "password": PASSWORD, "label": "laptop"}
    )
    laptop_token = laptop.json()["token"]
    listed = await client.get("/api/auth/tokens", headers=user.headers)
    assert listed.status_code == 200
    tokens = listed.json()
    assert len(tokens) == 2
    assert all(laptop_token not in str(token) for token in tokens)  # never shown again
    by_label = {token["label"]: token for token in tokens}
    assert by_label["laptop"]["current"] is False
    assert by_label[None]["current"] is True
    assert by_label["laptop"]["kind"] == "api"
    assert by_label["laptop"]["expires_at"].startswith(
        (clock.now() + timedelta(days=30)).date().isoformat()
    )
    laptop_auth = {"Authorization": f"Bearer {laptop_token}"}
    assert (await client.get("/api/auth/me", headers=laptop_auth)).status_code == 200  # cached
    stranger = await sign_up(client)
    path = f"/api/auth/tokens/{by_label['laptop']['id']}"
    assert (await client.delete(path, headers=stranger.headers)).status_code == 404
    assert (await client.delete(path, headers=user.headers)).status_code == 204
    assert (await client.get("/api/auth/me", headers=laptop_auth)).status_code == 401
    assert [
        t["label"] for t in (await client.get("/api/auth/tokens", headers=user.headers)).json()
    ] == [None]
    assert (await client.get("/api/auth/me", headers=user.headers)).status_code == 200
    assert await sign_in(client, user.email)  # signing in again gives a fresh token
