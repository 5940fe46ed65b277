"""The one string type of requests: no control characters, trimmed, and names never blank.

Every text a client sends goes through `clean_text`, whether it arrives in a JSON schema
(the Annotated types below) or in an HTML form (`web/forms.py`). C0 and C1 control
characters (NUL among them, which PostgreSQL refuses to store) are refused with the code
`control_characters`; a multi-line text may hold line breaks and tabs. A name or title
made only of whitespace is refused with `blank`. Surrounding whitespace is stripped,
except from passwords, which are kept exactly as typed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Annotated, Any

from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError

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
