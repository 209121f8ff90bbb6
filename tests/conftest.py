"""Fixtures shared by the whole suite.

The suite runs against real services started by scripts/test_services.py (`make test`):
PostgreSQL + pgvector, Redis, clamd and an S3 endpoint (moto's server). Tests that need
one of them say so with the fixtures below, which skip nothing: without the service the
fixture fails loudly, because a green run that did not exercise them would be a lie.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from apps.accounts.models import User


def _require_env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: run the suite with `make test` "
                    "(scripts/test_services.py starts the real services)")
    return value


@pytest.fixture(scope="session")
def redis_url() -> str:
    return _require_env("REDIS_URL")


@pytest.fixture(scope="session")
def clamd_address() -> str:
    return _require_env("CLAMD_ADDRESS")


@pytest.fixture(scope="session")
def s3_endpoint() -> str:
    return _require_env("TEST_S3_ENDPOINT_URL")


@pytest.fixture(autouse=True)
def _isolated_media(settings: Any, tmp_path: Any) -> None:
    """Each test writes local files under its own temp dir."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                    "OPTIONS": {"location": str(tmp_path / "media"), "base_url": "/media/"}},
    }


@pytest.fixture(autouse=True)
def _no_throttling(monkeypatch: pytest.MonkeyPatch) -> None:
    """DRF's throttles read their rates once, at import (``THROTTLE_RATES``): a settings
    override would not reach them, and the shared Redis counters would let one test's
    requests throttle the next. Tests of throttling set their own rates."""
    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES",
                        {"anon": None, "user": None, "auth": None})


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def make_user(db: None) -> Any:
    counter = iter(range(1, 10_000))

    def make(username: str | None = None, *, password: str = "s3cret-Pass-123",
             **extra: Any) -> User:
        name = username or f"user{next(counter)}"
        return User.objects.create_user(username=name, password=password, **extra)

    return make


@pytest.fixture
def user(make_user: Any) -> User:
    return make_user("alice")


@pytest.fixture
def console_client(make_user: Any) -> Client:
    """An operator signed in to the Django admin (a session, as a browser has)."""
    client = Client()
    client.force_login(make_user("operator", is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def auth_client(user: User) -> Iterator[APIClient]:
    client = APIClient()
    client.force_authenticate(user)
    yield client
    client.force_authenticate(None)


@pytest.fixture(autouse=True)
def _eager_celery() -> Iterator[None]:
    """Tasks run inline unless a test starts a real worker (see tests/apps/processing)."""
    from config.celery import app

    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager = True
