"""The audit trail of denials: every 401, 403 and 404 the platform answers, and every
Django-admin redirect of a non-staff caller to the admin's sign-in page, is one record
of the ``platform.audit`` logger.

Why a log record and not a database table: a denial costs the caller one cheap request
(a guessed id, a foreign workspace, a bad key), and an INSERT per 404 would turn every
such request into a write on the primary database, so that a scan over ids became a
denial-of-service amplifier (and the table a place to fill). A log record is a write to
a buffered stream that the deployment ships wherever it keeps its logs, rate-limits and
rotates without touching the database.

A record carries structured ``extra`` fields, never the raw path: signed-URL tokens and
upload capabilities live in paths (``/files/<token>/…``), so the record names the route
pattern (``request.resolver_match.route``), not the URL that was asked for.

- ``event``: always ``"access_denied"``;
- ``status``: the response's status (401, 403, 404, or the 302 of the admin redirect);
- ``method``: the HTTP method;
- ``route``: the matched route pattern, or None when no route matched;
- ``view``: the matched view's name (``library-item``, ``admin:index``), or None;
- ``user``: the acting user's id, or ``"anonymous"``;
- ``credential``: how the request said who it is, ``api_key``, ``bearer`` (a JWT or the
  API secret), ``session`` or ``none``: the kind only, never the secret.

The middleware sits outermost (after SecurityMiddleware), so it sees the response the
client gets: a 404 that CommonMiddleware turns into an APPEND_SLASH redirect is not a
denial, and every denial is logged exactly once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.urls import NoReverseMatch, reverse

logger = logging.getLogger("platform.audit")

DENIED_STATUSES = frozenset({401, 403, 404})
EVENT = "access_denied"
ADMIN_APP = "admin"  # the app_name of django.contrib.admin's URLs


def _credential(request: HttpRequest) -> str:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return "api_key" if token.strip().startswith("mpk_") else "bearer"
    if header:
        return "other"
    if request.COOKIES.get(settings.SESSION_COOKIE_NAME):
        return "session"
    return "none"


def _user_id(request: HttpRequest) -> str:
    """The user a view acted for: DRF writes its authenticated user back onto the
    HttpRequest, so this is the API key's or JWT's user too, not only the session's."""
    user: Any = getattr(request, "user", None)
    if user is None or not getattr(user, "is_authenticated", False):
        return "anonymous"
    return str(user.pk)


def _is_staff(request: HttpRequest) -> bool:
    user: Any = getattr(request, "user", None)
    return bool(user is not None and getattr(user, "is_active", False)
                and getattr(user, "is_staff", False))


def _is_admin_login_redirect(request: HttpRequest, response: HttpResponseBase) -> bool:
    """A redirect of the Django admin to its own sign-in page: the admin's answer to a
    caller who is not staff (anonymous, or signed in without ``is_staff``)."""
    match = getattr(request, "resolver_match", None)
    if match is None or ADMIN_APP not in match.app_names or response.status_code not in (
            301, 302, 303, 307, 308):
        return False
    location = response.get("Location") or ""
    try:
        login = reverse(f"{match.namespace}:login")
    except NoReverseMatch:
        return False
    return urlsplit(location).path == login and not _is_staff(request)


def is_denial(request: HttpRequest, response: HttpResponseBase) -> bool:
    return response.status_code in DENIED_STATUSES or _is_admin_login_redirect(request,
                                                                                response)


def audit_fields(request: HttpRequest, response: HttpResponseBase) -> dict[str, Any]:
    match = getattr(request, "resolver_match", None)
    return {"event": EVENT, "status": response.status_code, "method": request.method,
            "route": match.route if match is not None else None,
            "view": match.view_name if match is not None else None,
            "user": _user_id(request), "credential": _credential(request)}


class AuditDenialsMiddleware:
    """Logs every denial (see the module's docstring) to ``platform.audit``."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if is_denial(request, response):
            fields = audit_fields(request, response)
            logger.info("access denied: %s %s -> %s (%s)", fields["method"],
                        fields["route"], fields["status"], fields["user"], extra=fields)
        return response
