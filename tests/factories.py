"""Test data makers shared by every feature's tests; each test makes its own."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import httpx

from laotie.accounts.permissions import Role

PASSWORD = "correct horse battery"


@dataclass
class ApiUser:
    """A signed-up user with a bearer token."""

    id: str
    email: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        """Authorization headers for API calls."""
        return {"Authorization": f"Bearer {self.token}"}


# A default shipping address every test user holds (杭州市西湖区: a new-first-tier city).
ADDRESS = {
    "recipient": "张三",
    "phone": "13800138000",
    "province_code": "330000",
    "city_code": "330100",
    "district_code": "330106",
    "street": "文三路 90 号",
}


async def sign_up(
    client: httpx.AsyncClient, *roles: Role, name: str = "Tester", address: bool = True
) -> ApiUser:
    """Sign a new user up through the API and return it with a token (and an address)."""
    email = f"{uuid.uuid4().hex[:10]}@example.com"
    wanted = [str(role) for role in roles] or ["buyer"]
    answer = await client.post(
        "/api/auth/sign-up",
        json={"email": email, "password": PASSWORD, "name": name, "roles": wanted},
    )
    assert answer.status_code == 201, answer.text
    user_id = answer.json()["id"]
    if address:
        # With a token of its own: the user's token stays unknown to the server's cache,
        # as tests that grant roles after signing up expect.
        setup = ApiUser(user_id, email, await sign_in(client, email))
        added = await client.post("/api/addresses", json=ADDRESS, headers=setup.headers)
        assert added.status_code == 201, added.text
    token = await sign_in(client, email)
    return ApiUser(user_id, email, token)


async def sign_in(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> str:
    """Return a bearer token for the user."""
    answer = await client.post("/api/auth/tokens", json={"email": email, "password": password})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["token"])
