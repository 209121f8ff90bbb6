"""The request checkers: query parameters of the list, JSON bodies of the writes.

Each raises InvalidRequest with the spec's message for the first problem found, before
anything is read or written. Decisions where the spec is silent (docs/api/admin_media.md):
``pageSize`` over 100 is a 400, not clamped; ``category`` given as one string (as the
spec's own cURL example sends it) is taken as a one-element list; a ``null`` optional
field of PUT counts as not given; category values are trimmed, de-duplicated (first
occurrence kept), at most 100 of at most 64 characters each.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from django.http import QueryDict

from admin_media import messages
from admin_media.errors import InvalidRequest
from admin_media.models import MediaType
from apps.core.dates import parse_utc_datetime

MAX_PAGE_SIZE = 100
MAX_BATCH = 100
MAX_CATEGORIES = 100
MAX_CATEGORY_LENGTH = 64
MAX_FILTER_LENGTH = 512
MAX_PAGE = 10_000_000  # beyond any table: keeps OFFSET a sane integer
ASPECT_RATIO = re.compile(r"([0-9]{1,6})/([0-9]{1,6})")  # ASCII digits only
HTTP_URL = re.compile(r"https?://[^\s/?#]+[^\s]*", re.IGNORECASE)
MAX_URL_LENGTH = 2048


@dataclass(frozen=True)
class ListQuery:
    page: int = 1
    page_size: int = 10
    mime_type: str | None = None
    media_type: str | None = None
    category: str | None = None
    supabase_id: str | None = None
    record_id: str | None = None
    aspect_ratio: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


def list_query(params: QueryDict) -> ListQuery:
    page = _positive_int(params.get("page"), 1, MAX_PAGE, messages.PAGE_INVALID)
    page_size = _positive_int(params.get("pageSize"), 10, MAX_PAGE_SIZE,
                              messages.PAGE_SIZE_INVALID)
    text = {name: _filter(params.get(name)) for name in (
        "type", "mediaType", "category", "supabaseId", "recordId", "aspectRatio")}
    if text["mediaType"] is not None and text["mediaType"] not in MediaType.values:
        raise InvalidRequest(messages.MEDIA_TYPE_INVALID)
    if text["aspectRatio"] is not None:
        text["aspectRatio"] = aspect_ratio(text["aspectRatio"])
    return ListQuery(
        page=page, page_size=page_size, mime_type=text["type"],
        media_type=text["mediaType"], category=text["category"],
        supabase_id=text["supabaseId"], record_id=text["recordId"],
        aspect_ratio=text["aspectRatio"],
        created_from=datetime_value(params.get("createdFrom"), messages.CREATED_FROM_INVALID),
        created_to=datetime_value(params.get("createdTo"), messages.CREATED_TO_INVALID))


def _positive_int(raw: str | None, default: int, maximum: int, message: str) -> int:
    if raw is None or raw == "":
        return default
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= maximum:
        raise InvalidRequest(message)
    return int(raw)


def _filter(raw: str | None) -> str | None:
    """An empty parameter is no filter (the spec's TypeScript client sends none)."""
    if raw is None or raw == "":
        return None
    if len(raw) > MAX_FILTER_LENGTH or "\x00" in raw:
        raise InvalidRequest(messages.FILTER_INVALID)
    return raw


def datetime_value(raw: Any, message: str) -> datetime | None:
    """An ISO 8601 date-time (UTC when it names no zone); InvalidRequest(message)."""
    if raw is None or raw == "":
        return None
    parsed = parse_utc_datetime(raw)
    if parsed is None:
        raise InvalidRequest(message)
    return parsed


def json_body(raw: bytes) -> dict[str, Any]:
    """The body as a JSON object, whatever Content-Type claims (the writes take JSON)."""
    try:
        body = orjson.loads(raw or b"null")
    except orjson.JSONDecodeError:
        raise InvalidRequest(messages.BODY_NOT_JSON) from None
    if not isinstance(body, dict):
        raise InvalidRequest(messages.BODY_NOT_OBJECT)
    return body


def media_ids(body: dict[str, Any]) -> list[str]:
    """``mediaIds``: 1-100 non-empty strings; repeats collapse (first kept)."""
    value = body.get("mediaIds")
    if not isinstance(value, list) or not value:
        raise InvalidRequest(messages.MEDIA_IDS_INVALID)
    if len(value) > MAX_BATCH:
        raise InvalidRequest(messages.TOO_MANY)
    if not all(isinstance(v, str) and v.strip() and len(v) <= MAX_FILTER_LENGTH
               and "\x00" not in v for v in value):
        raise InvalidRequest(messages.MEDIA_IDS_ITEMS_INVALID)
    return list(dict.fromkeys(value))


def categories(value: Any) -> list[str]:
    """``category``: an array of non-empty strings (one string is a one-element array)."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise InvalidRequest(messages.CATEGORY_INVALID)
    cleaned = []
    for item in value:
        if not isinstance(item, str) or not item.strip() or "\x00" in item:
            raise InvalidRequest(messages.CATEGORY_ITEMS_INVALID)
        item = item.strip()
        if len(item) > MAX_CATEGORY_LENGTH:
            raise InvalidRequest(messages.CATEGORY_ITEMS_INVALID)
        cleaned.append(item)
    unique = list(dict.fromkeys(cleaned))
    if len(unique) > MAX_CATEGORIES:
        raise InvalidRequest(messages.CATEGORY_TOO_MANY)
    return unique


def aspect_ratio(value: Any) -> str:
    """``n/m`` with both terms positive integers, kept as written (``16/9``)."""
    match = ASPECT_RATIO.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise InvalidRequest(messages.ASPECT_FORMAT)
    if int(match.group(1)) == 0 or int(match.group(2)) == 0:
        raise InvalidRequest(messages.ASPECT_POSITIVE)
    return value


def http_url(value: Any, message: str) -> str:
    if (not isinstance(value, str) or len(value) > MAX_URL_LENGTH
            or not HTTP_URL.fullmatch(value)):
        raise InvalidRequest(message)
    return value


@dataclass(frozen=True)
class MediaEdit:
    id: str
    fields: dict[str, Any]  # the spec's names of the fields given, checked


def media_edit(body: dict[str, Any]) -> MediaEdit:
    """PUT's body: ``id`` and at least one of the four fields, each checked."""
    media_id = body.get("id")
    if not isinstance(media_id, str) or not media_id.strip() or "\x00" in media_id:
        raise InvalidRequest(messages.ID_INVALID)
    given = {name: body[name] for name in ("category", "aspectRatio", "supabaseId",
                                           "posterUrl") if body.get(name) is not None}
    if not given:
        raise InvalidRequest(messages.NOTHING_TO_UPDATE)
    if "category" in given:
        given["category"] = categories(given["category"])
    if "aspectRatio" in given:
        given["aspectRatio"] = aspect_ratio(given["aspectRatio"])
    if "supabaseId" in given:
        value = given["supabaseId"]
        if not isinstance(value, str) or len(value) > MAX_FILTER_LENGTH or "\x00" in value:
            raise InvalidRequest(messages.SUPABASE_ID_INVALID)
    if "posterUrl" in given:
        given["posterUrl"] = http_url(given["posterUrl"], messages.POSTER_URL_INVALID)
    return MediaEdit(media_id, given)
