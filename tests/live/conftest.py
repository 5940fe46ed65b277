"""Fixtures of the live tests: Redis, shared or private; a live room with a SKU to sell."""

from tests.live.sale_room import room
from tests.redis_fixture import redis_server, redis_url
from tests.servers import live_server, migrated_sqlite

__all__ = ["live_server", "migrated_sqlite", "redis_server", "redis_url", "room"]
