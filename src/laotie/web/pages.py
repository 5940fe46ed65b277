"""Rendering pages: the template environment, the layout's shared values and flash messages."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from laotie.accounts.permissions import Actor, Role
from laotie.core.context import Ctx
from laotie.core.csrf import csrf_token_for
from laotie.core.fingerprint import DEVICE_COOKIE, new_device_id
from laotie.core.money import format_minor
from laotie.orders import cart
from laotie.traffic import inbox

# Found beside this module, so an installed package serves them as well as a checkout.
TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"

FLASH_COOKIE = "laotie_flash"
FLASH_SECONDS = 60

# Pages load only their own scripts and styles; images may come from sellers' hosts.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' https: http: data:; script-src 'self'; "
    "style-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)

STATUS_LABELS = {
    "pending_payment": "Awaiting payment",
    "paid": "Paid · to ship",
    "shipped": "Shipped",
    "delivered": "Delivered",
    "completed": "Completed",
    "cancelled": "Cancelled",
    "refunded": "Refunded",
    "requested": "Requested",
    "rejected": "Rejected",
    "disputed": "With the platform",
    "closed": "Closed",
    "refund_only": "Refund",
    "return_refund": "Return and refund",
}


@lru_cache(maxsize=1)
def environment() -> Environment:
    """Return the template environment; autoescape is on for every template."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["money"] = format_minor
    env.filters["when"] = format_when
    env.filters["variant"] = format_variant
    env.filters["label"] = lambda value: STATUS_LABELS.get(str(value), str(value).replace("_", " "))
    return env


def format_when(moment: datetime | None) -> str:
    """Render a time for people, in UTC."""
    return "" if moment is None else moment.strftime("%Y-%m-%d %H:%M UTC")


def format_variant(attributes: dict[str, Any]) -> str:
    """Render a SKU's attributes, e.g. `colour: red · size: M`."""
    return " · ".join(f"{name}: {value}" for name, value in attributes.items()) or "Standard"


def csrf_of(request: Request, actor: Actor | None) -> str:
    """Return the CSRF token of the caller's page session ('' when signed out)."""
    if actor is None or not actor.via_cookie or actor.session_token is None:
        return ""
    return csrf_token_for(request.app.state.settings.secret_key, actor.session_token)


async def render(
    request: Request,
    ctx: Ctx,
    actor: Actor | None,
    template: str,
    *,
    status: int = 200,
    **values: Any,
) -> HTMLResponse:
    """Render a page inside the layout, showing (and consuming) the pending flash message."""
    flash = read_flash(request)
    cart_count = len(await cart.items_of(ctx, actor)) if actor is not None else 0
    unread = await inbox.unread_count(ctx, actor.id) if actor is not None else 0
    values.update(
        actor=actor,
        is_seller=actor is not None and actor.has(Role.SELLER),
        has_anchor_role=actor is not None and actor.has(Role.ANCHOR),
        is_operator=actor is not None and actor.has(Role.OPERATOR),
        is_factory=actor is not None and actor.has(Role.FACTORY),
        csrf_token=csrf_of(request, actor),
        cart_count=cart_count,
        inbox_unread=unread,
        flash=flash,
        now=ctx.now(),
        path=request.url.path,
    )
    values.setdefault("q", "")
    body = environment().get_template(template).render(values)
    response = HTMLResponse(body, status_code=status)
    protect(response)
    if flash is not None:
        response.delete_cookie(FLASH_COOKIE, path="/")
    if DEVICE_COOKIE not in request.cookies:
        _name_device(request, response)
    return response


DEVICE_DAYS = 400


def _name_device(request: Request, response: HTMLResponse) -> None:
    """Give a browser its device id, once: sign-ins and checkouts record it (brushing)."""
    response.set_cookie(
        DEVICE_COOKIE,
        new_device_id(),
        max_age=DEVICE_DAYS * 86_400,
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.app.state.settings.cookie_secure,
    )


def render_bare(template: str, *, status: int, **values: Any) -> HTMLResponse:
    """Render a page that needs no database (error pages)."""
    values.setdefault("actor", None)
    values.setdefault("is_seller", False)
    values.setdefault("has_anchor_role", False)
    values.setdefault("is_operator", False)
    values.setdefault("is_factory", False)
    values.setdefault("csrf_token", "")
    values.setdefault("cart_count", 0)
    values.setdefault("inbox_unread", 0)
    values.setdefault("flash", None)
    values.setdefault("q", "")
    values.setdefault("path", "")
    response = HTMLResponse(environment().get_template(template).render(values), status)
    protect(response)
    return response


def protect(response: HTMLResponse | RedirectResponse) -> None:
    """Keep pages out of shared caches and out of other sites' frames."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"


def redirect(request: Request, to: str, message: str = "", kind: str = "ok") -> RedirectResponse:
    """Answer a form with 303 See Other, carrying a message for the next page."""
    response = RedirectResponse(local_path(to), status_code=303)
    protect(response)
    if message:
        set_flash(request, response, message, kind)
    return response


def local_path(target: str | None, default: str = "/") -> str:
    """Return the target if it is a path on this site, so redirects never leave it."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def set_flash(request: Request, response: RedirectResponse, message: str, kind: str) -> None:
    """Remember one message for the next page, signed so that nobody else can plant one."""
    payload = base64.urlsafe_b64encode(json.dumps({"m": message, "k": kind}).encode()).decode()
    value = f"{payload}.{_flash_mac(request, payload)}"
    settings = request.app.state.settings
    response.set_cookie(
        FLASH_COOKIE,
        value,
        max_age=FLASH_SECONDS,
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
    )


def read_flash(request: Request) -> dict[str, str] | None:
    """Return the pending message, if one was left by the previous answer and is genuine."""
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw or "." not in raw:
        return None
    payload, mac = raw.rsplit(".", 1)
    if not hmac.compare_digest(mac, _flash_mac(request, payload)):
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(payload.encode()))
        return {"message": str(data["m"]), "kind": "error" if data["k"] == "error" else "ok"}
    except (ValueError, KeyError, TypeError):
        return None


def _flash_mac(request: Request, payload: str) -> str:
    key = request.app.state.settings.secret_key.encode()
    return hmac.new(key, b"flash:" + payload.encode(), hashlib.sha256).hexdigest()[:32]
