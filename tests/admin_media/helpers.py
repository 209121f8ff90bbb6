"""Helpers of the admin_media contract tests.

Requests with a raw JSON body (the writes read their body whatever the Content-Type
says), the envelope checks, a snapshot of everything a write could change, and the
category entries and tallies computed straight from the ``admin_media`` table.

The Chinese texts are copied from the spec (docs: /work/shared/specs/admin_media.md),
not imported from the app: the tests check the contract, not the catalogue against
itself.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from rest_framework.test import APIClient

from admin_media.models import Media, MediaCategoryEntry, MediaTally
from apps.accounts.models import User

BASE = "/api/admin/media"
T0 = datetime(2024, 1, 15, 10, 30, tzinfo=UTC)

# the spec's media keys, in its order
MEDIA_KEYS = ["id", "supabaseId", "recordId", "taskId", "url", "type", "mediaType",
              "aspectRatio", "uploadSource", "category", "meta", "isDelete", "createdAt",
              "updatedAt"]
LIST_KEYS = {"medias", "total", "page", "pageSize", "totalPages"}
ISO_MS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


class ZH:
    """The spec's messages (and the app's, in the spec's style, where it has none)."""

    FOUND = "查询媒体文件成功"
    NONE_FOUND = "未找到媒体文件"
    QUERY_FAILED = "查询媒体文件失败"
    PAGE_INVALID = "page参数无效，必须是正整数"
    PAGE_SIZE_INVALID = "pageSize参数无效，必须是1到100之间的整数"
    MEDIA_TYPE_INVALID = "mediaType参数无效，必须是image或video"
    CREATED_FROM_INVALID = "createdFrom参数无效，必须是ISO 8601格式的日期时间"
    CREATED_TO_INVALID = "createdTo参数无效，必须是ISO 8601格式的日期时间"
    FILTER_TOO_LONG = "查询参数的值必须是不超过512个字符的文本"
    MEDIA_IDS_INVALID = "mediaIds参数无效，必须是非空数组"
    MEDIA_IDS_ITEMS_INVALID = "mediaIds中的每一项都必须是非空字符串"
    TOO_MANY = "批量操作数量不能超过100个"
    CATEGORY_INVALID = "category参数无效，必须是数组"
    CATEGORY_ITEMS_INVALID = "category中的每一项都必须是不超过64个字符的非空字符串"
    CATEGORY_TOO_MANY = "category最多包含100个标签"
    SET_CATEGORY_FAILED = "批量设置标签失败"
    DELETE_FAILED = "批量删除媒体文件失败"
    ID_INVALID = "id参数无效，必须是非空字符串"
    NOTHING_TO_UPDATE = "至少需要提供一个要更新的字段（category、aspectRatio、supabaseId或posterUrl）"
    ASPECT_FORMAT = "aspectRatio格式无效，必须是 n/m 格式（如：16/9、4/3）"
    ASPECT_POSITIVE = "aspectRatio的分子和分母都必须大于0"
    SUPABASE_ID_INVALID = "supabaseId参数无效，必须是字符串"
    POSTER_URL_INVALID = "posterUrl参数无效，必须是http(s) URL"
    POSTER_VIDEO_ONLY = "posterUrl参数仅适用于视频类型的媒体文件"
    NOT_FOUND = "媒体文件不存在或已被删除"
    UPDATED = "媒体文件信息更新成功"
    EDIT_FAILED = "编辑媒体文件失败"
    BODY_NOT_JSON = "请求体不是有效的JSON"
    BODY_NOT_OBJECT = "请求体必须是JSON对象"
    STAFF_ONLY = "仅限管理员访问"
    UNAUTHORIZED = "未登录或登录已失效"
    ROUTE_NOT_FOUND = "接口不存在"
    INTERNAL = "服务器内部错误"

    @staticmethod
    def updated(count: int) -> str:
        return f"成功更新{count}个媒体文件的标签"

    @staticmethod
    def deleted(count: int) -> str:
        return f"成功删除{count}个媒体文件"


class EN:
    FOUND = "Media files found"
    NONE_FOUND = "No media files found"
    QUERY_FAILED = "Failed to query media files"
    PAGE_INVALID = "page is invalid: it must be a positive integer"
    PAGE_SIZE_INVALID = "pageSize is invalid: it must be an integer from 1 to 100"
    MEDIA_IDS_INVALID = "mediaIds is invalid: it must be a non-empty array"
    TOO_MANY = "A batch may hold at most 100 media files"
    CATEGORY_INVALID = "category is invalid: it must be an array"
    SET_CATEGORY_FAILED = "Failed to set the categories"
    DELETE_FAILED = "Failed to delete the media files"
    ID_INVALID = "id is invalid: it must be a non-empty string"
    NOTHING_TO_UPDATE = ("Give at least one field to update (category, aspectRatio, "
                         "supabaseId or posterUrl)")
    ASPECT_FORMAT = "aspectRatio must have the form n/m (such as 16/9 or 4/3)"
    ASPECT_POSITIVE = "Both terms of aspectRatio must be greater than 0"
    POSTER_VIDEO_ONLY = "posterUrl applies to video media only"
    NOT_FOUND = "The media file does not exist or has been deleted"
    UPDATED = "Media file updated"
    EDIT_FAILED = "Failed to edit the media file"
    BODY_NOT_JSON = "The request body is not valid JSON"
    STAFF_ONLY = "Staff only."
    UNAUTHORIZED = "Unauthorized"
    ROUTE_NOT_FOUND = "Not found"

    @staticmethod
    def updated(count: int) -> str:
        noun = "file" if count == 1 else "files"
        return f"Updated the categories of {count} media {noun}"

    @staticmethod
    def deleted(count: int) -> str:
        return f"Deleted {count} media {'file' if count == 1 else 'files'}"


