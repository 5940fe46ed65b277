"""Identifiers that leave the server: random, so they cannot be guessed or enumerated."""

import secrets
import time


def new_id(prefix: str) -> str:
    """Return a new unguessable id such as `ord_3kT9x...` (96 random bits)."""
    return f"{prefix}_{secrets.token_urlsafe(12)}"


_last_sortable = 0


def new_sortable_id(prefix: str) -> str:
    """Return a new id that sorts after every id this process made before (then by time).

    For rows whose id is made before they are saved in a batch, and read back in order.
    """
    global _last_sortable
    _last_sortable = max(_last_sortable + 1, time.time_ns() // 1_000)
    return f"{prefix}_{_last_sortable:014x}{secrets.token_hex(3)}"
