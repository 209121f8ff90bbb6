"""The Redis cache keeps one client per pool and still behaves as Django's cache."""

from __future__ import annotations

from apps.core.cache import PooledRedisCache


def test_pooled_redis_cache_reuses_its_client_against_real_redis(redis_url: str) -> None:
    cache = PooledRedisCache(redis_url, {"KEY_PREFIX": "test-pooled"})
    client = cache._cache.get_client(write=True)
    assert cache._cache.get_client(write=True) is client  # Django's builds one per call
    cache.set("answer", {"n": 42}, 30)
    assert cache.get("answer") == {"n": 42}
    assert cache.incr("counter", 1) if cache.add("counter", 1) else True
    assert cache.get("counter") == 2
    cache.delete_many(["answer", "counter"])
    assert cache.get("answer") is None
