"""What every lean-twin benchmark shares: the twin's authentication (the same simplejwt
check ours runs), its urlconf in front of the platform's, and the in-process caller that
sends both contenders' requests through Django's WSGI handler.

The twin is a plain Django function view that replays the SQL ours sent; the ratio of
the two is what the platform's DRF dispatch, ORM and presenters cost on top of it.
"""

from __future__ import annotations

import sys
import time
import types
from typing import Any

_JWT: Any = None


def jwt_user(request: Any) -> Any:
    """The request's user by the same JWT authentication ours does (simplejwt: an HMAC
    check and one user query), or None."""
    global _JWT
    if _JWT is None:
        from rest_framework_simplejwt.authentication import JWTAuthentication

        _JWT = JWTAuthentication()
    found = _JWT.authenticate(request)
    return found[0] if found else None


def install_urlconf(name: str, patterns: list[Any]) -> None:
    """The platform's urlconf with the twin's ``patterns`` in front (resolved first)."""
    from django.conf import settings

    import config.urls as root

    module = types.ModuleType(name)
    module.urlpatterns = [*patterns, *root.urlpatterns]  # type: ignore[attr-defined]
    module.handler404 = getattr(root, "handler404", None)  # type: ignore[attr-defined]
    module.handler500 = getattr(root, "handler500", None)  # type: ignore[attr-defined]
    sys.modules[module.__name__] = module
    settings.ROOT_URLCONF = module.__name__


class Caller:
    """GETs through the WSGI handler, as a server makes them (request signals, every
    middleware, the resolver; no socket); the environ is built before the clock starts.
    Any answer but 200 stops the benchmark."""

    def __init__(self, token: str | None = None) -> None:
        from django.core.handlers.wsgi import WSGIHandler
        from django.test import RequestFactory

        self.handler = WSGIHandler()
        self.factory = RequestFactory()
        self.token = token

    def __call__(self, url: str, query: dict[str, str], token: str | None = None
                 ) -> tuple[float, bytes]:
        environ = self.factory.get(url, query,
                                   HTTP_AUTHORIZATION=f"Bearer {token or self.token}").environ
        status: list[str] = []

        def start_response(code: str, headers: Any, exc_info: Any = None) -> None:
            status.append(code)

        start: Any = start_response  # WSGI's start_response protocol, loosely
        started = time.perf_counter()
        response = self.handler(environ, start)
        try:
            body = b"".join(response)
        finally:
            response.close()
        elapsed = time.perf_counter() - started
        if not status or not status[0].startswith("200"):
            raise RuntimeError(f"GET {url} {query}: {status} {body[:300]!r}")
        return elapsed, body
