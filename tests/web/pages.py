"""Drive the pages in-process like a browser: a cookie jar per user, forms with the CSRF token."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from tests.conftest import TEST_ORIGIN
from tests.factories import PASSWORD

_CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]*)">')
_HIDDEN_KEY = re.compile(r'name="idempotency_key" value="([^"]+)"')


@dataclass
class PageUser:
    """A signed-in user with its own cookie jar."""

    http: httpx.AsyncClient
    email: str

    async def get(self, path: str) -> httpx.Response:
        """Load a page."""
        return await self.http.get(path)

    async def csrf(self) -> str:
        """Return the CSRF token a page of this session carries."""
        return csrf_of((await self.http.get("/")).text)

    async def post(self, path: str, data: dict[str, Any] | None = None) -> httpx.Response:
        """Submit a form from one of our pages, with the session's CSRF token."""
        fields = {"csrf_token": await self.csrf(), **(data or {})}
        return await self.http.post(path, data=fields, headers={"Origin": TEST_ORIGIN})

    async def key_from(self, path: str) -> str:
        """Return the idempotency key a checkout form on a page carries."""
        found = _HIDDEN_KEY.search((await self.http.get(path)).text)
        assert found, path
        return found.group(1)


# 杭州市 西湖区, chosen on the page as one place code.
PAGE_ADDRESS = {"recipient": "李四", "phone": "13900139000", "place": "330106", "street": "1 号"}


def csrf_of(html: str) -> str:
    """Read the CSRF token from a page's meta tag."""
    found = _CSRF_META.search(html)
    assert found is not None
    return found.group(1)


def flash_of(response: httpx.Response) -> str:
    """Return the text of the page's flash message, if any."""
    found = re.search(r'<p class="flash[^"]*"[^>]*>([^<]*)</p>', response.text)
    return found.group(1) if found else ""


@asynccontextmanager
async def browsing(app: Any) -> AsyncIterator[Callable[..., Any]]:
    """Yield a maker of signed-in page users, each with its own client; close them all after."""
    clients: list[httpx.AsyncClient] = []

    async def make(
        role: str = "buyer", name: str = "Li", email: str | None = None, ships: bool = True
    ) -> PageUser:
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=TEST_ORIGIN)
        clients.append(http)
        address = email or f"{uuid.uuid4().hex[:10]}@example.com"
        if email is None:
            answer = await http.post(
                "/sign-up",
                data={"email": address, "password": PASSWORD, "name": name, "role": role},
                headers={"Origin": TEST_ORIGIN},
            )
        else:
            answer = await http.post(
                "/sign-in",
                data={"email": address, "password": PASSWORD},
                headers={"Origin": TEST_ORIGIN},
            )
        assert answer.status_code == 303, answer.text
        user = PageUser(http, address)
        if email is None and ships:  # a new user adds a shipping address on its page, to check out
            added = await user.post("/addresses", PAGE_ADDRESS)
            assert added.status_code == 303, added.text
        return user

    try:
        yield make
    finally:
        for http in clients:
            await http.aclose()
