"""The one string type of requests: no control characters, trimmed, and names never blank.

Every text a client sends goes through `clean_text`, whether it arrives in a JSON schema
(the Annotated types below) or in an HTML form (`web/forms.py`). C0 and C1 control
characters (NUL among them, which PostgreSQL refuses to store) are refused with the code
`control_characters`; a multi-line text may hold line breaks and tabs. A name or title
made only of whitespace is refused with `blank`. Surrounding whitespace is stripped,
except from passwords, which are kept exactly as typed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Annotated, Any
from urllib.parse import unquote_plus

from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError
from starlette.types import ASGIApp, Receive, Scope, Send

from laotie.core.errors import CommonError

# C0 (U+0000–U+001F), DEL and C1 (U+0080–U+009F).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# The same less line feed and tab, for texts that may run over several lines.
_CONTROL_MULTILINE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")

CONTROL_MESSAGE = "must not contain control characters"
BLANK_MESSAGE = "must not be blank"


class TextError(ValueError):
    """A text refused for its characters; `code` is the API's code for it."""

    def __init__(self, code: CommonError, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def clean_text(
    value: str, *, multiline: bool = False, blank: bool = True, strip: bool = True
) -> str:
    """Return the text trimmed; refuse control characters, and blank text where not allowed."""
    if multiline:
        value = value.replace("\r\n", "\n")
    pattern = _CONTROL_MULTILINE if multiline else _CONTROL
    if pattern.search(value):
        raise TextError(CommonError.CONTROL_CHARACTERS, CONTROL_MESSAGE)
    cleaned = value.strip() if strip else value
    if not blank and not cleaned.strip():
        raise TextError(CommonError.BLANK, BLANK_MESSAGE)
    return cleaned


def _validator(**options: bool) -> BeforeValidator:
    """Clean a text before its length and pattern are checked, so both see what is kept."""

    def validate(value: Any) -> Any:
        if not isinstance(value, str):
            return value  # the string schema refuses it with its own words
        try:
            return clean_text(value, **options)
        except TextError as error:
            raise PydanticCustomError(str(error.code), error.message) from None

    return BeforeValidator(validate)


# One line of text, trimmed; may be empty (ids, codes, optional notes on one line).
Text = Annotated[str, _validator()]
# One line that must say something: a person's or a shop's name, a title, a carrier.
Name = Annotated[str, _validator(blank=False)]
# Several lines: descriptions, reasons, notes. Line breaks and tabs are allowed.
LongText = Annotated[str, _validator(multiline=True)]
# A password: no control characters, but kept exactly as typed.
Secret = Annotated[str, _validator(strip=False)]

# The codes of refused texts, most telling first: a request's answer carries the first found.
TEXT_CODES = (CommonError.CONTROL_CHARACTERS, CommonError.BLANK)


def refusal_code(errors: Iterable[Mapping[str, Any]]) -> CommonError:
    """Return the code of a request refused by validation: a text code if any, else invalid."""
    kinds = {str(error.get("type", "")) for error in errors}
    for code in TEXT_CODES:
        if code in kinds:
            return code
    return CommonError.INVALID_INPUT


class RefuseControlInAddress:
    """Refuse a request whose path or query holds a control character, before any route.

    Ids in paths and filters in queries reach SQL as they are; a NUL there would make
    PostgreSQL fail with a 500. One check here covers every route, the lane included.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and _address_has_control(scope):
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 4422, "reason": CONTROL_MESSAGE})
                return
            body = json.dumps(
                {
                    "code": CommonError.CONTROL_CHARACTERS,
                    "message": f"the address {CONTROL_MESSAGE}",
                }
            ).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 422,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)


def _address_has_control(scope: Scope) -> bool:
    """Tell whether the decoded path or query string holds a control character."""
    if _CONTROL.search(scope.get("path", "")):
        return True
    query = scope.get("query_string", b"")
    return b"%" in query and _CONTROL.search(unquote_plus(query.decode("latin-1"))) is not None
