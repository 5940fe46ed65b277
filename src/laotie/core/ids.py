"""Identifiers that leave the server: random, so they cannot be guessed or enumerated."""

import secrets


def new_id(prefix: str) -> str:
    """Return a new unguessable id such as `ord_3kT9x...` (96 random bits)."""
    return f"{prefix}_{secrets.token_urlsafe(12)}"
