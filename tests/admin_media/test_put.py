"""PUT /api/admin/media: one media's category, aspect ratio, user or video poster."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from admin_media.models import Media
from tests.admin_media.helpers import (
    EN,
    MEDIA_KEYS,
    T0,
    ZH,
    assert_derived_tables_exact,
    error,
    get,
    ids_of,
    iso,
    listed,
    ok,
    send,
    snapshot,
)

pytestmark = pytest.mark.django_db
MakeMedia = Callable[..., Media]
META = {"width": 1920, "height": 1080, "size": 245760}


@pytest.fixture
def image(make_media: MakeMedia) -> Media:
    """The spec's PUT response before the edit."""
    return make_media(id="media_123", supabase_id="user_456", record_id="record_456",
                      task_id="task_101", url="https://example.com/media/image.jpg",
                      type="image/jpeg", media_type="image", aspect_ratio="16/9",
                      upload_source="user_upload", category=["portrait"], meta=META,
                      created_at=T0, updated_at=T0)


@pytest.fixture
def video(make_media: MakeMedia) -> Media:
    return make_media(id="video_456", url="https://example.com/media/video1.mp4",
                      type="video/mp4", media_type="video", aspect_ratio="9/16",
                      category=["clip"], meta=dict(META, duration=12.5))


def put(client: APIClient, body: dict[str, Any], **kwargs: Any) -> Any:
    return send(client, "PUT", body, **kwargs)


def test_spec_update_several_fields_response(staff: APIClient, image: Media) -> None:
    response = put(staff, {"id": "media_123", "category": ["landscape", "nature"],
                           "aspectRatio": "4/3", "supabaseId": "user_789"})
    assert response.status_code == 200
    body = response.json()
    assert list(body["data"]["media"]) == MEDIA_KEYS
    updated_at = body["data"]["media"].pop("updatedAt")
    assert body == {
        "success": True, "message": "媒体文件信息更新成功",
        "data": {
            "media": {
                "id": "media_123", "supabaseId": "user_789", "recordId": "record_456",
                "taskId": "task_101", "url": "https://example.com/media/image.jpg",
                "type": "image/jpeg", "mediaType": "image", "aspectRatio": "4/3",
                "uploadSource": "user_upload", "category": ["landscape", "nature"],
                "meta": META, "isDelete": False, "createdAt": "2024-01-15T10:30:00.000Z"},
            "updatedFields": {"category": ["landscape", "nature"], "aspectRatio": "4/3",
                              "supabaseId": "user_789"}}}
    stored = Media.objects.get(pk="media_123")
    assert updated_at == iso(stored.updated_at) and stored.updated_at > T0
    assert (stored.category, stored.aspect_ratio, stored.supabase_id) == (
        ["landscape", "nature"], "4/3", "user_789")
    assert_derived_tables_exact()


@pytest.mark.parametrize("body, fields", [
    ({"id": "media_123", "category": ["portrait", "professional", "high-quality"]},
     {"category": ["portrait", "professional", "high-quality"]}),
    ({"id": "media_123", "aspectRatio": "16/9"}, {"aspect_ratio": "16/9"}),
    ({"id": "media_123", "supabaseId": "new_user_456"}, {"supabase_id": "new_user_456"}),
], ids=["category", "aspectRatio", "supabaseId"])
def test_spec_single_field_examples(staff: APIClient, image: Media, body: dict[str, Any],
                                    fields: dict[str, Any]) -> None:
    data = ok(put(staff, body), ZH.UPDATED)
    given = {k: v for k, v in body.items() if k != "id"}
    assert data["updatedFields"] == given
    assert {k: data["media"][k] for k in given} == given
    stored = Media.objects.get(pk="media_123")
    for field, value in fields.items():
        assert getattr(stored, field) == value
    untouched = {"category", "aspect_ratio", "supabase_id"} - set(fields)
    for field in untouched:
        assert getattr(stored, field) == getattr(image, field)
    assert stored.meta == META and stored.updated_at > image.updated_at


