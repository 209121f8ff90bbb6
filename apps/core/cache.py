"""Django's Redis cache, keeping one redis-py client per connection pool.

Django's ``RedisCacheClient.get_client`` wraps the pool in a new ``redis.Redis`` for
every cache operation, and building one sets up its table of response callbacks; DRF's
throttles make two cache calls per request, so on the hot read paths that was a
measurable share of a request (bench/bench_user_library.py: ~0.3-0.6 ms on 2 cores).
A ``redis.Redis`` is thread-safe and holds no connection of its own (the pool does), so
one per pool serves every thread.
"""

from __future__ import annotations

from typing import Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient


class PooledRedisCacheClient(RedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        pool = self._get_connection_pool(write)  # type: ignore[attr-defined]
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(  # type: ignore[attr-defined]
                connection_pool=pool)
        return client


class PooledRedisCache(RedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = PooledRedisCacheClient
