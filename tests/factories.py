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


async def sign_up(client: httpx.AsyncClient, *roles: Role, name: str = "Tester") -> ApiUser:
    """Sign a new user up through the API and return it with a token."""
    email = f"{uuid.uuid4().hex[:10]}@example.com"
    wanted = [str(role) for role in roles] or ["buyer"]
    answer = await client.post(
        "/api/auth/sign-up",
        json={"email": email, "password": PASSWORD, "name": name, "roles": wanted},
    )
    assert answer.status_code == 201, answer.text
    user_id = answer.json()["id"]
    token = await sign_in(client, email)
    return ApiUser(user_id, email, token)


async def sign_in(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> str:
    """Return a bearer token for the user."""
    answer = await client.post("/api/auth/tokens", json={"email": email, "password": password})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["token"])
