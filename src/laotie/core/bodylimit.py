"""A cap on request bodies, outside everything else: a body over it is refused unread.

A declared `Content-Length` over the limit is answered 413 before a byte of the body is
read. A body without one (chunked) is counted as it streams in; the moment it passes
the limit the client hears 413, the application is told the client went away, and
whatever it then tries to send is dropped. WebSocket messages are bounded by the server
itself (uvicorn's `ws_max_size`), so WebSocket scopes pass untouched.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from laotie.core.errors import CommonError


class BodyLimit:
    """Refuse HTTP request bodies larger than `max_bytes` with 413 `body_too_large`."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(send)
            return
        guard = _Guard(self, receive, send)
        try:
            await self.app(scope, guard.receive, guard.send)
        except Exception:
            if not guard.refused:
                raise
            # The application failed on the body it never got; the client has its answer.

    async def _refuse(self, send: Send) -> None:
        body = json.dumps(
            {
                "code": CommonError.BODY_TOO_LARGE,
                "message": f"the request body is over the limit of {self.max_bytes} bytes",
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _Guard:
    """Count one request's body as it is received, and answer for the app when it overflows."""

    def __init__(self, limit: BodyLimit, receive: Receive, send: Send) -> None:
        self._limit = limit
        self._receive = receive
        self._send = send
        self._seen = 0
        self._started = False
        self.refused = False

    async def receive(self) -> Message:
        if self.refused:
            return {"type": "http.disconnect"}
        message = await self._receive()
        if message["type"] == "http.request":
            self._seen += len(message.get("body", b""))
            if self._seen > self._limit.max_bytes:
                self.refused = True
                if not self._started:
                    await self._limit._refuse(self._send)
                return {"type": "http.disconnect"}
        return message

    async def send(self, message: Message) -> None:
        if self.refused:
            return  # the client was answered 413 already
        if message["type"] == "http.response.start":
            self._started = True
        await self._send(message)


def _content_length(scope: Scope) -> int | None:
    """Return the declared body length, or None when there is none (or it is not a number)."""
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
