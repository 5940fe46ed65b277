"""Write a viewer's messages straight to its connection, as `websockets.broadcast()` does.

The ASGI path costs a coroutine per message and several awaits per viewer; a room of
thousands pays that ten times a second. Under uvicorn's `websockets` protocols (the
sans-I/O one, uvicorn's default when `websockets` is installed, and the legacy one) the
connection and its transport can be reached, so a tick's shared message is framed once
and handed to each viewer's transport with a synchronous write. A viewer is then slow
when its transport holds more than its high-water mark of unsent bytes: the hub writes
nothing more to it and cuts it off if it stays so (see `Hub`). Any other server, or a
send wrapped by a middleware that is not known to pass messages through unchanged,
keeps the generic ASGI path.
"""

from __future__ import annotations

import asyncio
import struct
from typing import Any, Protocol

TEXT_OPCODE = 0x1
FINAL = 0x80
DEFAULT_HIGH_WATER = 64 * 1024
# Starlette wraps the ASGI send of every route in this closure, which only notes whether
# an HTTP response started and passes each message on unchanged.
PASS_THROUGH_SENDERS = frozenset(
    {"wrap_app_handling_exceptions.<locals>.wrapped_app.<locals>.sender"}
)
MAX_WRAPPERS = 8


class Outgoing:
    """One text message for one or many viewers; its wire frame is built once, when needed."""

    __slots__ = ("_frame", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self._frame: bytes | None = None

    def frame(self) -> bytes:
        """Return the message framed as a server sends it (final, unmasked, uncompressed)."""
        if self._frame is None:
            self._frame = text_frame(self.text.encode())
        return self._frame


def text_frame(payload: bytes) -> bytes:
    """Frame a text payload: a server's frames are not masked (RFC 6455, section 5.2)."""
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", FINAL | TEXT_OPCODE, size)
    elif size < 1 << 16:
        header = struct.pack("!BBH", FINAL | TEXT_OPCODE, 126, size)
    else:
        header = struct.pack("!BBQ", FINAL | TEXT_OPCODE, 127, size)
    return header + payload


class DirectWriter(Protocol):
    """A connection that takes a message without awaiting."""

    def blocked(self) -> bool:
        """Say whether the connection cannot take a message now (its peer is not reading)."""
        ...

    def write(self, message: Outgoing) -> None:
        """Write a message at once; raise ConnectionError when the connection is closing."""
        ...

    def abort(self) -> None:
        """Drop the connection and whatever it still holds unsent."""
        ...


class _TransportWriter:
    """What both uvicorn protocols share: the transport, its buffer and its limit."""

    __slots__ = ("_high_water", "_open", "_protocol", "_transport")

    def __init__(self, protocol: Any, state: Any) -> None:
        self._protocol = protocol
        self._transport: asyncio.Transport = protocol.transport
        self._high_water = _high_water(self._transport)
        self._open = type(state).OPEN  # the library's connection state, read once

    def blocked(self) -> bool:
        """Say whether the transport holds more unsent bytes than its high-water mark."""
        return self._transport.get_write_buffer_size() > self._high_water

    def abort(self) -> None:
        """Close the transport at once, dropping its buffer."""
        self._transport.abort()

    def _check_open(self, is_open: bool) -> None:
        if not is_open or self._transport.is_closing():
            raise ConnectionError("the WebSocket is closing")


class _SansIOWriter(_TransportWriter):
    """uvicorn's sans-I/O `websockets` protocol (`WebSocketsSansIOProtocol`)."""

    __slots__ = ("_compressed",)

    def __init__(self, protocol: Any, state: Any) -> None:
        super().__init__(protocol, state)
        # Negotiated in the handshake, which uvicorn completed when it accepted.
        self._compressed = bool(protocol.conn.extensions)

    def write(self, message: Outgoing) -> None:
        """Write the message to the transport, framed by hand unless an extension is on."""
        protocol = self._protocol
        transport = self._transport
        # uvicorn closes the transport as soon as the peer's close frame or a protocol
        # error arrives, so these flags cover the connection's own state too.
        if protocol.close_sent or protocol.disconnected or transport.is_closing():
            raise ConnectionError("the WebSocket is closing")
        if self._compressed:  # compression keeps state per connection
            connection = protocol.conn
            connection.send_text(message.text.encode())
            transport.write(b"".join(connection.data_to_send()))
        else:
            transport.write(message.frame())


class _LegacyWriter(_TransportWriter):
    """uvicorn's legacy `websockets` protocol (`WebSocketProtocol`)."""

    __slots__ = ()

    def blocked(self) -> bool:
        """Also wait for the handshake and for a fragmented message to finish."""
        protocol = self._protocol
        return (
            not protocol.handshake_completed_event.is_set()
            or protocol._fragmented_message_waiter is not None
            or super().blocked()
        )

    def write(self, message: Outgoing) -> None:
        """Write the message to the transport, framed by hand unless an extension is on."""
        protocol = self._protocol
        self._check_open(not protocol.closed_event.is_set() and protocol.state is self._open)
        if protocol.extensions:
            protocol.write_frame_sync(True, TEXT_OPCODE, message.text.encode())
        else:
            self._transport.write(message.frame())


def direct_writer(send: object) -> DirectWriter | None:
    """Return a direct writer for an ASGI `send` of a uvicorn WebSocket, or None."""
    target = _unwrapped(send)
    owner = getattr(target, "__self__", None)
    method = getattr(target, "__func__", None)
    if owner is None or getattr(owner, "transport", None) is None:
        return None
    try:
        from uvicorn.protocols.websockets.websockets_impl import WebSocketProtocol
        from uvicorn.protocols.websockets.websockets_sansio_impl import (
            WebSocketsSansIOProtocol,
        )
    except ImportError:  # pragma: no cover - uvicorn[standard] is a dependency
        return None
    # The method must be the one read here: a subclass that overrides it may do more.
    if isinstance(owner, WebSocketsSansIOProtocol) and method is WebSocketsSansIOProtocol.send:
        return _SansIOWriter(owner, owner.conn.state)
    if isinstance(owner, WebSocketProtocol) and method is WebSocketProtocol.asgi_send:
        return _LegacyWriter(owner, owner.state)
    return None


def _unwrapped(send: object) -> object:
    """Follow the pass-through wrappers around an ASGI send down to the server's own."""
    for _ in range(MAX_WRAPPERS):
        if getattr(send, "__qualname__", None) not in PASS_THROUGH_SENDERS:
            return send
        code = getattr(send, "__code__", None)
        closure = getattr(send, "__closure__", None)
        if code is None or not closure or "send" not in code.co_freevars:
            return send
        send = closure[code.co_freevars.index("send")].cell_contents
    return send


def _high_water(transport: asyncio.Transport) -> int:
    try:
        return max(transport.get_write_buffer_limits()[1], 1)
    except (AttributeError, NotImplementedError):
        return DEFAULT_HIGH_WATER
