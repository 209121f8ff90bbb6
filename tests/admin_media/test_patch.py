"""PATCH /api/admin/media: categories for many media at once."""

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


@pytest.fixture
def spec_ids(make_media: MakeMedia) -> list[str]:
    return [make_media(id=i, category=["old"]).pk for i in ("media_123", "media_456",
                                                              "media_789")]


def test_spec_example(staff: APIClient, spec_ids: list[str]) -> None:
    before = {m.pk: m for m in Media.objects.all()}
    response = send(staff, "PATCH", {
        "mediaIds": ["media_123", "media_456", "media_789"],
        "category": ["portrait", "professional", "high-quality"]})
    assert response.status_code == 200
    assert response.json() == {
        "success": True, "message": "成功更新3个媒体文件的标签",
        "data": {"updatedCount": 3, "updatedIds": ["media_123", "media_456", "media_789"],
                 "category": ["portrait", "professional", "high-quality"]}}
    for media in Media.objects.all():
        assert media.category == ["portrait", "professional", "high-quality"]
        old = before[media.pk]
        assert media.updated_at > old.updated_at
        assert (media.created_at, media.url, media.aspect_ratio, media.meta,
                media.supabase_id, media.is_delete) == (
            old.created_at, old.url, old.aspect_ratio, old.meta, old.supabase_id, False)
    assert_derived_tables_exact()
    listed_now = listed(get(staff, "category=high-quality"))
    assert listed_now["total"] == 3
    assert listed(get(staff, "category=old"), ZH.NONE_FOUND)["total"] == 0


def test_spec_curl_and_typescript_examples(staff: APIClient, spec_ids: list[str]) -> None:
    # curl -X PATCH … -d '{"mediaIds": ["media_123", "media_456"], "category": [...]}'
    data = ok(send(staff, "PATCH", {"mediaIds": ["media_123", "media_456"],
                                    "category": ["portrait", "professional"]}),
              "成功更新2个媒体文件的标签")
    assert data == {"updatedCount": 2, "updatedIds": ["media_123", "media_456"],
                    "category": ["portrait", "professional"]}
    # batchSetCategory(mediaIds, category): JSON.stringify({ mediaIds, category })
    raw = b'{"mediaIds":["media_789"],"category":["landscape"]}'
    data = ok(send(staff, "PATCH", raw=raw), ZH.updated(1))
    assert data == {"updatedCount": 1, "updatedIds": ["media_789"], "category": ["landscape"]}
    assert dict(Media.objects.values_list("id", "category")) == {
        "media_123": ["portrait", "professional"], "media_456": ["portrait", "professional"],
        "media_789": ["landscape"]}


def test_english_messages_count(staff: APIClient, spec_ids: list[str]) -> None:
    three = send(staff, "PATCH", {"mediaIds": spec_ids, "category": ["a"]}, lang="en")
    assert ok(three, "Updated the categories of 3 media files")["updatedCount"] == 3
    one = send(staff, "PATCH", {"mediaIds": spec_ids[:1], "category": ["a"]}, lang="en")
    assert ok(one, EN.updated(1))["updatedCount"] == 1
    none = send(staff, "PATCH", {"mediaIds": ["nope"], "category": ["a"]}, lang="en")
    assert ok(none, EN.updated(0))["updatedCount"] == 0


def test_ids_in_request_order_duplicates_once(staff: APIClient, spec_ids: list[str]) -> None:
    data = ok(send(staff, "PATCH", {
        "mediaIds": ["media_789", "media_123", "media_789", "media_123"],
        "category": ["x"]}), ZH.updated(2))
    assert data == {"updatedCount": 2, "updatedIds": ["media_789", "media_123"],
                    "category": ["x"]}
    assert Media.objects.get(pk="media_456").category == ["old"]


def test_unknown_and_deleted_ids_are_not_counted(staff: APIClient, make_media: MakeMedia,
                                                 spec_ids: list[str]) -> None:
    gone = make_media(id="gone", category=["old"], is_delete=True)
    data = ok(send(staff, "PATCH", {"mediaIds": ["nope", "gone", "media_456", "MEDIA_123"],
                                    "category": ["x"]}), ZH.updated(1))
    assert data == {"updatedCount": 1, "updatedIds": ["media_456"], "category": ["x"]}
    gone_now = Media.objects.get(pk="gone")
    assert (gone_now.category, gone_now.updated_at, gone_now.is_delete) == (
        ["old"], gone.updated_at, True)
    assert Media.objects.get(pk="media_123").category == ["old"]
    assert_derived_tables_exact()


