"""The five error dialects, and how a request picks one.

Every error the platform returns goes through :func:`render`; the dialect decides only
the *shape*. Which dialect applies is declared by the app that owns the view
(``AppConfig.error_dialect``), by the view itself (``error_dialect`` attribute), or, for
requests that never reached a view (unknown URL), by the URL prefixes that apps declare
(``AppConfig.url_prefixes``).

| dialect         | used by        | shape                                                    |
|-----------------|----------------|----------------------------------------------------------|
| ``success``     | user_library   | ``{"success": false, "error": msg}``                     |
| ``nest``        | media_library  | ``{"statusCode", "message" (list on 400), "error"}``    |
| ``error``       | ai_media       | ``{"error": msg}``                                       |
| ``problem``     | author_media, platform | RFC 9457 ``application/problem+json``           |
| ``envelope``    | admin_media    | ``{"success": false, "message": msg, "data": null}``    |
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from django.apps import AppConfig, apps
from django.utils.translation import gettext

DEFAULT_DIALECT = "problem"


@dataclass(frozen=True)
class ApiError:
    """One error, before it is given a shape."""

    status: int
    message: str
    code: str = "error"
    field_errors: dict[str, list[str]] = field(default_factory=dict)
    explicit: bool = True  # False when message is only the exception's generic default
    extra: dict[str, Any] = field(default_factory=dict)  # problem+json extension members

    @property
    def reason(self) -> str:
        try:
            return HTTPStatus(self.status).phrase
        except ValueError:
            return "Error"

    def messages(self) -> list[str]:
        """Field errors flattened to "field: message" lines, or the message alone."""
        if not self.field_errors:
            return [self.message]
        lines = []
        for name, errors in self.field_errors.items():
            for error in errors:
                lines.append(error if name in ("", "non_field_errors") else f"{name}: {error}")
        return lines


@dataclass(frozen=True)
class Rendered:
    body: dict[str, Any]
    content_type: str = "application/json"


# Generic texts used when an exception carries only its default message.
_STANDARD = {401: "Unauthorized", 403: "Forbidden", 404: "Not found",
             405: "Method not allowed", 429: "Too many requests", 500: "Internal server error"}


def _summary(error: ApiError) -> str:
    if not error.explicit and error.status in _STANDARD:
        return _STANDARD[error.status]
    if error.field_errors:
        return "; ".join(error.messages())
    return error.message


def _success(error: ApiError) -> Rendered:
    # user_library's contract has one 401 body, whatever was wrong with the credentials
    message = _STANDARD[401] if error.status == 401 else _summary(error)
    return Rendered({"success": False, "error": message})


def _nest(error: ApiError) -> Rendered:
    # a 400 of the request checkers lists its problems, even when there is one
    message: str | list[str] = (error.messages() if error.status == 400 and (
        error.field_errors or error.code == "validation_error") else _summary(error))
    return Rendered({"statusCode": error.status, "message": message, "error": error.reason})


def _error(error: ApiError) -> Rendered:
    return Rendered({"error": _summary(error)})


def _problem(error: ApiError) -> Rendered:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": error.reason,
        "status": error.status,
        "detail": _summary(error),
        "code": error.code,
    }
    if error.field_errors:
        body["errors"] = error.field_errors
    body.update({k: v for k, v in error.extra.items() if k not in body})
    return Rendered(body, "application/problem+json")


def _envelope(error: ApiError) -> Rendered:
    return Rendered({"success": False, "message": gettext(_summary(error)), "data": None})


DIALECTS: dict[str, Callable[[ApiError], Rendered]] = {
    "success": _success,
    "nest": _nest,
    "error": _error,
    "problem": _problem,
    "envelope": _envelope,
}


def render(error: ApiError, dialect: str) -> Rendered:
    return DIALECTS.get(dialect, DIALECTS[DEFAULT_DIALECT])(error)


def dialect_for_view(view: object | None) -> str | None:
    """The dialect a view declares, or the one of the app its class lives in."""
    if view is None:
        return None
    declared = getattr(view, "error_dialect", None)
    if declared:
        return str(declared)
    config = apps.get_containing_app_config(type(view).__module__)
    return getattr(config, "error_dialect", None) if config else None


def app_for_path(path: str) -> AppConfig | None:
    """The app whose declared URL prefix (``AppConfig.url_prefixes``) is the longest
    match for path."""
    best: tuple[int, AppConfig] | None = None
    for config in apps.get_app_configs():
        for prefix in getattr(config, "url_prefixes", ()):
            if _matches(path, prefix) and (best is None or len(prefix) > best[0]):
                best = (len(prefix), config)
    return best[1] if best else None


def dialect_for_path(path: str) -> str | None:
    """The dialect of the app that owns path by its URL prefixes."""
    return getattr(app_for_path(path), "error_dialect", None)


def _matches(path: str, prefix: str) -> bool:
    if "*" not in prefix:
        return path == prefix or path.startswith(prefix.rstrip("/") + "/")
    head, _, tail = prefix.partition("*")
    if not path.startswith(head):
        return False
    rest = path[len(head):]
    slash = rest.find("/")
    return slash >= 0 and rest[slash:].startswith(tail)
