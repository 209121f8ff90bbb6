"""The one DRF ``EXCEPTION_HANDLER``: every error, in the dialect of the view's app.

Validation, authentication, permission, not-found, throttling, domain errors and
unexpected exceptions all end up here. Unexpected ones are logged with their traceback
and answered with a generic 500: a client never sees a stack trace or an SQL fragment.
A database that cannot be reached (restarting, failing over) is a 503 with Retry-After:
the request changed nothing and may be repeated.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.db import InterfaceError, OperationalError
from django.http import Http404
from rest_framework import exceptions as drf
from rest_framework.response import Response

from apps.core.dialects import DEFAULT_DIALECT, ApiError, dialect_for_view, render
from apps.core.errors import DomainError

logger = logging.getLogger("apps.core.errors")


def _field_errors(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """Flatten DRF's nested error detail into {"a.b[0].c": [messages]}."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            for k, v in _field_errors(value, name).items():
                out.setdefault(k, []).extend(v)
    elif isinstance(detail, list):
        if all(not isinstance(item, (dict, list)) for item in detail):
            out.setdefault(prefix, []).extend(str(item) for item in detail)
        else:
            for index, item in enumerate(detail):
                for k, v in _field_errors(item, f"{prefix}[{index}]").items():
                    out.setdefault(k, []).extend(v)
    else:
        out.setdefault(prefix, []).append(str(detail))
    return out


RETRY_AFTER_SECONDS = 5
DATABASE_UNAVAILABLE = ApiError(503, "The database is unavailable; try again shortly.",
                                "database_unavailable")


def to_api_error(exc: Exception) -> ApiError:
    """Describe any exception as an ApiError (500 for anything unexpected)."""
    if isinstance(exc, (OperationalError, InterfaceError)):
        return DATABASE_UNAVAILABLE
    if isinstance(exc, Http404):
        exc = drf.NotFound(*exc.args[:1]) if exc.args else drf.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf.PermissionDenied()
    if isinstance(exc, DomainError):
        return ApiError(status=exc.status_code, message=exc.message, code=exc.code,
                        extra=dict(exc.extra))
    # What Django's request parsing raises for a hostile body (10,000 multipart parts:
    # TooManyFieldsSent / TooManyFilesSent; a form over DATA_UPLOAD_MAX_MEMORY_SIZE) is
    # the client's fault, answered as Django itself answers it outside DRF: a 4xx.
    if isinstance(exc, RequestDataTooBig):
        return ApiError(413, "The request body is too large.", "too_large")
    if isinstance(exc, SuspiciousOperation):
        # logged where Django logs it (django.security.<name>), as Django's own 400 is
        logging.getLogger(f"django.security.{type(exc).__name__}").error(str(exc))
        return ApiError(400, "The request could not be read: it has too many parts or is "
                        "malformed.", "bad_request")
    if isinstance(exc, drf.ValidationError):
        fields = _field_errors(exc.detail)
        if set(fields) <= {"", "non_field_errors"}:
            messages = [m for v in fields.values() for m in v]
            return ApiError(400, "; ".join(messages) or "Invalid input.", "validation_error",
                            {"non_field_errors": messages} if len(messages) > 1 else {})
        return ApiError(400, "Invalid input.", "validation_error", fields)
    if isinstance(exc, drf.APIException):
        detail = exc.detail
        message = str(detail) if not isinstance(detail, (dict, list)) else str(exc.default_detail)
        code = getattr(detail, "code", None) or exc.default_code
        explicit = message != str(exc.default_detail)
        return ApiError(exc.status_code, message, str(code), explicit=explicit)
    return ApiError(500, "Internal server error", "server_error", explicit=False)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    view = context.get("view")
    error = to_api_error(exc)
    if error.status == 503:
        logger.warning("%s in %s: %s", error.code, type(view).__name__ if view else "?", exc)
    elif error.status >= 500:
        logger.error("Unhandled error in %s", type(view).__name__ if view else "?", exc_info=exc)
    rendered = render(error, dialect_for_view(view) or DEFAULT_DIALECT)
    response = Response(rendered.body, status=error.status, content_type=rendered.content_type)
    wait = getattr(exc, "wait", None)
    if isinstance(exc, drf.Throttled) and wait is not None:
        response["Retry-After"] = str(int(wait) + 1)
    elif error.status == 503:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    if isinstance(exc, (drf.NotAuthenticated, drf.AuthenticationFailed)):
        response["WWW-Authenticate"] = 'Bearer realm="api"'
    return response
