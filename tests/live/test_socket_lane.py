"""The room socket's lane takes exactly the handshakes the route would, and nothing else."""

from __future__ import annotations

from typing import Any

import pytest

from laotie.live.room.ws import RoomSocketLane, socket_session_of


def _scope(kind: str, path: str) -> dict[str, Any]:
    return {"type": kind, "path": path}


@pytest.mark.parametrize(
    ("kind", "path", "session_id"),
    [
        ("websocket", "/ws/live/lss_1", "lss_1"),
        ("websocket", "/ws/live/", None),
        ("websocket", "/ws/live/lss_1/more", None),
        ("websocket", "/ws/other/lss_1", None),
        ("http", "/ws/live/lss_1", None),
    ],
)
def test_the_lane_recognises_only_a_room_socket(
    kind: str, path: str, session_id: str | None
) -> None:
    assert socket_session_of(_scope(kind, path)) == session_id


async def test_what_the_lane_does_not_take_goes_on_to_the_application() -> None:
    seen: list[str] = []

    async def application(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["path"])

    async def nothing() -> Any:
        raise AssertionError("the lane must not read what it hands on")

    lane = RoomSocketLane(application)
    await lane(_scope("websocket", "/ws/live/a/b"), nothing, nothing)
    await lane(_scope("http", "/ws/live/a"), nothing, nothing)
    assert seen == ["/ws/live/a/b", "/ws/live/a"]
