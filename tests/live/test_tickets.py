"""WebSocket tickets: signed for one user and one room, and lapsing after a minute."""

from __future__ import annotations

from datetime import timedelta

import pytest

from laotie.core.clock import FrozenClock
from laotie.core.errors import AppError
from laotie.live.room.tickets import check_ticket, issue_ticket
from laotie.settings import Settings

SETTINGS = Settings(database_url="sqlite+aiosqlite://", secret_key="k" * 32)


def test_a_ticket_lets_its_user_into_its_room_until_it_lapses() -> None:
    clock = FrozenClock()
    ticket, expires_at = issue_ticket(SETTINGS, clock.now(), "usr_a", "liv_a")
    assert expires_at == clock.now() + timedelta(seconds=60)
    assert check_ticket(SETTINGS, clock.now(), ticket, "liv_a") == "usr_a"
    for now, room in ((clock.now(), "liv_b"), (expires_at, "liv_a")):
        with pytest.raises(AppError) as refused:
            check_ticket(SETTINGS, now, ticket, room)
        assert (refused.value.code, refused.value.status) == ("ticket_invalid", 401)
    other_key = SETTINGS.model_copy(update={"secret_key": "z" * 32})
    with pytest.raises(AppError):
        check_ticket(other_key, clock.now(), ticket, "liv_a")
