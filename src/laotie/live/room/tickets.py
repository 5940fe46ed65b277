"""WebSocket tickets: a signed pass into one room for one user, good for a minute.

A bearer token in a WebSocket URL ends up in access logs and browser history, so the
room's socket takes no token. An API client asks `POST /api/live/tickets` (with its token
in the Authorization header, as every API call) and connects with `?ticket=`. The ticket
is an HMAC-signed `user:session:expiry`; nothing is stored, any worker can check it, and
a leaked one lets only that user into only that room until it lapses.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from laotie.core.errors import AppError
from laotie.core.signing import sign, unsign
from laotie.live.errors import LiveError
from laotie.settings import Settings

TICKET_PURPOSE = "ws-ticket"


def issue_ticket(
    settings: Settings, now: datetime, user_id: str, session_id: str
) -> tuple[str, datetime]:
    """Return a ticket into the room for the user, and when it lapses."""
    expires_at = now + timedelta(seconds=settings.ws_ticket_seconds)
    value = f"{user_id}:{session_id}:{int(expires_at.timestamp())}"
    return sign(settings.secret_key, TICKET_PURPOSE, value), expires_at


def check_ticket(settings: Settings, now: datetime, ticket: str, session_id: str) -> str:
    """Return the user a ticket lets into this room now, or refuse it."""
    value = unsign(settings.secret_key, TICKET_PURPOSE, ticket)
    parts = value.split(":") if value else []
    if len(parts) != 3 or parts[1] != session_id or not parts[2].isdigit():
        raise ticket_invalid("this ticket is not for this room")
    if datetime.fromtimestamp(int(parts[2]), UTC) <= now:
        raise ticket_invalid("this ticket has lapsed; ask for a new one")
    return parts[0]


def ticket_invalid(message: str) -> AppError:
    """Refuse a ticket that is forged, for another room, or too old."""
    return AppError(LiveError.TICKET_INVALID, message, 401)
