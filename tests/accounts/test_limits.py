"""Sign-up is rate-limited per address, through the API and the form alike; every 429 says when."""

from __future__ import annotations

import uuid

import httpx
import pytest

from laotie.settings import Settings
from tests.factories import PASSWORD
from tests.fresh_db import TEST_ORIGIN

SIGN_UPS_PER_MINUTE = 3


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The test deployment with a small sign-up limit."""
    return settings.model_copy(update={"sign_up_rate_per_minute": SIGN_UPS_PER_MINUTE})


def _new_account() -> dict[str, str]:
    return {"email": f"{uuid.uuid4().hex[:10]}@example.com", "password": PASSWORD, "name": "Li"}


async def _api_sign_up(client: httpx.AsyncClient) -> httpx.Response:
    return await client.post("/api/auth/sign-up", json=_new_account())


async def _form_sign_up(client: httpx.AsyncClient) -> httpx.Response:
    form = {**_new_account(), "role": "buyer"}
    return await client.post("/sign-up", data=form, headers={"Origin": TEST_ORIGIN})


async def test_api_sign_up_is_rate_limited_with_retry_after(client: httpx.AsyncClient) -> None:
    codes = [(await _api_sign_up(client)).status_code for _ in range(SIGN_UPS_PER_MINUTE)]
    assert codes == [201] * SIGN_UPS_PER_MINUTE
    refused = await _api_sign_up(client)
    assert refused.status_code == 429
    assert refused.json()["code"] == "rate_limited"
    assert 1 <= int(refused.headers["retry-after"]) <= 60


async def test_the_form_and_the_api_share_one_sign_up_limit(client: httpx.AsyncClient) -> None:
    for _ in range(SIGN_UPS_PER_MINUTE - 1):
        assert (await _api_sign_up(client)).status_code == 201
    assert (await _form_sign_up(client)).status_code == 303
    client.cookies.clear()  # signed out again, as a new visitor
    for refused in (await _form_sign_up(client), await _api_sign_up(client)):
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) >= 1


async def test_a_sign_in_over_the_limit_says_when_to_retry(client: httpx.AsyncClient) -> None:
    ghost = {"email": "ghost@example.com", "password": "whatever"}
    answers = [await client.post("/api/auth/tokens", json=ghost) for _ in range(21)]
    assert answers[-1].status_code == 429
    assert int(answers[-1].headers["retry-after"]) >= 1
    form = await client.post("/sign-in", data=ghost, headers={"Origin": TEST_ORIGIN})
    assert form.status_code == 429
    assert int(form.headers["retry-after"]) >= 1
