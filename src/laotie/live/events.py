"""The live feature's room vocabulary: which realtime room a session speaks in."""

from __future__ import annotations


def room_name(session_id: str) -> str:
    """Return the realtime room of a live session."""
    return f"live:{session_id}"
