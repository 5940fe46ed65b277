"""Request bodies over the limit are refused with 413 before they are read, on every route."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx

from tests.factories import sign_up

TWENTY_MB = 20 * 1024 * 1024
CHUNK = 64 * 1024


class Body:
    """A large body sent in chunks, counting how much of it the server pulled."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.sent = 0

    async def stream(self) -> AsyncIterator[bytes]:
        while self.sent < self.size:
            self.sent += CHUNK
            yield b"x" * CHUNK


async def test_a_20_mb_body_is_refused_before_it_is_read(client: httpx.AsyncClient) -> None:
    body = Body(TWENTY_MB)
    answer = await client.post(
        "/api/auth/sign-up",
        content=body.stream(),
        headers={"Content-Length": str(TWENTY_MB), "Content-Type": "application/json"},
    )
    assert answer.status_code == 413
    assert answer.json()["code"] == "body_too_large"
    assert body.sent <= CHUNK  # nothing of it was read


async def test_a_chunked_body_is_cut_off_once_over_the_limit(client: httpx.AsyncClient) -> None:
    body = Body(TWENTY_MB)
    answer = await client.post(
        "/api/auth/sign-up", content=body.stream(), headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 413
    assert answer.json()["code"] == "body_too_large"
    assert body.sent < 2 * 1024 * 1024  # read only up to the limit (1 MiB by default)


async def test_the_room_order_lane_is_capped_too(client: httpx.AsyncClient) -> None:
    buyer = await sign_up(client)
    body = Body(TWENTY_MB)
    answer = await client.post(
        "/api/live/sessions/ses_any/orders",
        content=body.stream(),
        headers={**buyer.headers, "Content-Type": "application/json", "Idempotency-Key": "k" * 32},
    )
    assert answer.status_code == 413
    assert answer.json()["code"] == "body_too_large"


async def test_forms_and_bodies_under_the_limit_pass(client: httpx.AsyncClient) -> None:
    assert (await client.post("/api/auth/sign-up", content=b"{}")).status_code == 422
    page = await client.post("/sign-in", data={"email": "a" * 2_000}, headers={"Origin": "x"})
    assert page.status_code != 413
