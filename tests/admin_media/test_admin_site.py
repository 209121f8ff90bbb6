"""The console's media in the Django admin: bulk categories and soft deletes through the
services (the tallies follow), a constant-query change list."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from rest_framework.test import APIClient

from admin_media.models import Media, MediaTally
from apps.processing.variants import variants_generate
from apps.storage.models import ScanStatus, StoredFile
from tests.admin_media.conftest import BASE
from tests.user_library.helpers import JPEG

LIST = "/admin/admin_media/media/"



def _act(client: Client, action: str, ids: list[str], **extra: str) -> str:
    return client.post(LIST, {"action": action, "_selected_action": ids, **extra},
                       follow=True).content.decode()


def test_actions_go_through_the_services(console_client: Client, make_media: Callable[..., Media],
                                         django_assert_max_num_queries: Any) -> None:
    rows = [make_media() for _ in range(3)]
    with django_assert_max_num_queries(10):
        assert console_client.get(LIST).status_code == 200
    page = _act(console_client, "set_categories", [rows[0].pk, rows[1].pk], category="a, b, a")
    assert "on 2 media" in page
    assert Media.objects.get(pk=rows[0].pk).category == ["a", "b"]
    assert MediaTally.objects.get(category="a", media_type="image", mime_type="image/jpeg",
                                  aspect_ratio="16/9").count == 2
    assert "at most 64" in _act(console_client, "set_categories", [rows[0].pk], category="x" * 65)
    assert "Deleted 1 media." in _act(console_client, "soft_delete", [rows[2].pk])
    assert Media.objects.get(pk=rows[2].pk).is_delete is True


def test_uploaded_media_show_their_thumbnail_in_constant_queries(
        console_client: Client, staff: APIClient, django_capture_on_commit_callbacks: Any,
        django_assert_max_num_queries: Any) -> None:
    def upload(n: int) -> None:
        for i in range(n):
            with django_capture_on_commit_callbacks(execute=True):
                answer = staff.post(BASE, {"file": SimpleUploadedFile(f"p{i}.jpg", JPEG,
                                                                      "image/jpeg")},
                                    format="multipart")
            assert answer.status_code == 201, answer.content
        for media in Media.objects.filter(stored_file__isnull=False,
                                          stored_file__variants__isnull=True):
            StoredFile.objects.filter(pk=media.stored_file_id).update(
                scan_status=ScanStatus.CLEAN)
            media.stored_file.refresh_from_db()
            variants_generate(media.stored_file)

    upload(1)
    staff.post(BASE, {"url": "https://cdn.example.com/a.png", "type": "image/png"},
               format="json")  # a URL-only item: no file, no thumbnail
    with django_assert_max_num_queries(12) as few:
        first = console_client.get(LIST).content.decode()
    queries = len(few.captured_queries)  # (before the uploads' requests reset the log)
    upload(4)
    with django_assert_max_num_queries(queries):
        page = console_client.get(LIST).content.decode()
    assert first.count('class="admin-thumb"') == 1 and page.count('class="admin-thumb"') == 5
    media = Media.objects.exclude(stored_file=None).first()
    assert media is not None
    detail = console_client.get(f"{LIST}{media.pk}/change/").content.decode()
    assert 'class="admin-thumb"' in detail
