"""Who is calling: bearer tokens for API clients, a session cookie (with CSRF) for pages."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.requests import HTTPConnection

from laotie.accounts.permissions import Actor
from laotie.accounts.service import TokenHolder, access_token_holder
from laotie.core.context import Ctx, unit_of_work_for
from laotie.core.csrf import SAFE_METHODS, check_csrf
from laotie.core.deps import CtxDep
from laotie.core.errors import AppError, CommonError
from laotie.core.openapi import declare_errors

SESSION_COOKIE = "laotie_session"


class TokenCache:
    """Who recent tokens belong to, for a few seconds, so hot paths skip the lookup.

    A revoked token is forgotten at once by the process that revoked it and by the others
    within `ttl_s`; so is a role change. An expired token is never answered from the cache:
    each entry keeps the token's own expiry and is checked against the clock on every read.
    """

    def __init__(self, ttl_s: float = 30.0, size: int = 100_000) -> None:
        self.ttl_s = ttl_s
        self.size = size
        self._entries: dict[str, tuple[float, Actor, str, datetime | None]] = {}

    def get(self, token: str, now: datetime) -> Actor | None:
        """Return the cached actor of a token, if fresh and the token not expired at `now`."""
        entry = self._entries.get(token)
        if entry is None or entry[0] < time.monotonic():
            return None
        expires_at = entry[3]
        if expires_at is not None and expires_at <= now:
            del self._entries[token]  # the database says why
            return None
        return entry[1]

    def put(
        self, token: str, actor: Actor, token_id: str = "", expires_at: datetime | None = None
    ) -> None:
        """Remember who a token signs in, and until when."""
        if len(self._entries) >= self.size:
            self._entries.clear()  # rare; a cold cache only costs lookups
        self._entries[token] = (time.monotonic() + self.ttl_s, actor, token_id, expires_at)

    def forget(self, token: str) -> None:
        """Drop a token (it was revoked)."""
        self._entries.pop(token, None)

    def forget_id(self, token_id: str) -> None:
        """Drop a token known by its id (revoked from the token list); revoking is rare."""
        for token in [t for t, entry in self._entries.items() if entry[2] == token_id]:
            del self._entries[token]

    def remember(self, token: str, holder: TokenHolder) -> None:
        """Remember a token holder found in the database."""
        self.put(token, holder.actor, holder.token_id, holder.expires_at)


async def actor_of_token(
    request: HTTPConnection, ctx: Ctx, token: str, via_cookie: bool
) -> Actor | None:
    """Return who a token signs in, from the cache or the database."""
    cache: TokenCache = request.app.state.token_cache
    cached = cache.get(token, ctx.now())
    if cached is not None:
        return replace(cached, via_cookie=via_cookie)
    holder = await access_token_holder(ctx, token, via_cookie=via_cookie)
    if holder is None:
        return None
    cache.remember(token, holder)
    return holder.actor


async def optional_actor(request: Request, ctx: CtxDep) -> Actor | None:
    """Return the signed-in actor, or None for an anonymous caller."""
    token, via_cookie = _token_of(request)
    if token is None:
        return None
    actor = await actor_of_token(request, ctx, token, via_cookie)
    if actor is not None and via_cookie and request.method not in SAFE_METHODS:
        settings = request.app.state.settings
        await check_csrf(request, settings.secret_key, token, settings.public_url)
    return actor


async def current_actor(actor: Annotated[Actor | None, Depends(optional_actor)]) -> Actor:
    """Return the signed-in actor or refuse with 401."""
    if actor is None:
        raise not_signed_in()
    return actor


async def signed_in_without_transaction(request: Request) -> Actor:
    """Return the caller, from the token cache when it can: hot paths open no transaction."""
    token, via_cookie = _token_of(request)
    if token is None:
        raise not_signed_in()
    state = request.app.state
    actor = await actor_of_token_alone(state, token, via_cookie)
    if actor is None:
        raise not_signed_in()
    if via_cookie and request.method not in SAFE_METHODS:
        settings = state.settings
        await check_csrf(request, settings.secret_key, token, settings.public_url)
    return actor


async def actor_of_token_alone(state: Any, token: str, via_cookie: bool) -> Actor | None:
    """Return who a token signs in: from the cache, else in a transaction of its own."""
    cache: TokenCache = state.token_cache
    cached = cache.get(token, state.clock.now())
    if cached is not None:
        return cached if cached.via_cookie == via_cookie else replace(cached, via_cookie=via_cookie)
    async with unit_of_work_for(state) as ctx:
        holder = await access_token_holder(ctx, token, via_cookie=via_cookie)
    if holder is None:
        return None
    cache.remember(token, holder)
    return holder.actor


def not_signed_in() -> AppError:
    """Refuse a caller without a valid token or session."""
    return AppError.of(CommonError.NOT_AUTHENTICATED, "sign in first")


def _token_of(request: HTTPConnection) -> tuple[str | None, bool]:
    """Find the caller's token: the Authorization header wins over the cookie."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value:
        return value.strip(), False
    cookie = request.cookies.get(SESSION_COOKIE)
    return (cookie, True) if cookie else (None, False)


def token_of(request: HTTPConnection) -> tuple[str | None, bool]:
    """Return the caller's token and whether it came from the session cookie."""
    return _token_of(request)


# What a route that needs a signed-in caller may answer; routes that check the caller
# in their body (`signed_in_without_transaction`) declare it with `errors(*SIGNED_IN)`.
SIGNED_IN = (CommonError.NOT_AUTHENTICATED, CommonError.CSRF_FAILED)
declare_errors(current_actor, *SIGNED_IN)
declare_errors(optional_actor, CommonError.CSRF_FAILED)

ActorDep = Annotated[Actor, Depends(current_actor)]
MaybeActorDep = Annotated[Actor | None, Depends(optional_actor)]
