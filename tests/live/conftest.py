"""Fixtures of the live tests: Redis, shared or private."""

from tests.redis_fixture import redis_server, redis_url

__all__ = ["redis_server", "redis_url"]
