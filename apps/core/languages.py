"""The language of an app's answers when the caller names none the platform speaks.

Django's LocaleMiddleware falls back to ``LANGUAGE_CODE`` (English) for a request
without a usable ``Accept-Language``. An app whose contract is written in another
language declares it (``AppConfig.default_language``, for the paths of its
``url_prefixes``): admin_media answers in Chinese unless asked for English. This
middleware runs after LocaleMiddleware and only changes that fallback; a caller that
asks for a language the platform has (``en``, ``zh-CN`` → ``zh-hans``) gets it.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.translation.trans_real import parse_accept_lang_header

from apps.core.dialects import app_for_path


def requested_language(header: str) -> str | None:
    """The first language of an ``Accept-Language`` header the platform supports."""
    for code, _quality in parse_accept_lang_header(header):
        if code == "*":
            return None
        try:
            return translation.get_supported_language_variant(code)
        except LookupError:
            continue
    return None


class AppLanguageMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        default = getattr(app_for_path(request.path_info), "default_language", None)
        if default and not requested_language(request.headers.get("Accept-Language", "")):
            translation.activate(default)
            request.LANGUAGE_CODE = default
        return self.get_response(request)