def test_spec_video_poster_example(staff: APIClient, make_media: MakeMedia) -> None:
    """{"id": "media_123", "posterUrl": "https://example.com/poster.jpg"} on a video."""
    make_media(id="media_123", media_type="video", type="video/mp4", meta=META)
    data = ok(put(staff, {"id": "media_123", "posterUrl": "https://example.com/poster.jpg"}),
              ZH.UPDATED)
    assert data["updatedFields"] == {"posterUrl": "https://example.com/poster.jpg"}
    assert data["media"]["meta"] == {**META, "posterUrl": "https://example.com/poster.jpg"}
    assert "posterUrl" not in data["media"]
    assert Media.objects.get(pk="media_123").meta == {
        **META, "posterUrl": "https://example.com/poster.jpg"}


def test_spec_curl_edit_on_an_image_is_refused(staff: APIClient, image: Media) -> None:
    """The spec's cURL PUT sends a posterUrl (and category as one string) for media_123."""
    before = snapshot()
    response = put(staff, {"id": "media_123", "category": "portrait", "aspectRatio": "9/16",
                           "supabaseId": "user_789",
                           "posterUrl": "https://example.com/poster.jpg"})
    error(response, 400, "posterUrl参数仅适用于视频类型的媒体文件")
    assert snapshot() == before
    error(put(staff, {"id": "media_123", "posterUrl": "https://example.com/poster.jpg"},
              lang="en"), 400, EN.POSTER_VIDEO_ONLY)
    assert snapshot() == before


def test_spec_curl_edit_on_a_video(staff: APIClient, video: Media) -> None:
    data = ok(put(staff, {"id": "video_456", "category": "portrait", "aspectRatio": "9/16",
                          "supabaseId": "user_789",
                          "posterUrl": "https://example.com/poster.jpg"}), ZH.UPDATED)
    assert data["updatedFields"] == {"category": ["portrait"], "aspectRatio": "9/16",
                                     "supabaseId": "user_789",
                                     "posterUrl": "https://example.com/poster.jpg"}
    stored = Media.objects.get(pk="video_456")
    assert (stored.category, stored.aspect_ratio, stored.supabase_id) == (
        ["portrait"], "9/16", "user_789")
    assert stored.meta == {**META, "duration": 12.5,
                           "posterUrl": "https://example.com/poster.jpg"}


def test_spec_curl_video_poster(staff: APIClient, video: Media) -> None:
    data = ok(put(staff, {"id": "video_456",
                          "posterUrl": "https://example.com/video-poster.jpg"}), ZH.UPDATED)
    assert data["updatedFields"] == {"posterUrl": "https://example.com/video-poster.jpg"}
    assert data["media"]["meta"] == {**META, "duration": 12.5,
                                     "posterUrl": "https://example.com/video-poster.jpg"}
    assert data["media"]["category"] == ["clip"] and data["media"]["aspectRatio"] == "9/16"
    assert data["media"]["updatedAt"] > iso(video.updated_at)
    # a second poster replaces the first, the rest of meta stays
    again = ok(put(staff, {"id": "video_456", "posterUrl": "http://cdn.example.com/p2.png"}),
               ZH.UPDATED)
    assert again["media"]["meta"] == {**META, "duration": 12.5,
                                      "posterUrl": "http://cdn.example.com/p2.png"}


def test_spec_typescript_edit_media(staff: APIClient, image: Media) -> None:
    """editMedia({id, category, aspectRatio}): JSON.stringify(params)."""
    raw = b'{"id":"media_123","category":["a","b"],"aspectRatio":"3/2"}'
    data = ok(send(staff, "PUT", raw=raw), ZH.UPDATED)
    assert data["updatedFields"] == {"category": ["a", "b"], "aspectRatio": "3/2"}
    assert data["media"]["supabaseId"] == "user_456"


def test_english_success(staff: APIClient, image: Media) -> None:
    data = ok(put(staff, {"id": "media_123", "supabaseId": "u"}, lang="en"), EN.UPDATED)
    assert data["media"]["supabaseId"] == "u"


def test_null_fields_count_as_not_given(staff: APIClient, image: Media) -> None:
    data = ok(put(staff, {"id": "media_123", "category": None, "aspectRatio": "4/3",
                          "supabaseId": None, "posterUrl": None}), ZH.UPDATED)
    assert data["updatedFields"] == {"aspectRatio": "4/3"}
    stored = Media.objects.get(pk="media_123")
    assert (stored.category, stored.supabase_id, stored.meta) == (["portrait"], "user_456", META)


