"""The fast lane of buying in a room: `POST /api/live/sessions/{id}/orders` past the framework.

In a flash sale thousands of buyers ask at once, and FastAPI's routing through every
route, its dependency resolution, request validation and response model cost several
times what the order costs. This ASGI middleware answers the usual request itself: a
bearer token and a JSON body of the documented shape with nothing else in it. It checks
the Idempotency-Key and the token as the route does, calls the route's own
`buying.buy_in_room`, and answers with the route's status codes and bodies. Anything
else (a session cookie, which needs the CSRF check; no token; a body the model might
coerce or refuse) goes on, body and all, to the FastAPI route, which stays the
documented and validating one. The lane changes speed, never answers.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from laotie.accounts.deps import actor_of_token_alone, not_signed_in
from laotie.core.errors import check_idempotency_key
from laotie.core.http import error_response
from laotie.core.text import TextError, clean_text
from laotie.live.sale import buying
from laotie.orders.schemas import CheckoutOut

PREFIX = "/api/live/sessions/"
SUFFIX = "/orders"
# The limits of `RoomOrderIn`; a body outside them goes to the route, which says why.
MAX_ID_LENGTH = 32
MAX_QUANTITY = 10_000
# A body larger than this is not a room order; the route answers it.
MAX_BODY_BYTES = 4_096
FIELDS = frozenset({"sku_id", "quantity", "visit_id", "address_id"})


@dataclass(frozen=True, slots=True)
class RoomOrder:
    """A room order's body, checked as strictly as `RoomOrderIn` would accept it."""

    sku_id: str
    quantity: int
    visit_id: str | None
    address_id: str | None = None


class RoomOrderLane:
    """Answer room orders that carry a bearer token directly; pass everything else on.

    It stands in front of the whole application, FastAPI's own middleware included, and
    catches its own failures (`error_response`) as FastAPI's handlers would.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        session_id = session_of(scope)
        if session_id is None:
            await self.app(scope, receive, send)
            return
        body = await read_body(receive)
        if body.gone:
            return  # the client went away before sending its body
        headers = first_headers(scope)
        token = bearer_token(headers)
        whole_json = body.whole and is_json(headers)
        order = parse_order(body.data) if token is not None and whole_json else None
        if token is None or order is None:
            await self.app(scope, body.replay(receive), send)
            return
        key = headers.get(b"idempotency-key")
        response = await answer(scope["app"].state, token, session_id, order, key)
        await response(scope, receive, send)


def session_of(scope: Scope) -> str | None:
    """Return the session id if the request is a room order, else None."""
    if scope["type"] != "http" or scope["method"] != "POST":
        return None
    path: str = scope["path"]
    if not (path.startswith(PREFIX) and path.endswith(SUFFIX)):
        return None
    session_id = path[len(PREFIX) : -len(SUFFIX)]
    return session_id if session_id and "/" not in session_id else None


@dataclass(frozen=True, slots=True)
class Body:
    """What was read of a request body: all of it, its first part, or nothing (gone)."""

    data: bytes
    whole: bool
    gone: bool = False

    def replay(self, receive: Receive) -> Receive:
        """Return a receive that hands on what was read, then the client's next messages."""
        sent = False

        async def receive_again() -> Message:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": self.data, "more_body": not self.whole}

        return receive_again


async def read_body(receive: Receive) -> Body:
    """Read the request body, stopping once it is too large to be a room order."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return Body(b"", whole=False, gone=True)
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if not message.get("more_body", False):
            return Body(b"".join(chunks), whole=True)
        if size > MAX_BODY_BYTES:
            return Body(b"".join(chunks), whole=False)


def first_headers(scope: Scope) -> dict[bytes, bytes]:
    """Return the request's headers by lower-case name; the first of a repeated one wins."""
    headers: dict[bytes, bytes] = {}
    for name, value in scope["headers"]:
        headers.setdefault(name, value)
    return headers


def bearer_token(headers: Mapping[bytes, bytes]) -> str | None:
    """Return the bearer token of the Authorization header, if there is one."""
    scheme, _, token = headers.get(b"authorization", b"").partition(b" ")
    if scheme.lower() != b"bearer" or not token.strip():
        return None
    return token.strip().decode("latin-1")


def is_json(headers: Mapping[bytes, bytes]) -> bool:
    """Tell whether the body is declared as JSON."""
    kind = headers.get(b"content-type", b"").partition(b";")[0].strip().lower()
    return kind == b"application/json"


def parse_order(body: bytes) -> RoomOrder | None:
    """Return the order if the body is exactly of the documented shape, else None."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict) or not FIELDS.issuperset(data):
        return None
    sku_id, quantity, visit_id = data.get("sku_id"), data.get("quantity"), data.get("visit_id")
    if not isinstance(sku_id, str) or not 1 <= len(sku_id) <= MAX_ID_LENGTH:
        return None
    if visit_id is not None and (not isinstance(visit_id, str) or len(visit_id) > MAX_ID_LENGTH):
        return None
    if type(quantity) is not int or not 1 <= quantity <= MAX_QUANTITY:
        return None
    if not _clean(sku_id) or (visit_id is not None and not _clean(visit_id)):
        return None  # the route's text type says why (or trims it)
    address_id = data.get("address_id")
    if address_id is not None and (
        not isinstance(address_id, str) or len(address_id) > MAX_ID_LENGTH or not _clean(address_id)
    ):
        return None
    return RoomOrder(sku_id, quantity, visit_id, address_id)


def _clean(value: str) -> bool:
    """Tell whether the request text type would keep this text exactly as it is."""
    try:
        return clean_text(value) == value
    except TextError:
        return False


async def answer(
    state: Any, token: str, session_id: str, order: RoomOrder, raw_key: bytes | None
) -> Response:
    """Place the order as the route does; return its answer or the refusal."""
    try:
        key = check_idempotency_key(None if raw_key is None else raw_key.decode("latin-1"))
        actor = await actor_of_token_alone(state, token, via_cookie=False)
        if actor is None:
            raise not_signed_in()
        checkout = await buying.buy_in_room(
            state,
            actor,
            session_id,
            order.sku_id,
            order.quantity,
            order.visit_id,
            key,
            order.address_id,
        )
    except Exception as error:
        return error_response(error)
    out = CheckoutOut.model_construct(orders=checkout.orders, replayed=checkout.replayed)
    return Response(out.model_dump_json(), 201, media_type="application/json")
