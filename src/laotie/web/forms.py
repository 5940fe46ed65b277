"""Reading HTML form fields: every bad value becomes a refusal with a message for people."""

from __future__ import annotations

import re

from pydantic import ValidationError
from starlette.datastructures import FormData

from laotie.core.errors import AppError, CommonError
from laotie.core.money import exponent, format_minor
from laotie.core.text import TextError, clean_text, refusal_code

_DECIMAL = re.compile(r"^\s*(\d{1,12})(?:[.,](\d+))?\s*$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def invalid(message: str) -> AppError:
    """Refuse a form value."""
    return AppError.of(CommonError.INVALID_INPUT, message)


def text(
    form: FormData,
    name: str,
    *,
    max_length: int = 500,
    required: bool = False,
    multiline: bool = False,
) -> str:
    """Return a text field, stripped; refuse one that is missing, too long or has control codes."""
    value = form.get(name)
    try:
        result = clean_text(value, multiline=multiline) if isinstance(value, str) else ""
    except TextError as error:
        raise AppError(error.code, f"{name.replace('_', ' ')} {error.message}", 422) from None
    if required and not result:
        raise invalid(f"{name.replace('_', ' ')} is required")
    if len(result) > max_length:
        raise invalid(f"{name.replace('_', ' ')} is longer than {max_length} characters")
    return result


def shown(form: FormData, name: str) -> str:
    """Return a field as the form may show it again: trimmed, control characters dropped."""
    value = form.get(name)
    return _CONTROL.sub("", value).strip()[:500] if isinstance(value, str) else ""


def integer(form: FormData, name: str, *, low: int, high: int) -> int:
    """Return a whole number field within bounds."""
    raw = text(form, name, max_length=20, required=True)
    try:
        value = int(raw)
    except ValueError:
        raise invalid(f"{name.replace('_', ' ')} must be a whole number") from None
    if not low <= value <= high:
        raise invalid(f"{name.replace('_', ' ')} must be between {low} and {high}")
    return value


def choice(form: FormData, name: str, options: tuple[str, ...]) -> str:
    """Return a field that must be one of a few values."""
    value = text(form, name, max_length=40)
    if value not in options:
        raise invalid(f"choose {' or '.join(options)} for {name.replace('_', ' ')}")
    return value


def major_to_minor(raw: str, currency: str) -> int:
    """Read a price typed in major units (`129.90`) as minor units, without a float."""
    match = _DECIMAL.match(raw)
    places = exponent(currency)
    if match is None:
        raise invalid(f"{raw!r} is not a price")
    whole, fraction = match.group(1), match.group(2) or ""
    if len(fraction) > places:
        raise invalid(f"{raw!r} has more than {places} decimal places")
    scale: int = 10**places
    return int(whole) * scale + int(fraction.ljust(places, "0") or "0")


def amount_between(form: FormData, currency: str, low: int, high: int, what: str) -> int:
    """Read the form's `amount` in major units, refused outside [low, high] minor units."""
    amount = major_to_minor(text(form, "amount", max_length=20), currency)
    if not low <= amount <= high:
        bounds = (format_minor(low, currency), format_minor(high, currency))
        raise invalid(f"{what} is from {bounds[0]} to {bounds[1]}")
    return amount


def minor_to_major(amount: int, currency: str) -> str:
    """Write minor units as the major-unit text a price field shows (`129.90`)."""
    places = exponent(currency)
    if places == 0:
        return str(amount)
    whole, part = divmod(amount, 10**places)
    return f"{whole}.{part:0{places}d}"


def attributes(raw: str) -> dict[str, str]:
    """Read variant attributes written as `colour=red, size=M`."""
    found: dict[str, str] = {}
    for pair in raw.split(","):
        if not pair.strip():
            continue
        name, sep, value = pair.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise invalid(f"write attributes as name=value, e.g. size=M (not {pair.strip()!r})")
        found[name.strip()] = value.strip()
    return found


def explain(error: ValidationError) -> AppError:
    """Turn a schema's validation error into one readable refusal."""
    problems = []
    for item in error.errors()[:3]:
        where = ".".join(str(part) for part in item.get("loc", ()))
        problems.append(f"{where}: {item.get('msg', '')}" if where else str(item.get("msg", "")))
    message = "; ".join(problems) or "the form is not valid"
    return AppError(refusal_code(error.errors()), message, 422)
