"""The platform's default throttles: one Redis round trip per request.

DRF's throttles keep a list of timestamps per client (a cache get and a set: two round
trips, the list pickled both ways), and its ``UserRateThrottle`` keys an anonymous
request by its address too, so a public read paid four cache round trips
(bench/bench_ai_media.py: ~0.8 ms of a ~2 ms feed page on 2 cores).

- :class:`FixedWindowMixin` counts requests in a fixed window per client, one pipelined
  ``INCR`` + ``EXPIRE``. A client may reach twice the rate across a window's edge: the
  price of one round trip. Without a Redis cache it falls back to DRF's sliding window.
- :class:`AnonRateThrottle`: the anonymous rate (``THROTTLE_ANON_RATE``) per address.
- :class:`UserRateThrottle`: the per-user rate (``THROTTLE_USER_RATE``) for
  authenticated requests only, as docs/configuration.md describes it.
"""

from __future__ import annotations

from typing import Any

from django.core.cache import cache
from rest_framework import throttling


class FixedWindowMixin:
    """A fixed-window counter in Redis in place of DRF's timestamp history."""

    rate: str | None
    key: str | None
    now: float
    duration: int
    num_requests: int
    window_end = 0.0

    def allow_request(self, request: Any, view: Any) -> bool:
        client_of = getattr(getattr(cache, "_cache", None), "get_client", None)
        if client_of is None:  # not a Redis cache
            return super().allow_request(request, view)  # type: ignore[misc]
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)  # type: ignore[attr-defined]
        if self.key is None:
            return True
        self.now = self.timer()  # type: ignore[attr-defined]
        window = int(self.now // self.duration)
        self.window_end = (window + 1) * self.duration
        key = cache.make_and_validate_key(f"{self.key}:{window}")
        pipe = client_of(key, write=True).pipeline(transaction=False)
        pipe.incr(key)
        pipe.expire(key, self.duration + 1)
        count, _ = pipe.execute()
        return int(count) <= self.num_requests

    def wait(self) -> float | None:
        if not self.window_end:
            return super().wait()  # type: ignore[misc]
        return max(0.0, self.window_end - self.now)


class AnonRateThrottle(FixedWindowMixin, throttling.AnonRateThrottle):
    pass


class UserRateThrottle(FixedWindowMixin, throttling.UserRateThrottle):
    def get_cache_key(self, request: Any, view: Any) -> str | None:
        if not (request.user and request.user.is_authenticated):
            return None  # anonymous requests have the anonymous rate only
        return super().get_cache_key(request, view)