# -- requests ----------------------------------------------------------------------------


def send(client: APIClient, method: str, body: Any = None, *, raw: bytes | None = None,
         content_type: str = "application/json", lang: str | None = None,
         path: str = BASE, **headers: str) -> Any:
    """``method`` on the console with ``body`` as JSON (or ``raw`` bytes as they are)."""
    data = raw if raw is not None else orjson.dumps(body)
    if lang is not None:
        headers["HTTP_ACCEPT_LANGUAGE"] = lang
    api: Any = client  # the stubs want a str body: bytes are what is sent
    return api.generic(method.upper(), path, data, content_type=content_type, **headers)


def get(client: APIClient, query: str | dict[str, Any] = "", *, lang: str | None = None
        ) -> Any:
    """GET with a query string as written (``"page=1&pageSize=10"``) or a dict."""
    extra = {"HTTP_ACCEPT_LANGUAGE": lang} if lang is not None else {}
    api: Any = client
    if isinstance(query, dict):
        return api.get(BASE, query, **extra)
    return api.get(f"{BASE}?{query}" if query else BASE, **extra)


def staff_client(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


# -- answers -----------------------------------------------------------------------------


def ok(response: Any, message: str) -> Any:
    """The data of a 200 envelope with ``message``."""
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert list(body) == ["success", "message", "data"], body
    assert body["success"] is True and body["message"] == message, body
    return body["data"]


def error(response: Any, status: int, message: str) -> None:
    """An error in the console's envelope: exactly ``{success: false, message, data: null}``."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body == {"success": False, "message": message, "data": None}, body


def listed(response: Any, message: str | None = None) -> Any:
    """The data of a list answer, its shape checked."""
    data = ok(response, message or (ZH.FOUND if response.json()["data"]["medias"]
                                    else ZH.NONE_FOUND))
    assert set(data) == LIST_KEYS
    for media in data["medias"]:
        assert list(media) == MEDIA_KEYS
        assert ISO_MS.fullmatch(media["createdAt"]) and ISO_MS.fullmatch(media["updatedAt"])
        assert media["isDelete"] is False
    return data


def ids_of(data: Any) -> list[str]:
    return [media["id"] for media in data["medias"]]


def iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# -- the database ------------------------------------------------------------------------


def media_row(n: int, **fields: Any) -> Media:
    """An unsaved media (for bulk_create), like conftest's make_media would make it."""
    defaults: dict[str, Any] = {
        "id": f"bulk_{n:04d}", "supabase_id": "user_456", "record_id": f"record_b{n}",
        "task_id": f"task_b{n}", "url": f"https://example.com/media/b{n}.jpg",
        "type": "image/jpeg", "media_type": "image", "aspect_ratio": "16/9",
        "upload_source": "user_upload", "category": ["portrait"],
        "meta": {"width": 1920, "height": 1080, "size": 245760},
        "created_at": T0 - timedelta(days=1, seconds=n),
        "updated_at": T0 - timedelta(days=1, seconds=n)}
    return Media(**{**defaults, **fields})


def bulk_media(count: int, **fields: Any) -> list[str]:
    """``count`` media in one INSERT; their ids."""
    rows = Media.objects.bulk_create([media_row(n, **fields) for n in range(1, count + 1)])
    return [row.pk for row in rows]


def snapshot() -> tuple[Any, ...]:
    """Everything a console write could change: the rows, the entries, the tallies."""
    return (list(Media.objects.order_by("id").values()), actual_entries(), actual_tallies())


TallyKey = tuple[str, str, str, str]
EntryKey = tuple[str, datetime, str, str, str, str | None]


def expected_tallies(rows: Iterable[dict[str, Any]] | None = None) -> dict[TallyKey, int]:
    """Live media per (category, media type, MIME type, aspect ratio), category '' for all
    of them, computed from the rows of ``admin_media``."""
    counts: Counter[TallyKey] = Counter()
    for row in rows if rows is not None else Media.objects.values():
        if row["is_delete"]:
            continue
        for category in {"", *row["category"]}:
            counts[(category, row["media_type"], row["type"], row["aspect_ratio"] or "")] += 1
    return dict(counts)


def actual_tallies() -> dict[TallyKey, int]:
    return {(t.category, t.media_type, t.mime_type, t.aspect_ratio): t.count
            for t in MediaTally.objects.all() if t.count}


def expected_entries() -> set[EntryKey]:
    return {(category, row["created_at"], row["id"], row["media_type"], row["type"],
             row["supabase_id"])
            for row in Media.objects.values() if not row["is_delete"]
            for category in row["category"]}


def actual_entries() -> set[EntryKey]:
    return set(MediaCategoryEntry.objects.values_list("category", "created_at", "media_id",
                                                      "media_type", "mime_type",
                                                      "supabase_id"))


def assert_derived_tables_exact() -> None:
    assert actual_entries() == expected_entries()
    assert actual_tallies() == expected_tallies()
    assert not MediaTally.objects.filter(count__lt=0).exists()
