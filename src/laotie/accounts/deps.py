"""Who is calling: bearer tokens for API clients, a session cookie (with CSRF) for pages."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from laotie.accounts.permissions import Actor
from laotie.accounts.service import access_actor_by_token
from laotie.core.csrf import SAFE_METHODS, check_csrf
from laotie.core.deps import CtxDep
from laotie.core.errors import AppError, CommonError

SESSION_COOKIE = "laotie_session"


async def optional_actor(request: Request, ctx: CtxDep) -> Actor | None:
    """Return the signed-in actor, or None for an anonymous caller."""
    token, via_cookie = _token_of(request)
    if token is None:
        return None
    actor = await access_actor_by_token(ctx, token, via_cookie=via_cookie)
    if actor is not None and via_cookie and request.method not in SAFE_METHODS:
        settings = request.app.state.settings
        await check_csrf(request, settings.secret_key, token, settings.public_url)
    return actor


async def current_actor(actor: Annotated[Actor | None, Depends(optional_actor)]) -> Actor:
    """Return the signed-in actor or refuse with 401."""
    if actor is None:
        raise AppError(CommonError.NOT_AUTHENTICATED, "sign in first", 401)
    return actor


def _token_of(request: Request) -> tuple[str | None, bool]:
    """Find the caller's token: the Authorization header wins over the cookie."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value:
        return value.strip(), False
    cookie = request.cookies.get(SESSION_COOKIE)
    return (cookie, True) if cookie else (None, False)


ActorDep = Annotated[Actor, Depends(current_actor)]
MaybeActorDep = Annotated[Actor | None, Depends(optional_actor)]
