"""Getting media into the console: POST by URL, POST by upload (stored, scanned, probed;
its stable file link), and ``import_admin_media`` for JSON Lines exports."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import orjson
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from rest_framework.test import APIClient

from admin_media.models import Media, MediaTally
from apps.storage.models import StoredFile
from tests.admin_media.conftest import BASE
from tests.user_library.helpers import HTML, JPEG, mp4


def _upload(client: APIClient, capture: Any, data: bytes, name: str, content_type: str,
            **fields: Any) -> Any:
    with capture(execute=True):
        return client.post(BASE, {"file": SimpleUploadedFile(name, data, content_type),
                                  **fields}, format="multipart")


def test_a_url_media_takes_its_media_type_from_its_mime_type(staff: APIClient) -> None:
    answer = staff.post(BASE, {"url": "https://cdn.example.com/a.png", "type": "image/png",
                               "aspectRatio": "4/3", "category": ["a", "b", "a"],
                               "meta": {"alt": "x"}}, format="json")
    assert answer.status_code == 201
    media = answer.json()["data"]["media"]
    assert (media["mediaType"], media["category"], media["meta"]) == ("image", ["a", "b"],
                                                                      {"alt": "x"})
    assert answer.json()["message"] == "媒体文件创建成功"


@pytest.mark.parametrize(("body", "message"), [
    ({"type": "image/png"}, "请提供文件或url（二选一）"),
    ({"url": "https://x.test/a", "type": "text/html"}, "type参数无效，必须是图片或视频的MIME类型"),
    ({"url": "https://x.test/a", "type": "image/png", "mediaType": "video"},
     "mediaType与type不一致"),
    ({"url": "https://x.test/a", "type": "image/png", "supabaseId": 7},
     "supabaseId参数无效，必须是不超过512个字符的字符串"),
    ({"url": "https://x.test/a", "type": "image/png", "meta": [1]}, "meta参数无效，必须是对象"),
    ({"url": "https://x.test/a", "type": "image/png", "aspectRatio": "0/1"},
     "aspectRatio的分子和分母都必须大于0"),
])
def test_bad_url_media_are_refused(staff: APIClient, body: dict[str, Any],
                                   message: str) -> None:
    answer = staff.post(BASE, body, format="json")
    assert (answer.status_code, answer.json()["message"]) == (400, message)
    assert not Media.objects.exists()


def test_an_upload_is_stored_probed_and_served_by_its_link(
        staff: APIClient, django_capture_on_commit_callbacks: Any, api_client: APIClient
) -> None:
    answer = _upload(staff, django_capture_on_commit_callbacks, JPEG, "p.jpg", "image/jpeg",
                     category="portrait,studio", supabaseId="user_9", mediaType="image")
    assert answer.status_code == 201, answer.content
    media = Media.objects.get()
    assert media.type == "image/jpeg" and media.stored_file is not None
    assert media.meta["width"] == 64 and media.meta["height"] == 48
    assert media.meta["size"] == len(JPEG) and media.aspect_ratio == "4/3"
    assert media.category == ["portrait", "studio"]
    redirect = api_client.get(media.url.removeprefix("http://testserver"))
    assert redirect.status_code == 302
    served = api_client.get(redirect["Location"])
    assert served.status_code == 200 and b"".join(served.streaming_content) == JPEG
    forged = media.url.removeprefix("http://testserver").rsplit("/", 1)[0] + "/forged"
    assert api_client.get(forged).status_code == 404
    staff.delete(BASE, {"mediaIds": [media.pk]}, format="json")
    assert api_client.get(media.url.removeprefix("http://testserver")).status_code == 404
    assert StoredFile.objects.filter(pk=media.stored_file_id).exists()  # soft: file kept


def test_a_video_upload_gets_its_duration(staff: APIClient,
                                          django_capture_on_commit_callbacks: Any) -> None:
    answer = _upload(staff, django_capture_on_commit_callbacks, mp4(), "c.mp4", "video/mp4")
    assert answer.status_code == 201, answer.content
    media = Media.objects.get()
    assert media.media_type == "video" and media.meta["duration"] > 0


def test_an_upload_that_is_not_media_stores_nothing(
        staff: APIClient, django_capture_on_commit_callbacks: Any) -> None:
    answer = _upload(staff, django_capture_on_commit_callbacks, HTML, "x.jpg", "image/jpeg")
    assert answer.status_code in (400, 415) and answer.json()["success"] is False
    answer = _upload(staff, django_capture_on_commit_callbacks, JPEG, "p.jpg", "image/jpeg",
                     mediaType="video")
    assert answer.json()["message"] == "mediaType与type不一致"
    assert not Media.objects.exists() and not StoredFile.objects.exists()


def _export(tmp_path: Path, lines: list[Any]) -> Path:
    path = tmp_path / "export.jsonl"
    path.write_bytes(b"\n".join(line if isinstance(line, bytes) else orjson.dumps(line)
                                for line in lines) + b"\n")
    return path


def _line(n: int, **extra: Any) -> dict[str, Any]:
    return {"id": f"m{n}", "url": f"https://cdn.example.com/{n}.jpg", "type": "image/jpeg",
            "mediaType": "image", "category": ["c"], "createdAt": f"2024-01-{n:02d}T00:00:00Z",
            **extra}


def _run(path: Path, *args: str) -> str:
    out = io.StringIO()
    call_command("import_admin_media", str(path), "--no-progress", *args, stdout=out)
    return out.getvalue()


def test_import_is_resumable_and_reports_bad_lines(db: None, tmp_path: Path) -> None:
    path = _export(tmp_path, [_line(1), _line(2, isDelete=True), b"{not json",
                              _line(3, type="text/plain"), {"url": "https://x.test/"},
                              _line(4, supabaseId="u")])
    assert "would import: 3 new" in _run(path, "--dry-run")
    assert not Media.objects.exists()
    report = _run(path, "--batch", "2")
    assert "imported: 3 new, 0 updated, 0 skipped (already imported), 3 errors" in report
    assert "line 3: not valid JSON" in report and "line 5: id is missing" in report
    assert Media.objects.get(pk="m2").is_delete is True
    assert Media.objects.get(pk="m1").created_at.day == 1
    assert MediaTally.objects.get(category="c", media_type="image", mime_type="image/jpeg",
                                  aspect_ratio="").count == 2  # m2 is deleted
    assert "0 new, 0 updated, 3 skipped" in _run(path)
    path = _export(tmp_path, [_line(1, supabaseId="new")])
    assert "0 new, 1 updated" in _run(path, "--update")
    assert Media.objects.get(pk="m1").supabase_id == "new"
