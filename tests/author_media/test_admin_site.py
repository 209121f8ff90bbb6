"""The Django admin pages of author_media render, and a tier change sets the limits
that uploads are held to."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from apps.storage import quota
from author_media.conf import QUOTA_BUCKET
from author_media.models import MediaFile, StorageUsage
from author_media.usage import tier_limits, usage_for
from tests.user_library.helpers import PNG, png


@pytest.mark.parametrize("model", ["mediafile", "storageusage", "mediafolder",
                                   "uploadsession", "mediaoperation"])
def test_changelists_render(console_client: Client, model: str) -> None:
    response = console_client.get(f"/admin/author_media/{model}/")
    assert response.status_code == 200


def test_a_file_page_renders(console_client: Client, upload: Any, local_storage: Any) -> None:
    media_id = upload(PNG).json()["id"]
    assert console_client.get(f"/admin/author_media/mediafile/{media_id}/change/").status_code == 200
    assert MediaFile.objects.filter(pk=media_id).exists()


def test_a_tier_change_in_the_admin_sets_the_enforced_limit(console_client: Client,
                                                            author: Any) -> None:
    row = usage_for(author.pk)
    response = console_client.post(f"/admin/author_media/storageusage/{row.pk}/change/",
                                 {"tier": "pro", "storage_limit_bytes": "1",
                                  "bandwidth_limit_bytes": "1"})
    assert response.status_code == 302, response.content
    row.refresh_from_db()
    assert (row.tier, row.storage_limit_bytes) == ("pro", tier_limits("pro")["storage"])
    assert quota.ledger_for(author, QUOTA_BUCKET).limit_bytes == row.storage_limit_bytes
    console_client.post(f"/admin/author_media/storageusage/{row.pk}/change/",
                      {"tier": "custom", "storage_limit_bytes": "12345",
                       "bandwidth_limit_bytes": "678"})
    assert StorageUsage.objects.get(pk=row.pk).storage_limit_bytes == 12345
    assert quota.ledger_for(author, QUOTA_BUCKET).limit_bytes == 12345


def test_recalculate_action_fixes_drift(console_client: Client, upload: Any, author: Any,
                                        local_storage: Any) -> None:
    upload(PNG)
    row = StorageUsage.objects.get(user=author)
    right = row.total_bytes
    StorageUsage.objects.filter(pk=row.pk).update(total_bytes=right + 999)
    answer = console_client.post("/admin/author_media/storageusage/", {
        "action": "recalculate", "_selected_action": [str(row.pk)]}, follow=True)
    page = answer.content.decode()
    assert "Recalculated 1 user(s); 1 had drifted and were corrected." in page
    assert f"total_bytes {right + 999}→{right}" in page
    row.refresh_from_db()
    assert row.total_bytes == right


def test_the_file_list_runs_constant_queries(console_client: Client, upload: Any,
                                             local_storage: Any,
                                             django_assert_max_num_queries: Any) -> None:
    upload(PNG)
    with CaptureQueriesContext(connection) as few:
        assert console_client.get("/admin/author_media/mediafile/").status_code == 200
    first = len(few.captured_queries)  # counted now: each request resets the log
    assert 0 < first <= 12
    for seed in range(6):
        upload(png(seed))
    with django_assert_max_num_queries(first):
        page = console_client.get("/admin/author_media/mediafile/").content.decode()
    assert page.count("<tr") >= 8
    assert " B<" in page or "KiB" in page  # sizes in human units
