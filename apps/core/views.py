"""Platform-level views: health, and JSON answers for URLs that matched no view."""

from __future__ import annotations

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from apps.core.dialects import DEFAULT_DIALECT, ApiError, dialect_for_path, render
from apps.core.exceptions import DATABASE_UNAVAILABLE, RETRY_AFTER_SECONDS
from apps.core.health import run_checks

_RETRY = {"Retry-After": str(RETRY_AFTER_SECONDS)}
_API_ROOTS = ("/api/", "/v1/", "/workspaces/", "/files/", "/healthz")


def _is_api(path: str) -> bool:
    return path.startswith(_API_ROOTS)


def json_error(request: HttpRequest, error: ApiError) -> HttpResponse:
    """An error for a plain Django view, in the dialect of the app that owns the path."""
    rendered = render(error, dialect_for_path(request.path) or DEFAULT_DIALECT)
    return JsonResponse(rendered.body, status=error.status, content_type=rendered.content_type,
                        json_dumps_params={"ensure_ascii": False})


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if not _is_api(request.path):
        return defaults.page_not_found(request, exception or Exception())
    return json_error(request, ApiError(404, "Not found", "not_found", explicit=False))


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500. Django calls it while handling the exception, so a database outage
    that broke a plain view or a middleware is still told apart: 503, retry later."""
    unavailable = isinstance(sys.exc_info()[1], (OperationalError, InterfaceError))
    if not _is_api(request.path):
        if unavailable:
            return HttpResponse("The service is unavailable; try again shortly.", status=503,
                                content_type="text/plain", headers=_RETRY)
        return defaults.server_error(request)
    if unavailable:
        response = json_error(request, DATABASE_UNAVAILABLE)
        response["Retry-After"] = _RETRY["Retry-After"]
        return response
    return json_error(request, ApiError(500, "Internal server error", "server_error",
                                         explicit=False))


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Status of every component; 503 when the core (database, storage) is down."""
    report = run_checks()
    return JsonResponse(report.as_dict(), status=200 if report.core_ok else 503)