def test_unknown_fields_are_ignored(staff: APIClient, image: Media) -> None:
    data = ok(put(staff, {"id": "media_123", "supabaseId": "u2", "url": "https://evil",
                          "isDelete": True, "mediaType": "video"}), ZH.UPDATED)
    assert data["updatedFields"] == {"supabaseId": "u2"}
    stored = Media.objects.get(pk="media_123")
    assert (stored.url, stored.is_delete, stored.media_type) == (image.url, False, "image")


def test_empty_category_and_empty_user(staff: APIClient, image: Media) -> None:
    data = ok(put(staff, {"id": "media_123", "category": [], "supabaseId": ""}), ZH.UPDATED)
    assert data["updatedFields"] == {"category": [], "supabaseId": ""}
    assert Media.objects.get(pk="media_123").category == []
    assert listed(get(staff, "category=portrait"), ZH.NONE_FOUND)["total"] == 0
    assert_derived_tables_exact()


def test_category_string_is_one_element(staff: APIClient, image: Media) -> None:
    data = ok(put(staff, {"id": "media_123", "category": " landscape "}), ZH.UPDATED)
    assert data["updatedFields"] == {"category": ["landscape"]}
    assert Media.objects.get(pk="media_123").category == ["landscape"]


@pytest.mark.parametrize("missing", ["does-not-exist", "MEDIA_123", "media_123 "])
def test_unknown_id_is_404(staff: APIClient, image: Media, missing: str) -> None:
    before = snapshot()
    error(put(staff, {"id": missing, "supabaseId": "x"}), 404, "媒体文件不存在或已被删除")
    error(put(staff, {"id": missing, "supabaseId": "x"}, lang="en"), 404, EN.NOT_FOUND)
    assert snapshot() == before


def test_deleted_media_is_404(staff: APIClient, make_media: MakeMedia) -> None:
    make_media(id="gone", is_delete=True, media_type="video", type="video/mp4")
    before = snapshot()
    for body in ({"id": "gone", "category": ["x"]}, {"id": "gone", "aspectRatio": "1/1"},
                 {"id": "gone", "supabaseId": "x"},
                 {"id": "gone", "posterUrl": "https://example.com/p.jpg"}):
        error(put(staff, body), 404, ZH.NOT_FOUND)
    assert snapshot() == before


def test_unknown_image_with_poster_is_404(staff: APIClient) -> None:
    error(put(staff, {"id": "nope", "posterUrl": "https://example.com/p.jpg"}), 404,
          ZH.NOT_FOUND)


def test_aspect_ratio_edit_moves_the_totals(staff: APIClient, make_media: MakeMedia) -> None:
    made = [make_media(aspect_ratio="16/9") for _ in range(3)]
    ok(put(staff, {"id": made[1].pk, "aspectRatio": "4/3"}), ZH.UPDATED)
    assert listed(get(staff, "aspectRatio=16/9"))["total"] == 2
    assert ids_of(listed(get(staff, "aspectRatio=4/3"))) == [made[1].pk]
    assert listed(get(staff, "aspectRatio=4/3&mediaType=image&category=portrait"))["total"] == 1
    assert_derived_tables_exact()


def test_user_edit_moves_the_user_filter(staff: APIClient, make_media: MakeMedia) -> None:
    made = [make_media(supabase_id="user_a") for _ in range(2)]
    ok(put(staff, {"id": made[0].pk, "supabaseId": "user_b"}), ZH.UPDATED)
    assert ids_of(listed(get(staff, "supabaseId=user_a"))) == [made[1].pk]
    assert ids_of(listed(get(staff, "supabaseId=user_b&category=portrait"))) == [made[0].pk]


def test_aspect_ratio_is_kept_as_written(staff: APIClient, image: Media) -> None:
    data = ok(put(staff, {"id": "media_123", "aspectRatio": "1920/1080"}), ZH.UPDATED)
    assert data["media"]["aspectRatio"] == "1920/1080"
    assert ids_of(listed(get(staff, "aspectRatio=1920/1080"))) == ["media_123"]


def test_put_does_not_move_the_media_in_the_list(staff: APIClient,
                                                 make_media: MakeMedia) -> None:
    made = [make_media() for _ in range(3)]
    ok(put(staff, {"id": made[0].pk, "category": ["x"]}), ZH.UPDATED)
    assert ids_of(listed(get(staff))) == [m.pk for m in reversed(made)]
    assert Media.objects.get(pk=made[0].pk).created_at == made[0].created_at
