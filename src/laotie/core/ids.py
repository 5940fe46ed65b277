"""Identifiers that leave the server: random, so they cannot be guessed or enumerated.

A simulation draws them from its own seeded generator instead (`drawn_from`), so that
the same seed writes the same ids and its summary comes out byte for byte the same.
"""

import base64
import random
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager

_last_sortable = 0
# The seeded generator ids are drawn from while a simulation runs; None: the system's.
_drawn: random.Random | None = None


def _token(size: int) -> bytes:
    return secrets.token_bytes(size) if _drawn is None else _drawn.randbytes(size)


def new_id(prefix: str) -> str:
    """Return a new unguessable id such as `ord_3kT9x...` (96 random bits)."""
    return f"{prefix}_{base64.urlsafe_b64encode(_token(12)).decode()}"


def new_sortable_id(prefix: str) -> str:
    """Return a new id that sorts after every id this process made before (then by time).

    For rows whose id is made before they are saved in a batch, and read back in order.
    """
    global _last_sortable
    wall = 0 if _drawn is not None else time.time_ns() // 1_000
    _last_sortable = max(_last_sortable + 1, wall)
    return f"{prefix}_{_last_sortable:014x}{_token(3).hex()}"


@contextmanager
def drawn_from(rng: random.Random) -> Iterator[None]:
    """Draw every new id from `rng` (and sortable ids from a counter) within the block.

    For simulations, which run alone in their process: the ids, like everything else a
    seeded world writes, are then the same for the same seed.
    """
    global _drawn, _last_sortable
    before, counter = _drawn, _last_sortable
    _drawn, _last_sortable = rng, 0
    try:
        yield
    finally:
        _drawn, _last_sortable = before, max(counter, _last_sortable)
