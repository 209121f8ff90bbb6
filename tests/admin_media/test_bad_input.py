"""Bad bodies of the writes: each answers its 400 message and changes nothing.

Also: the writes read their body as JSON whatever the Content-Type says.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import pytest
from rest_framework.test import APIClient

from admin_media.models import Media
from tests.admin_media.helpers import BASE, EN, ZH, error, get, ok, send, snapshot

pytestmark = pytest.mark.django_db
MakeMedia = Callable[..., Media]
HUNDRED_AND_ONE = [f"media_{n:03d}" for n in range(1, 102)]


@pytest.fixture
def rows(make_media: MakeMedia) -> list[Media]:
    """media_001 (image), media_002 (video), media_003 (deleted)."""
    return [make_media(), make_media(media_type="video", type="video/mp4"),
            make_media(is_delete=True)]


class Raw(bytes):
    """A body sent as these bytes, not as JSON."""


BAD_IDS: list[tuple[dict[str, Any], str]] = [
    ({}, ZH.MEDIA_IDS_INVALID),
    ({"mediaIds": []}, ZH.MEDIA_IDS_INVALID),
    ({"mediaIds": None}, ZH.MEDIA_IDS_INVALID),
    ({"mediaIds": "media_001"}, ZH.MEDIA_IDS_INVALID),
    ({"mediaIds": "media_001,media_002"}, ZH.MEDIA_IDS_INVALID),
    ({"mediaIds": 1}, ZH.MEDIA_IDS_INVALID),
    ({"mediaIds": {"0": "media_001"}}, ZH.MEDIA_IDS_INVALID),
    ({"mediaids": ["media_001"]}, ZH.MEDIA_IDS_INVALID),
    ({"mediaIds": [1, 2]}, ZH.MEDIA_IDS_ITEMS_INVALID),
    ({"mediaIds": ["media_001", 2]}, ZH.MEDIA_IDS_ITEMS_INVALID),
    ({"mediaIds": ["media_001", ""]}, ZH.MEDIA_IDS_ITEMS_INVALID),
    ({"mediaIds": ["   "]}, ZH.MEDIA_IDS_ITEMS_INVALID),
    ({"mediaIds": ["media_001", None]}, ZH.MEDIA_IDS_ITEMS_INVALID),
    ({"mediaIds": [["media_001"]]}, ZH.MEDIA_IDS_ITEMS_INVALID),
    ({"mediaIds": [{"id": "media_001"}]}, ZH.MEDIA_IDS_ITEMS_INVALID),
    ({"mediaIds": [True]}, ZH.MEDIA_IDS_ITEMS_INVALID),
    ({"mediaIds": ["media_001\x00"]}, ZH.MEDIA_IDS_ITEMS_INVALID),
    ({"mediaIds": ["x" * 513]}, ZH.MEDIA_IDS_ITEMS_INVALID),
    ({"mediaIds": HUNDRED_AND_ONE}, ZH.TOO_MANY),
    ({"mediaIds": ["media_001"] * 101}, ZH.TOO_MANY),
]
BAD_CATEGORIES: list[tuple[dict[str, Any], str]] = [
    ({}, ZH.CATEGORY_INVALID),
    ({"category": None}, ZH.CATEGORY_INVALID),
    ({"category": 5}, ZH.CATEGORY_INVALID),
    ({"category": True}, ZH.CATEGORY_INVALID),
    ({"category": {"portrait": True}}, ZH.CATEGORY_INVALID),
    ({"category": [1]}, ZH.CATEGORY_ITEMS_INVALID),
    ({"category": ["a", None]}, ZH.CATEGORY_ITEMS_INVALID),
    ({"category": ["a", ["b"]]}, ZH.CATEGORY_ITEMS_INVALID),
    ({"category": [""]}, ZH.CATEGORY_ITEMS_INVALID),
    ({"category": "  "}, ZH.CATEGORY_ITEMS_INVALID),
    ({"category": ["a", " "]}, ZH.CATEGORY_ITEMS_INVALID),
    ({"category": ["x" * 65]}, ZH.CATEGORY_ITEMS_INVALID),
    ({"category": ["a\x00b"]}, ZH.CATEGORY_ITEMS_INVALID),
    ({"category": [f"c{i}" for i in range(101)]}, ZH.CATEGORY_TOO_MANY),
]

BODIES_ZH: list[tuple[str, Any, str]] = [
    # the body itself
    *[(method, Raw(raw), message) for method in ("PATCH", "PUT", "DELETE") for raw, message in [
        (b'{"mediaIds": ["media_001"], "category": ["a"]', ZH.BODY_NOT_JSON),
        (b"{'mediaIds': ['media_001']}", ZH.BODY_NOT_JSON),
        (b'{"id": "media_001", "category": ["a"],}', ZH.BODY_NOT_JSON),
        (b"mediaIds=media_001&category=a", ZH.BODY_NOT_JSON),
        (b'\xff{"id": "media_001"}', ZH.BODY_NOT_JSON),
        (b'{"id": NaN}', ZH.BODY_NOT_JSON),
        (b"", ZH.BODY_NOT_OBJECT),
        (b"null", ZH.BODY_NOT_OBJECT),
        (b'["media_001", "media_002"]', ZH.BODY_NOT_OBJECT),
        (b'[{"mediaIds": ["media_001"], "id": "media_001", "category": ["a"]}]',
         ZH.BODY_NOT_OBJECT),
        (b'"media_001"', ZH.BODY_NOT_OBJECT),
        (b"42", ZH.BODY_NOT_OBJECT),
        (b"true", ZH.BODY_NOT_OBJECT),
    ]],
    # mediaIds, for both batch writes
    *[(method, {**body, **({"category": ["a"]} if method == "PATCH" else {})}, message)
      for method in ("PATCH", "DELETE") for body, message in BAD_IDS],
    # PATCH's category (mediaIds are checked first)
    *[("PATCH", {"mediaIds": ["media_001"], **body}, message)
      for body, message in BAD_CATEGORIES],
    ("PATCH", {"mediaIds": [], "category": 5}, ZH.MEDIA_IDS_INVALID),
    ("PATCH", {"mediaIds": HUNDRED_AND_ONE, "category": [1]}, ZH.TOO_MANY),
    # PUT
    *[("PUT", body, message) for body, message in [
        ({}, ZH.ID_INVALID),
        ({"category": ["a"]}, ZH.ID_INVALID),
        ({"id": "", "category": ["a"]}, ZH.ID_INVALID),
        ({"id": "   ", "category": ["a"]}, ZH.ID_INVALID),
        ({"id": None, "category": ["a"]}, ZH.ID_INVALID),
        ({"id": 1, "category": ["a"]}, ZH.ID_INVALID),
        ({"id": 1.5, "category": ["a"]}, ZH.ID_INVALID),
        ({"id": ["media_001"], "category": ["a"]}, ZH.ID_INVALID),
        ({"id": {"id": "media_001"}, "category": ["a"]}, ZH.ID_INVALID),
        ({"id": True, "category": ["a"]}, ZH.ID_INVALID),
        ({"id": "media_001\x00", "category": ["a"]}, ZH.ID_INVALID),
        ({"mediaIds": ["media_001"], "category": ["a"]}, ZH.ID_INVALID),
        ({"id": "media_001"}, ZH.NOTHING_TO_UPDATE),
        ({"id": "media_001", "category": None, "aspectRatio": None, "supabaseId": None,
          "posterUrl": None}, ZH.NOTHING_TO_UPDATE),
        ({"id": "media_001", "url": "https://example.com/x.jpg", "mediaType": "video"},
         ZH.NOTHING_TO_UPDATE),
        ({"id": "nope"}, ZH.NOTHING_TO_UPDATE),
        ({"id": "media_001", "category": 5}, ZH.CATEGORY_INVALID),
        ({"id": "media_001", "category": {"a": 1}}, ZH.CATEGORY_INVALID),
        ({"id": "media_001", "category": [""]}, ZH.CATEGORY_ITEMS_INVALID),
        ({"id": "media_001", "category": [7]}, ZH.CATEGORY_ITEMS_INVALID),
        ({"id": "media_001", "aspectRatio": "16:9"}, ZH.ASPECT_FORMAT),
        ({"id": "media_001", "aspectRatio": "a/b"}, ZH.ASPECT_FORMAT),
        ({"id": "media_001", "aspectRatio": "16/9/1"}, ZH.ASPECT_FORMAT),
        ({"id": "media_001", "aspectRatio": "16/"}, ZH.ASPECT_FORMAT),
        ({"id": "media_001", "aspectRatio": "/9"}, ZH.ASPECT_FORMAT),
        ({"id": "media_001", "aspectRatio": " 16/9"}, ZH.ASPECT_FORMAT),
        ({"id": "media_001", "aspectRatio": "16 / 9"}, ZH.ASPECT_FORMAT),
        ({"id": "media_001", "aspectRatio": "1.5/1"}, ZH.ASPECT_FORMAT),
        ({"id": "media_001", "aspectRatio": ""}, ZH.ASPECT_FORMAT),
        ({"id": "media_001", "aspectRatio": 1.78}, ZH.ASPECT_FORMAT),
        ({"id": "media_001", "aspectRatio": [16, 9]}, ZH.ASPECT_FORMAT),
        # the spec's format is n/m: a minus sign is not one of its shapes
        ({"id": "media_001", "aspectRatio": "-1/2"}, ZH.ASPECT_FORMAT),
        ({"id": "media_001", "aspectRatio": "0/9"}, ZH.ASPECT_POSITIVE),
        ({"id": "media_001", "aspectRatio": "16/0"}, ZH.ASPECT_POSITIVE),
        ({"id": "media_001", "aspectRatio": "0/0"}, ZH.ASPECT_POSITIVE),
        ({"id": "media_001", "aspectRatio": "000/4"}, ZH.ASPECT_POSITIVE),
        ({"id": "media_001", "supabaseId": 123}, ZH.SUPABASE_ID_INVALID),
        ({"id": "media_001", "supabaseId": ["user_1"]}, ZH.SUPABASE_ID_INVALID),
        ({"id": "media_001", "supabaseId": False}, ZH.SUPABASE_ID_INVALID),
        ({"id": "media_001", "supabaseId": "x" * 513}, ZH.SUPABASE_ID_INVALID),
        ({"id": "media_002", "posterUrl": "poster.jpg"}, ZH.POSTER_URL_INVALID),
        ({"id": "media_002", "posterUrl": "ftp://example.com/p.jpg"}, ZH.POSTER_URL_INVALID),
        ({"id": "media_002", "posterUrl": "javascript:alert(1)"}, ZH.POSTER_URL_INVALID),
        ({"id": "media_002", "posterUrl": "https://"}, ZH.POSTER_URL_INVALID),
        ({"id": "media_002", "posterUrl": "https://example.com/a b.jpg"},
         ZH.POSTER_URL_INVALID),
        ({"id": "media_002", "posterUrl": 5}, ZH.POSTER_URL_INVALID),
        ({"id": "media_002", "posterUrl": ""}, ZH.POSTER_URL_INVALID),
        ({"id": "media_002", "posterUrl": "https://example.com/" + "p" * 2100},
         ZH.POSTER_URL_INVALID),
        ({"id": "media_001", "posterUrl": "https://example.com/poster.jpg"},
         ZH.POSTER_VIDEO_ONLY),
        # every field checked before anything is written
        ({"id": "media_002", "category": ["ok"], "aspectRatio": "16:9"}, ZH.ASPECT_FORMAT),
        ({"id": "media_002", "aspectRatio": "4/3", "supabaseId": 5}, ZH.SUPABASE_ID_INVALID),
        ({"id": "media_002", "category": ["ok"], "posterUrl": "nope"}, ZH.POSTER_URL_INVALID),
        ({"id": "media_001", "category": ["ok"], "aspectRatio": "4/3",
          "posterUrl": "https://example.com/poster.jpg"}, ZH.POSTER_VIDEO_ONLY),
    ]],
]


def _id(case: tuple[str, Any, str]) -> str:
    method, body, _ = case
    shown = bytes(body).decode(errors="replace") if isinstance(body, Raw) else orjson.dumps(
        body).decode()
    return f"{method} {shown[:60]}"


@pytest.mark.parametrize("case", BODIES_ZH, ids=[_id(c) for c in BODIES_ZH])
def test_bad_body_is_400_and_changes_nothing(staff: APIClient, rows: list[Media],
                                             case: tuple[str, Any, str]) -> None:
    method, body, message = case
    before = snapshot()
    if isinstance(body, Raw):
        response = send(staff, method, raw=bytes(body))
    else:
        response = send(staff, method, body)
    error(response, 400, message)
    assert snapshot() == before


@pytest.mark.parametrize("method, body, message", [
    ("PATCH", Raw(b"{oops"), EN.BODY_NOT_JSON),
    ("PATCH", {"mediaIds": []}, EN.MEDIA_IDS_INVALID),
    ("DELETE", {"mediaIds": "media_001"}, EN.MEDIA_IDS_INVALID),
    ("DELETE", {"mediaIds": HUNDRED_AND_ONE}, EN.TOO_MANY),
    ("PATCH", {"mediaIds": ["media_001"], "category": 5}, EN.CATEGORY_INVALID),
    ("PUT", {"id": 5, "category": ["a"]}, EN.ID_INVALID),
    ("PUT", {"id": "media_001"}, EN.NOTHING_TO_UPDATE),
    ("PUT", {"id": "media_001", "aspectRatio": "16:9"}, EN.ASPECT_FORMAT),
    ("PUT", {"id": "media_001", "aspectRatio": "16/0"}, EN.ASPECT_POSITIVE),
    ("PUT", {"id": "media_001", "posterUrl": "https://e.com/p.jpg"}, EN.POSTER_VIDEO_ONLY),
])
def test_bad_body_in_english(staff: APIClient, rows: list[Media], method: str, body: Any,
                             message: str) -> None:
    before = snapshot()
    raw = bytes(body) if isinstance(body, Raw) else None
    error(send(staff, method, body, raw=raw, lang="en"), 400, message)
    assert snapshot() == before


@pytest.mark.parametrize("ratio", ["１６/９", "٣/٤"])
def test_aspect_ratio_takes_ascii_digits_only(staff: APIClient, rows: list[Media],
                                              ratio: str) -> None:
    before = snapshot()
    error(send(staff, "PUT", {"id": "media_001", "aspectRatio": ratio}), 400, ZH.ASPECT_FORMAT)
    assert snapshot() == before
    error(get(staff, {"aspectRatio": ratio}), 400, ZH.ASPECT_FORMAT)  # the list's filter too


# -- the Content-Type does not matter ------------------------------------------------------


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          "application/octet-stream",
                                          "application/json; charset=utf-8"])
def test_writes_read_json_whatever_the_content_type(staff: APIClient, rows: list[Media],
                                                    content_type: str) -> None:
    patch = send(staff, "PATCH", {"mediaIds": ["media_001"], "category": ["typed"]},
                 content_type=content_type)
    assert ok(patch, ZH.updated(1))["updatedIds"] == ["media_001"]
    put = send(staff, "PUT", {"id": "media_002", "posterUrl": "https://example.com/p.jpg"},
               content_type=content_type)
    assert ok(put, ZH.UPDATED)["media"]["meta"]["posterUrl"] == "https://example.com/p.jpg"
    delete = send(staff, "DELETE", {"mediaIds": ["media_001"]}, content_type=content_type)
    assert ok(delete, ZH.deleted(1))["deletedIds"] == ["media_001"]
    assert Media.objects.get(pk="media_001").category == ["typed"]


def test_malformed_json_with_a_text_content_type(staff: APIClient, rows: list[Media]) -> None:
    before = snapshot()
    error(send(staff, "PATCH", raw=b"not json", content_type="text/plain"), 400,
          ZH.BODY_NOT_JSON)
    error(send(staff, "DELETE", raw=b"[]", content_type="text/plain"), 400, ZH.BODY_NOT_OBJECT)
    assert snapshot() == before


def test_a_json_body_with_a_utf8_payload(staff: APIClient, rows: list[Media]) -> None:
    raw = '{"mediaIds": ["media_001"], "category": ["人像"]}'.encode()
    assert ok(send(staff, "PATCH", raw=raw), ZH.updated(1))["category"] == ["人像"]


def test_query_string_is_not_a_body(staff: APIClient, rows: list[Media]) -> None:
    """The writes' arguments come from the body, never from the URL."""
    before = snapshot()
    response = send(staff, "DELETE", raw=b"", path=f"{BASE}?mediaIds=media_001")
    error(response, 400, ZH.BODY_NOT_OBJECT)
    assert snapshot() == before
