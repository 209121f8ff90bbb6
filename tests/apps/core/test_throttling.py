"""The default throttles count in Redis, one window per client, and say when to retry."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory, force_authenticate
from rest_framework.views import APIView

from apps.core.throttling import AnonRateThrottle, UserRateThrottle


class _Ping(APIView):
    permission_classes = [AllowAny]
    throttle_classes = [AnonRateThrottle, UserRateThrottle]

    def get(self, request: Request) -> Response:
        return Response({"ok": True})


@pytest.fixture
def rates(monkeypatch: pytest.MonkeyPatch) -> None:
    # DRF binds the rates to the throttle classes once: set them for this test only
    rates = {"anon": "3/min", "user": "5/min"}
    monkeypatch.setattr(AnonRateThrottle, "THROTTLE_RATES", rates)
    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", rates)


def _address() -> str:
    return f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{secrets.randbelow(250)}"


def _get(address: str, user: Any = None) -> Any:
    request = APIRequestFactory().get("/ping", REMOTE_ADDR=address)
    if user is not None:
        force_authenticate(request, user=user)
    return _Ping.as_view()(request)


def test_the_cache_is_redis() -> None:
    assert callable(getattr(getattr(cache, "_cache", None), "get_client", None))


@pytest.mark.usefixtures("rates")
def test_anonymous_clients_get_the_anonymous_rate_each() -> None:
    first, second = _address(), _address()
    assert [_get(first).status_code for _ in range(4)] == [200, 200, 200, 429]
    assert _get(second).status_code == 200  # another address has its own window
    throttled = _get(first)
    assert throttled.status_code == 429
    assert 0 < int(throttled["Retry-After"]) <= 60


@pytest.mark.usefixtures("rates")
def test_authenticated_users_get_the_user_rate_not_the_address_count(make_user: Any) -> None:
    user = make_user()
    address = _address()
    codes = [_get(address, user).status_code for _ in range(6)]
    assert codes == [200] * 5 + [429]
    # the user's requests did not count against the address's anonymous window
    assert [_get(address).status_code for _ in range(4)] == [200, 200, 200, 429]


def test_anonymous_requests_are_not_keyed_by_the_user_throttle() -> None:
    request = APIRequestFactory().get("/ping", REMOTE_ADDR=_address())
    drf_request = Request(request)
    drf_request.user = AnonymousUser()
    assert UserRateThrottle().get_cache_key(drf_request, _Ping()) is None
