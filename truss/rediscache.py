"""Django's built-in RedisCache, keeping one client per connection pool.

Django builds a new ``redis.Redis`` for every cache call; its constructor copies redis-py's table of ~100
response callbacks, which costs as much Python per call as the round trip to Redis (bench/RESULTS.md).
A console request makes three or four cache calls (session, user, tenants), a bridge hop two. redis-py
clients are thread-safe over their pool, and Django keeps one cache object per thread anyway.
"""

from __future__ import annotations

from typing import Any

import redis
from django.core.cache.backends import redis as django_redis


class RedisCacheClient(django_redis.RedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, redis.Redis] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> redis.Redis:
        pool = self._get_connection_pool(write)  # type: ignore[attr-defined]  # private in the stubs
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)  # type: ignore[attr-defined]
        return client


class RedisCache(django_redis.RedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = RedisCacheClient
