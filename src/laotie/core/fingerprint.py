"""Where a request comes from: the client's address and its device, for brushing detection.

A device is named by the client: the `X-Device-Id` header (apps and API clients) or the
`laotie_device` cookie the pages set once (`DEVICE_COOKIE`). Neither is proof of
anything; detection weighs a shared device together with its other signals
(docs/trust.md, Brushing).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from laotie.core.ratelimit import client_address

DEVICE_HEADER = "X-Device-Id"
DEVICE_COOKIE = "laotie_device"
# What a device id may be: anything else is dropped rather than stored.
_DEVICE = re.compile(r"[A-Za-z0-9_.:-]{8,64}")


@dataclass(frozen=True, slots=True)
class ClientPrint:
    """A request's address and device id (None when the client named none)."""

    ip: str
    device_id: str | None = None


def device_of(header: str | None, cookie: str | None) -> str | None:
    """Return the device id a request names, the header first, if it is well formed."""
    for named in (header, cookie):
        if named and _DEVICE.fullmatch(named):
            return named
    return None


def client_print(request: HTTPConnection) -> ClientPrint:
    """Return where a request comes from."""
    device = device_of(request.headers.get(DEVICE_HEADER), request.cookies.get(DEVICE_COOKIE))
    return ClientPrint(client_address(request)[:64], device)


def new_device_id() -> str:
    """Return a fresh device id, for the pages' cookie."""
    return secrets.token_urlsafe(18)


ClientPrintDep = Annotated[ClientPrint, Depends(client_print)]
