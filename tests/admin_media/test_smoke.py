"""The four operations end to end, in both languages (the contract tests go deeper)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rest_framework.test import APIClient

from admin_media.models import Media, MediaCategoryEntry, MediaTally
from tests.admin_media.conftest import BASE


def _tallies() -> dict[tuple[str, str, str, str], int]:
    return {(t.category, t.media_type, t.mime_type, t.aspect_ratio): t.count
            for t in MediaTally.objects.all() if t.count}


def test_list_edit_delete(staff: APIClient, make_media: Callable[..., Media]) -> None:
    for i in range(3):
        make_media(category=["portrait", "professional"] if i else ["landscape"])
    make_media(media_type="video", type="video/mp4", category=["portrait"])
    got = staff.get(BASE, {"category": "portrait", "pageSize": 2}).json()
    assert got["success"] is True and got["message"] == "查询媒体文件成功"
    assert [m["id"] for m in got["data"]["medias"]] == ["media_004", "media_003"]
    assert got["data"]["total"] == 3 and got["data"]["totalPages"] == 2
    assert _tallies()[("portrait", "image", "image/jpeg", "16/9")] == 2
    page2 = staff.get(BASE, {"category": "portrait", "pageSize": 2, "page": 2}).json()
    assert [m["id"] for m in page2["data"]["medias"]] == ["media_002"]

    patched = staff.patch(BASE, {"mediaIds": ["media_001", "nope"], "category": ["x"]},
                          format="json", HTTP_ACCEPT_LANGUAGE="en").json()
    assert patched["message"] == "Updated the categories of 1 media file"
    assert patched["data"] == {"updatedCount": 1, "updatedIds": ["media_001"], "category": ["x"]}
    assert set(MediaCategoryEntry.objects.filter(media_id="media_001")
               .values_list("category", flat=True)) == {"x"}

    put = staff.put(BASE, {"id": "media_001", "posterUrl": "https://e.com/p.jpg"}, format="json")
    assert put.status_code == 400
    assert put.json() == {"success": False, "message": "posterUrl参数仅适用于视频类型的媒体文件",
                          "data": None}
    put = staff.put(BASE, {"id": "media_004", "posterUrl": "https://e.com/p.jpg",
                           "aspectRatio": "9/16"}, format="json").json()
    assert put["data"]["media"]["meta"]["posterUrl"] == "https://e.com/p.jpg"
    assert put["data"]["updatedFields"] == {"posterUrl": "https://e.com/p.jpg",
                                            "aspectRatio": "9/16"}

    deleted = staff.delete(BASE, {"mediaIds": ["media_004", "media_004", "media_009"]},
                           format="json").json()
    assert deleted["message"] == "成功删除1个媒体文件"
    assert deleted["data"]["deletedUrls"] == ["https://example.com/media/4.jpg"]
    assert not MediaCategoryEntry.objects.filter(media_id="media_004").exists()
    assert staff.get(BASE, {"category": "portrait"}).json()["data"]["total"] == 2
    none = staff.get(BASE, {"supabaseId": "nobody"}, HTTP_ACCEPT_LANGUAGE="en").json()
    assert none["message"] == "No media files found" and none["data"]["totalPages"] == 0


def test_anonymous_and_non_staff(api_client: APIClient, auth_client: APIClient) -> None:
    anonymous = api_client.get(BASE)
    assert anonymous.status_code == 401
    assert anonymous.json()["success"] is False and anonymous.json()["data"] is None
    refused: Any = auth_client.get(BASE, HTTP_ACCEPT_LANGUAGE="en")
    assert refused.status_code == 403 and refused.json()["message"] == "Staff only."
    assert auth_client.get(BASE).json()["message"] == "仅限管理员访问"


def test_ingest_by_url_and_upload(staff: APIClient, settings: Any) -> None:
    made = staff.post(BASE, {"url": "https://cdn.example.com/a.mp4", "type": "video/mp4",
                             "category": "trailer", "supabaseId": "user_1"}, format="json")
    assert made.status_code == 201, made.content
    media = made.json()["data"]["media"]
    assert media["mediaType"] == "video" and media["category"] == ["trailer"]
    assert staff.post(BASE, {"url": "ftp://x/y", "type": "video/mp4"},
                      format="json").json()["message"] == "url参数无效，必须是http(s) URL"
    assert Media.objects.count() == 1
