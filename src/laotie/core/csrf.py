"""CSRF protection for cookie-authenticated changes: a session-bound token and the Origin."""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache
from urllib.parse import urlsplit

from fastapi import Request
from starlette.requests import HTTPConnection

from laotie.core.errors import AppError, CommonError

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"


def csrf_token_for(secret_key: str, session_token: str) -> str:
    """Derive the CSRF token of a page session (no storage needed)."""
    mac = hmac.new(secret_key.encode(), b"csrf:" + session_token.encode(), hashlib.sha256)
    return mac.hexdigest()[:40]


def check_origin(request: HTTPConnection, public_url: str) -> None:
    """Refuse a request whose Origin (or Referer) is neither this host nor the public URL."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    if origin is None:
        raise AppError.of(CommonError.CSRF_FAILED, "missing Origin header")
    sent = _origin_of(origin)
    if sent == _origin_of(public_url):
        return  # the usual case, decided without building the request's URL
    if sent != _origin_of(f"{request.url.scheme}://{request.url.netloc}"):
        raise AppError.of(CommonError.CSRF_FAILED, "cross-origin request refused")


async def check_csrf(
    request: Request, secret_key: str, session_token: str, public_url: str
) -> None:
    """Check the Origin and the session's CSRF token, from a header or a form field."""
    check_origin(request, public_url)
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and _is_form(request):
        sent_value = (await request.form()).get(CSRF_FIELD)
        sent = sent_value if isinstance(sent_value, str) else None
    expected = csrf_token_for(secret_key, session_token)
    if sent is None or not hmac.compare_digest(sent, expected):
        raise AppError.of(CommonError.CSRF_FAILED, "missing or wrong CSRF token")


def _is_form(request: Request) -> bool:
    content_type = request.headers.get("content-type", "")
    return content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data"))


@lru_cache(maxsize=256)  # a crowd joining sends the same few origins thousands of times
def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()
