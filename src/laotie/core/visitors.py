"""Anonymous visitors: a signed id in a cookie, so that one browser is one viewer.

A signed-in viewer is its user id (`usr_...`); an anonymous one is the `vis_...` id the
pages hand it in the `laotie_visitor` cookie, signed so that a client cannot take
another's. The live rooms and the shop's pages count viewers by the same id.
"""

from __future__ import annotations

import secrets

from starlette.requests import HTTPConnection
from starlette.responses import Response

from laotie.core.signing import sign, unsign
from laotie.settings import Settings

VISITOR_COOKIE = "laotie_visitor"
VISITOR_PURPOSE = "visitor"
VISITOR_DAYS = 365


def new_visitor_id() -> str:
    """Return a fresh anonymous visitor id."""
    return f"vis_{secrets.token_urlsafe(9)}"


def known_visitor(connection: HTTPConnection, secret_key: str) -> str:
    """Return the anonymous visitor's id its signed cookie names, or "" when it has none."""
    cookie = connection.cookies.get(VISITOR_COOKIE, "")
    return unsign(secret_key, VISITOR_PURPOSE, cookie) or ""


def keep_visitor(connection: HTTPConnection, response: Response, settings: Settings) -> str:
    """Return the anonymous visitor's id, giving it a signed cookie when it holds none."""
    held = known_visitor(connection, settings.secret_key)
    if held:
        return held
    visitor = new_visitor_id()
    response.set_cookie(
        VISITOR_COOKIE,
        sign(settings.secret_key, VISITOR_PURPOSE, visitor),
        max_age=VISITOR_DAYS * 86_400,
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
    )
    return visitor


def is_prefetch(connection: HTTPConnection) -> bool:
    """Tell whether a browser asked for the page ahead of time, before anyone looked at it."""
    purpose = connection.headers.get("sec-purpose") or connection.headers.get("purpose") or ""
    return "prefetch" in purpose.lower()