def test_only_unknown_ids_is_a_200_with_zero(staff: APIClient, spec_ids: list[str]) -> None:
    before = snapshot()
    data = ok(send(staff, "PATCH", {"mediaIds": ["a", "b"], "category": ["x"]}),
              "成功更新0个媒体文件的标签")
    assert data == {"updatedCount": 0, "updatedIds": [], "category": ["x"]}
    assert snapshot() == before


def test_a_batch_of_100_and_101(staff: APIClient) -> None:
    ids = bulk_media(101)
    data = ok(send(staff, "PATCH", {"mediaIds": ids[:100], "category": ["batch"]}),
              ZH.updated(100))
    assert data["updatedCount"] == 100 and data["updatedIds"] == ids[:100]
    assert Media.objects.filter(category=["batch"]).count() == 100
    before = snapshot()
    error(send(staff, "PATCH", {"mediaIds": ids, "category": ["other"]}), 400,
          "批量操作数量不能超过100个")
    assert snapshot() == before
    error(send(staff, "PATCH", {"mediaIds": ids, "category": ["other"]}, lang="en"), 400,
          EN.TOO_MANY)
    assert listed(get(staff, "category=batch"))["total"] == 100


def test_category_as_one_string_is_one_element(staff: APIClient, spec_ids: list[str]) -> None:
    data = ok(send(staff, "PATCH", {"mediaIds": ["media_123"], "category": "portrait"}),
              ZH.updated(1))
    assert data["category"] == ["portrait"]
    assert Media.objects.get(pk="media_123").category == ["portrait"]


def test_empty_category_clears(staff: APIClient, spec_ids: list[str]) -> None:
    data = ok(send(staff, "PATCH", {"mediaIds": spec_ids[:2], "category": []}), ZH.updated(2))
    assert data == {"updatedCount": 2, "updatedIds": spec_ids[:2], "category": []}
    assert Media.objects.get(pk=spec_ids[0]).category == []
    assert ids_of(listed(get(staff, "category=old"))) == [spec_ids[2]]
    assert_derived_tables_exact()


def test_category_values_trimmed_and_deduplicated(staff: APIClient,
                                                  spec_ids: list[str]) -> None:
    data = ok(send(staff, "PATCH", {"mediaIds": spec_ids[:1],
                                    "category": [" b ", "a", "b", "a ", "c"]}), ZH.updated(1))
    assert data["category"] == ["b", "a", "c"]
    assert Media.objects.get(pk=spec_ids[0]).category == ["b", "a", "c"]


def test_category_limits_are_inclusive(staff: APIClient, spec_ids: list[str]) -> None:
    hundred = [f"c{i:03d}" for i in range(100)]
    assert ok(send(staff, "PATCH", {"mediaIds": spec_ids[:1], "category": hundred}),
              ZH.updated(1))["category"] == hundred
    long = "长" * 64
    assert ok(send(staff, "PATCH", {"mediaIds": spec_ids[:1], "category": [long]}),
              ZH.updated(1))["category"] == [long]
    assert ids_of(listed(get(staff, {"category": long}))) == [spec_ids[0]]


def test_unicode_categories_round_trip(staff: APIClient, spec_ids: list[str]) -> None:
    ok(send(staff, "PATCH", {"mediaIds": spec_ids, "category": ["人像", "风景 ☀"]}),
       ZH.updated(3))
    data = listed(get(staff, {"category": "风景 ☀", "pageSize": 2}))
    assert data["total"] == 3 and data["totalPages"] == 2
    assert data["medias"][0]["category"] == ["人像", "风景 ☀"]


def test_totals_follow_the_new_categories(staff: APIClient, make_media: MakeMedia) -> None:
    images = [make_media(category=["a"]) for _ in range(4)]
    videos = [make_media(category=["a"], media_type="video", type="video/mp4")
              for _ in range(2)]
    ok(send(staff, "PATCH", {"mediaIds": [images[0].pk, videos[0].pk], "category": ["b", "a"]}),
       ZH.updated(2))
    ok(send(staff, "PATCH", {"mediaIds": [images[1].pk], "category": ["b"]}), ZH.updated(1))
    assert listed(get(staff, "category=a"))["total"] == 5
    assert listed(get(staff, "category=b"))["total"] == 3
    assert listed(get(staff, "category=b&mediaType=image"))["total"] == 2
    assert ids_of(listed(get(staff, "category=b&mediaType=video"))) == [videos[0].pk]
    assert listed(get(staff, "category=a&type=image/jpeg"))["total"] == 3
    assert_derived_tables_exact()


def test_patch_keeps_the_list_order(staff: APIClient, make_media: MakeMedia) -> None:
    made = [make_media() for _ in range(3)]
    ok(send(staff, "PATCH", {"mediaIds": [made[0].pk], "category": ["z"]}), ZH.updated(1))
    assert ids_of(listed(get(staff))) == [m.pk for m in reversed(made)]
