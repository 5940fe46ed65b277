"""Analytics tests share the live rooms' fixtures."""

from tests.live.sale_room import room

__all__ = ["room"]
