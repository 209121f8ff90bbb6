"""Chinese (the spec's words) unless the caller asks for English; every kind of answer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from admin_media.models import Media
from apps.accounts.models import User
from tests.admin_media.helpers import BASE, EN, ZH, error, get, ok, send

pytestmark = pytest.mark.django_db
MakeMedia = Callable[..., Media]

# Accept-Language -> the language of the answer
HEADERS = [
    (None, "zh-hans"), ("", "zh-hans"), ("en", "en"), ("en-US", "en"), ("EN-gb", "en"),
    ("en-US,en;q=0.9", "en"), ("zh-CN", "zh-hans"), ("zh-CN,zh;q=0.9,en;q=0.8", "zh-hans"),
    ("zh-Hans", "zh-hans"), ("zh", "zh-hans"), ("fr", "zh-hans"), ("de-DE,de;q=0.9", "zh-hans"),
    ("fr-FR, en;q=0.5", "en"), ("*", "zh-hans"), ("xx-invalid;;", "zh-hans"),
]


def _texts(language: str) -> type[ZH] | type[EN]:
    return EN if language == "en" else ZH


def _check_language(response: Any, language: str) -> None:
    assert response["Content-Language"] == language
    assert "Accept-Language" in response.get("Vary", "")


@pytest.mark.parametrize("header, language", HEADERS)
def test_success_messages(staff: APIClient, make_media: MakeMedia, header: str | None,
                          language: str) -> None:
    texts = _texts(language)
    empty = get(staff, lang=header)
    ok(empty, texts.NONE_FOUND)
    _check_language(empty, language)
    media = make_media(media_type="video", type="video/mp4")
    found = send(staff, "GET", raw=b"", lang=header)
    ok(found, texts.FOUND)
    _check_language(found, language)
    patched = send(staff, "PATCH", {"mediaIds": [media.pk], "category": ["a"]}, lang=header)
    ok(patched, texts.updated(1))
    _check_language(patched, language)
    put = send(staff, "PUT", {"id": media.pk, "aspectRatio": "1/1"}, lang=header)
    ok(put, texts.UPDATED)
    deleted = send(staff, "DELETE", {"mediaIds": [media.pk]}, lang=header)
    ok(deleted, texts.deleted(1))
    _check_language(deleted, language)


@pytest.mark.parametrize("header, language", HEADERS)
def test_error_messages(staff: APIClient, make_media: MakeMedia, header: str | None,
                        language: str) -> None:
    texts = _texts(language)
    make_media()
    bad = send(staff, "GET", raw=b"", lang=header, path=f"{BASE}?page=0")
    error(bad, 400, texts.PAGE_INVALID)
    _check_language(bad, language)
    error(send(staff, "PATCH", raw=b"{", lang=header), 400, texts.BODY_NOT_JSON)
    error(send(staff, "DELETE", {"mediaIds": []}, lang=header), 400, texts.MEDIA_IDS_INVALID)
    missing = send(staff, "PUT", {"id": "nope", "category": ["a"]}, lang=header)
    error(missing, 404, texts.NOT_FOUND)
    _check_language(missing, language)


@pytest.mark.parametrize("header, language", [(None, "zh-hans"), ("en", "en"),
                                              ("zh-CN", "zh-hans"), ("fr", "zh-hans")])
def test_access_errors(api_client: APIClient, auth_client: APIClient, header: str | None,
                       language: str) -> None:
    texts = _texts(language)
    anonymous = send(api_client, "GET", raw=b"", lang=header)
    error(anonymous, 401, texts.UNAUTHORIZED)
    _check_language(anonymous, language)
    refused = send(auth_client, "PATCH", {"mediaIds": ["a"], "category": ["b"]}, lang=header)
    error(refused, 403, texts.STAFF_ONLY)
    _check_language(refused, language)


@pytest.mark.parametrize("header, language", [(None, "zh-hans"), ("en", "en"),
                                              ("zh-CN", "zh-hans"), ("fr", "zh-hans")])
@pytest.mark.parametrize("path", [f"{BASE}/", f"{BASE}/media_001", f"{BASE}/a/b"])
def test_unknown_sub_url_is_404_in_the_envelope(staff: APIClient, api_client: APIClient,
                                                header: str | None, language: str,
                                                path: str) -> None:
    for client in (staff, api_client):
        response = send(client, "GET", raw=b"", lang=header, path=path)
        error(response, 404, _texts(language).ROUTE_NOT_FOUND)
        _check_language(response, language)


@pytest.mark.parametrize("header, language", [(None, "zh-hans"), ("en", "en"),
                                              ("zh-CN", "zh-hans"), ("fr", "zh-hans")])
@pytest.mark.parametrize("method", ["TRACE", "PROPFIND", "CONNECT"])
def test_unsupported_method_is_405_in_the_envelope(staff: APIClient, header: str | None,
                                                   language: str, method: str) -> None:
    """The text is DRF's own (translated by DRF's catalogue), naming the method."""
    response = send(staff, method, raw=b"", lang=header)
    assert response.status_code == 405
    body = response.json()
    assert list(body) == ["success", "message", "data"]
    assert body["success"] is False and body["data"] is None
    if language == "en":
        assert body["message"] == f'Method "{method}" not allowed.'
    else:
        assert method in body["message"] and _has_chinese(body["message"]), body
    _check_language(response, language)


def _has_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def test_english_is_asked_for_per_request(staff: APIClient) -> None:
    """A language asked for once does not stick (no cookie, no session)."""
    ok(send(staff, "GET", raw=b"", lang="en"), EN.NONE_FOUND)
    ok(send(staff, "GET", raw=b""), ZH.NONE_FOUND)
    ok(send(staff, "GET", raw=b"", lang="en"), EN.NONE_FOUND)


def test_session_user_gets_chinese_by_default(make_user: Callable[..., User]) -> None:
    make_user("boss", is_staff=True)
    client = APIClient()
    assert client.login(username="boss", password="s3cret-Pass-123")
    ok(send(client, "GET", raw=b""), ZH.NONE_FOUND)
    ok(send(client, "GET", raw=b"", lang="en-AU"), EN.NONE_FOUND)
