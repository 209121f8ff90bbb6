"""DELETE /api/admin/media: soft deletes (isDelete=true), at most 100 at once."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from rest_framework.test import APIClient

from admin_media.models import Media
from tests.admin_media.helpers import (
    EN,
    ZH,
    assert_derived_tables_exact,
    bulk_media,
    error,
    get,
    ids_of,
    listed,
    ok,
    send,
    snapshot,
)

pytestmark = pytest.mark.django_db
MakeMedia = Callable[..., Media]
URLS = {"media_123": "https://example.com/media/image1.jpg",
        "media_456": "https://example.com/media/image2.jpg",
        "media_789": "https://example.com/media/video1.mp4"}


@pytest.fixture
def spec_media(make_media: MakeMedia) -> list[Media]:
    return [make_media(id=i, url=url, **({"media_type": "video", "type": "video/mp4"}
                                         if url.endswith(".mp4") else {}))
            for i, url in URLS.items()]


def test_spec_example(staff: APIClient, spec_media: list[Media]) -> None:
    response = send(staff, "DELETE", {"mediaIds": ["media_123", "media_456", "media_789"]})
    assert response.status_code == 200
    assert response.json() == {
        "success": True, "message": "成功删除3个媒体文件",
        "data": {"deletedCount": 3, "deletedIds": ["media_123", "media_456", "media_789"],
                 "deletedUrls": ["https://example.com/media/image1.jpg",
                                 "https://example.com/media/image2.jpg",
                                 "https://example.com/media/video1.mp4"]}}
    # soft: the rows stay, marked, with a new updatedAt and nothing else changed
    for old in spec_media:
        row = Media.objects.get(pk=old.pk)
        assert row.is_delete is True and row.updated_at > old.updated_at
        assert (row.url, row.category, row.created_at, row.meta) == (
            old.url, old.category, old.created_at, old.meta)
    assert listed(get(staff), ZH.NONE_FOUND)["total"] == 0
    assert listed(get(staff, "category=portrait"), ZH.NONE_FOUND)["total"] == 0
    assert listed(get(staff, "mediaType=video"), ZH.NONE_FOUND)["total"] == 0
    assert_derived_tables_exact()


def test_spec_curl_and_typescript_examples(staff: APIClient, spec_media: list[Media]) -> None:
    data = ok(send(staff, "DELETE", {"mediaIds": ["media_123", "media_456"]}),
              "成功删除2个媒体文件")
    assert data == {"deletedCount": 2, "deletedIds": ["media_123", "media_456"],
                    "deletedUrls": [URLS["media_123"], URLS["media_456"]]}
    # batchDeleteMedias(mediaIds): JSON.stringify({ mediaIds })
    data = ok(send(staff, "DELETE", raw=b'{"mediaIds":["media_789"]}'), ZH.deleted(1))
    assert data == {"deletedCount": 1, "deletedIds": ["media_789"],
                    "deletedUrls": [URLS["media_789"]]}
    assert Media.objects.filter(is_delete=True).count() == 3


def test_english_messages(staff: APIClient, spec_media: list[Media]) -> None:
    assert ok(send(staff, "DELETE", {"mediaIds": ["media_123"]}, lang="en"),
              "Deleted 1 media file")["deletedCount"] == 1
    assert ok(send(staff, "DELETE", {"mediaIds": ["media_456", "media_789"]}, lang="en"),
              EN.deleted(2))["deletedCount"] == 2


def test_request_order_duplicates_unknown_and_deleted(staff: APIClient, make_media: MakeMedia,
                                                      spec_media: list[Media]) -> None:
    gone = make_media(id="gone", is_delete=True)
    data = ok(send(staff, "DELETE", {"mediaIds": ["media_789", "nope", "gone", "media_123",
                                                  "media_789"]}), ZH.deleted(2))
    assert data == {"deletedCount": 2, "deletedIds": ["media_789", "media_123"],
                    "deletedUrls": [URLS["media_789"], URLS["media_123"]]}
    assert Media.objects.get(pk="gone").updated_at == gone.updated_at
    assert ids_of(listed(get(staff))) == ["media_456"]


def test_deleting_again_counts_nothing(staff: APIClient, spec_media: list[Media]) -> None:
    ok(send(staff, "DELETE", {"mediaIds": ["media_123"]}), ZH.deleted(1))
    before = snapshot()
    data = ok(send(staff, "DELETE", {"mediaIds": ["media_123"]}), "成功删除0个媒体文件")
    assert data == {"deletedCount": 0, "deletedIds": [], "deletedUrls": []}
    assert snapshot() == before


def test_deleted_media_cannot_be_edited(staff: APIClient, spec_media: list[Media]) -> None:
    ok(send(staff, "DELETE", {"mediaIds": ["media_123"]}), ZH.deleted(1))
    before = snapshot()
    assert ok(send(staff, "PATCH", {"mediaIds": ["media_123"], "category": ["x"]}),
              ZH.updated(0))["updatedIds"] == []
    error(send(staff, "PUT", {"id": "media_123", "category": ["x"]}), 404, ZH.NOT_FOUND)
    assert snapshot() == before


def test_a_batch_of_100_and_101(staff: APIClient) -> None:
    ids = bulk_media(102)
    before = snapshot()
    error(send(staff, "DELETE", {"mediaIds": ids[:101]}), 400, "批量操作数量不能超过100个")
    assert snapshot() == before
    data = ok(send(staff, "DELETE", {"mediaIds": ids[:100]}), ZH.deleted(100))
    assert data["deletedIds"] == ids[:100] and len(data["deletedUrls"]) == 100
    assert ids_of(listed(get(staff, "pageSize=100"))) == ids[100:]
    assert listed(get(staff, "category=portrait"))["total"] == 2
    assert_derived_tables_exact()


def test_totals_after_deletes_on_every_path(staff: APIClient, make_media: MakeMedia) -> None:
    made = [make_media(category=["a", "b"] if i % 2 else ["a"], supabase_id=f"u{i % 3}",
                       aspect_ratio="4/3" if i % 4 == 0 else "16/9") for i in range(12)]
    ok(send(staff, "DELETE", {"mediaIds": [m.pk for m in made[:5]]}), ZH.deleted(5))
    live = made[5:]
    for query, expected in [
        ("", live), ("category=a", live), ("category=b", [m for m in live if "b" in m.category]),
        ("category=b&mediaType=image", [m for m in live if "b" in m.category]),
        ("supabaseId=u1", [m for m in live if m.supabase_id == "u1"]),
        ("aspectRatio=4/3", [m for m in live if m.aspect_ratio == "4/3"]),
        ("supabaseId=u0&category=a", [m for m in live if m.supabase_id == "u0"]),
    ]:
        data = listed(get(staff, f"{query}&pageSize=100"))
        assert ids_of(data) == [m.pk for m in reversed(expected)], query
        assert data["total"] == len(expected), query
