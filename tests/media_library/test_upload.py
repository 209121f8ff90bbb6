"""``POST …/items/upload``: files stored here, over both storages (local and S3), with
the real clamd scan and the worker's probe (Celery is eager; the after-commit work runs
inside ``django_capture_on_commit_callbacks(execute=True)``).

Also the life of an uploaded item's file: signed URLs once cleared, nothing served
while pending or infected, the file and its quota gone with a permanent delete, and a
purge that survives a storage outage without losing track of the bytes.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.models import Workspace
from apps.processing.tasks import purge_recycle_bin
from apps.storage.blobs import blob_store
from apps.storage.models import BlobTombstone, QuotaLedger, QuotaReservation, StoredFile
from media_library.conf import QUOTA_BUCKET
from media_library.models import MediaItem
from scripts.test_services import EICAR
from tests.media_library.factories import make_category, problems
from tests.user_library.conftest import LibraryStorage
from tests.user_library.helpers import HTML, JPEG, PDF, PNG, mp4


@pytest.fixture
def upload(member: APIClient, base: str,
           django_capture_on_commit_callbacks: Any) -> Any:
    """POST a file (and form fields); with ``process`` the scan and pipeline run too."""

    def post(data: bytes = PNG, *, filename: str = "photo.png",
             content_type: str = "image/png", client: APIClient | None = None,
             process: bool = False, **fields: Any) -> Any:
        payload = {"file": SimpleUploadedFile(filename, data, content_type), **fields}
        with django_capture_on_commit_callbacks(execute=process):
            return (client or member).post(f"{base}/items/upload", payload,
                                           format="multipart")

    return post


def ledger(workspace: Workspace) -> tuple[int, int]:
    row = QuotaLedger.objects.filter(owner_workspace=workspace, bucket=QUOTA_BUCKET).first()
    return (row.used_bytes, row.file_count) if row else (0, 0)


def assert_nothing_stored(workspace: Workspace, storage: LibraryStorage) -> None:
    assert not MediaItem.objects.exists()
    assert not StoredFile.objects.exists()
    assert ledger(workspace) == (0, 0)
    assert not QuotaReservation.objects.exists()
    assert storage.stored_keys() == set()


# -- what an upload makes --------------------------------------------------------------------


def test_upload_creates_an_item_from_the_bytes(upload: Any, workspace: Workspace,
                                               storage: LibraryStorage) -> None:
    response = upload(PNG, filename="Beach day.png")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["type"], body["name"], body["mimeType"], body["fileSize"]) == (
        "image", "Beach day.png", "image/png", len(PNG))
    # not yet scanned: nothing is served
    assert (body["fileUrl"], body["thumbnailUrl"], body["fileStatus"]) == (None, None, "pending")
    item = MediaItem.objects.get(pk=body["id"])
    stored = StoredFile.objects.get(pk=item.stored_file_id)
    assert body["storedFileId"] == str(stored.pk)
    assert stored.owner_workspace_id == workspace.pk and stored.quota_bucket == QUOTA_BUCKET
    assert storage.read(stored.key) == PNG
    assert ledger(workspace) == (len(PNG), 1)
    assert item.file_url == ""  # the stored column stays empty: URLs are signed per read


def test_processing_fills_dimensions_and_signed_urls(upload: Any, member: APIClient, base: str,
                                                     storage: LibraryStorage) -> None:
    created = upload(PNG, process=True).json()
    body = member.get(f"{base}/items/{created['id']}").json()
    assert (body["width"], body["height"], body["fileStatus"]) == (64, 48, "ready")
    assert body["fileUrl"] and body["thumbnailUrl"]
    fetched = storage.fetch(body["fileUrl"])
    assert fetched.status == 200 and fetched.body == PNG
    thumb = storage.fetch(body["thumbnailUrl"])
    assert thumb.status == 200 and thumb.body[:4] == b"RIFF"  # WebP
    listed = member.get(f"{base}/items").json()["items"]
    assert listed[0]["id"] == body["id"] and listed[0]["fileUrl"]


def test_a_video_gets_its_duration(upload: Any, member: APIClient, base: str) -> None:
    created = upload(mp4(), filename="clip.mp4", content_type="video/mp4", process=True)
    assert created.status_code == 201, created.content
    body = member.get(f"{base}/items/{created.json()['id']}").json()
    assert (body["type"], body["mimeType"], body["width"], body["height"]) == (
        "video", "video/mp4", 32, 24)
    assert body["duration"] == 1


def test_a_document_is_a_document(upload: Any) -> None:
    body = upload(PDF, filename="brief.pdf", content_type="application/pdf").json()
    assert (body["type"], body["mimeType"]) == ("document", "application/pdf")


def test_form_fields_are_kept(upload: Any, workspace: Workspace) -> None:
    category = make_category(workspace, "image", "Photos")
    response = upload(name="x.png", type="image", description="On the beach",
                      categoryId=str(category.pk), tags="summer, beach,,summer",
                      isStarred="true")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["name"], body["description"], body["categoryId"], body["isStarred"]) == (
        "x.png", "On the beach", str(category.pk), True)
    assert body["category"] == {"id": str(category.pk), "name": "Photos"}
    assert body["tags"] == ["summer", "beach"]


@pytest.mark.parametrize("tags", [["a", "b"], json.dumps(["a", "b"]), "a,b"])
def test_tags_as_repeated_fields_json_or_commas(upload: Any, tags: Any) -> None:
    assert upload(tags=tags).json()["tags"] == ["a", "b"]


def test_an_infected_file_is_never_served(upload: Any, member: APIClient, base: str) -> None:
    created = upload(EICAR, filename="notes.txt", content_type="text/plain", process=True)
    assert created.status_code == 201, created.content  # a text document, until clamd looks
    shown = member.get(f"{base}/items/{created.json()['id']}").json()
    assert shown["type"] == "document"
    assert (shown["fileUrl"], shown["thumbnailUrl"], shown["fileStatus"]) == (None, None,
                                                                               "blocked")


# -- bad input: a clear error, nothing stored -----------------------------------------------


def test_missing_file_is_400(member: APIClient, base: str, workspace: Workspace,
                             local_storage: LibraryStorage) -> None:
    response = member.post(f"{base}/items/upload", {"name": "x"}, format="multipart")
    assert response.status_code == 400
    assert problems(response) == ["file should not be empty"]
    assert_nothing_stored(workspace, local_storage)


@pytest.mark.parametrize(("fields", "messages"), [
    ({"type": "audio"},
     ["type must be one of the following values: image, video, gif, document"]),
    ({"name": "x" * 256}, ["name must be shorter than or equal to 255 characters"]),
    ({"categoryId": "nope"}, ["categoryId must be a UUID"]),
    ({"isStarred": "maybe"}, ["isStarred must be a boolean value"]),
    ({"tags": json.dumps([1, 2])}, ["each value in tags must be a string"]),
    ({"tags": "[not json"}, ["tags must be an array"]),
    ({"tags": ",".join(f"t{i}" for i in range(200))},
     ["tags must contain no more than 100 elements"]),
])
def test_bad_fields_are_400_and_store_nothing(upload: Any, workspace: Workspace,
                                              local_storage: LibraryStorage,
                                              fields: dict[str, Any],
                                              messages: list[str]) -> None:
    response = upload(**fields)
    assert response.status_code == 400, response.content
    assert problems(response) == messages
    assert_nothing_stored(workspace, local_storage)


def test_a_type_the_bytes_contradict_is_400(upload: Any, workspace: Workspace,
                                            storage: LibraryStorage) -> None:
    response = upload(type="video")
    assert response.status_code == 400
    assert problems(response) == ["type is video but the file is image"]
    assert_nothing_stored(workspace, storage)


def test_a_category_of_another_type_is_400(upload: Any, workspace: Workspace,
                                           local_storage: LibraryStorage) -> None:
    videos = make_category(workspace, "video", "Clips")
    response = upload(categoryId=str(videos.pk))
    assert response.status_code == 400
    assert problems(response) == ["categoryId must be a category of type image"]
    assert_nothing_stored(workspace, local_storage)


def test_a_foreign_category_is_404(upload: Any, workspace: Workspace,
                                   other_workspace: Workspace,
                                   local_storage: LibraryStorage) -> None:
    foreign = make_category(other_workspace, "image", "Theirs")
    response = upload(categoryId=str(foreign.pk))
    assert response.status_code == 404
    assert response.json() == {"statusCode": 404, "message": "Category not found",
                               "error": "Not Found"}
    assert_nothing_stored(workspace, local_storage)


@pytest.mark.parametrize(("data", "filename", "content_type"), [
    (HTML, "page.html", "text/html"),          # active content: never stored
    (HTML, "photo.png", "image/png"),          # the same, dressed as an image
    (b"MZ\x90\x00" + b"\0" * 60, "run.exe", "application/octet-stream"),  # not media
])
def test_files_that_are_not_media_are_415(upload: Any, workspace: Workspace,
                                          storage: LibraryStorage, data: bytes,
                                          filename: str, content_type: str) -> None:
    response = upload(data, filename=filename, content_type=content_type)
    assert response.status_code == 415, response.content
    body = response.json()
    assert body["statusCode"] == 415 and body["error"] == "Unsupported Media Type"
    assert_nothing_stored(workspace, storage)


def test_the_bytes_decide_the_type_whatever_the_name_says(upload: Any) -> None:
    """A PNG saved as ``.jpg`` is common and harmless: it is stored, served and shown as
    the PNG it is (what could harm — active content — is refused above)."""
    body = upload(PNG, filename="photo.jpg", content_type="image/jpeg").json()
    assert (body["type"], body["mimeType"], body["name"]) == ("image", "image/png",
                                                              "photo.jpg")


def test_an_empty_file_is_400(upload: Any, workspace: Workspace,
                              local_storage: LibraryStorage) -> None:
    response = upload(b"")
    assert response.status_code == 400
    assert_nothing_stored(workspace, local_storage)


def test_over_the_file_limit_is_413(upload: Any, workspace: Workspace, settings: Any,
                                    local_storage: LibraryStorage) -> None:
    settings.MEDIA_LIBRARY = {"MAX_FILE_BYTES": len(PNG) - 1}
    response = upload()
    assert response.status_code == 413
    assert response.json()["statusCode"] == 413
    assert_nothing_stored(workspace, local_storage)
    settings.MEDIA_LIBRARY = {"MAX_FILE_BYTES": len(PNG)}  # exactly at the limit
    assert upload().status_code == 201


def test_a_body_far_over_the_limit_is_refused_unread(member: APIClient, base: str,
                                                     settings: Any, workspace: Workspace,
                                                     local_storage: LibraryStorage) -> None:
    settings.MEDIA_LIBRARY = {"MAX_FILE_BYTES": 1024}
    payload = {"file": SimpleUploadedFile("big.png", PNG + b"\0" * 200_000, "image/png")}
    response = member.post(f"{base}/items/upload", payload, format="multipart")
    assert response.status_code == 413
    assert_nothing_stored(workspace, local_storage)


def test_over_the_workspace_quota_is_413(upload: Any, workspace: Workspace, settings: Any,
                                         storage: LibraryStorage) -> None:
    settings.MEDIA_LIBRARY = {"QUOTA_BYTES": len(PNG) + len(JPEG)}
    assert upload().status_code == 201
    assert upload(JPEG, filename="b.jpg", content_type="image/jpeg").status_code == 201
    keys = storage.stored_keys()
    response = upload()
    assert response.status_code == 413
    assert response.json()["statusCode"] == 413
    assert ledger(workspace) == (len(PNG) + len(JPEG), 2)
    assert storage.stored_keys() == keys and MediaItem.objects.count() == 2
    assert not QuotaReservation.objects.exists()


def test_viewers_and_strangers_cannot_upload(upload: Any, viewer: APIClient,
                                             client_as: Any, workspace: Workspace,
                                             local_storage: LibraryStorage) -> None:
    denied = upload(client=viewer)
    assert denied.status_code == 403
    assert denied.json() == {"statusCode": 403, "message": "Forbidden resource",
                             "error": "Forbidden"}
    stranger = upload(client=client_as(None))
    assert stranger.status_code == 404
    assert stranger.json()["message"] == "Workspace not found"
    assert_nothing_stored(workspace, local_storage)


# -- the file goes with the item -------------------------------------------------------------


def test_permanent_delete_removes_the_file_and_frees_the_quota(
        upload: Any, admin: APIClient, base: str, workspace: Workspace,
        storage: LibraryStorage, django_capture_on_commit_callbacks: Any) -> None:
    item_id = upload(process=True).json()["id"]
    assert admin.delete(f"{base}/items/{item_id}").status_code == 200
    assert StoredFile.objects.count() == 1 and ledger(workspace)[0] == len(PNG)  # in the bin
    with django_capture_on_commit_callbacks(execute=True):  # the bytes go after commit
        with_permanent = admin.delete(f"{base}/items/{item_id}/permanent")
    assert with_permanent.status_code == 200
    assert not MediaItem.objects.exists() and not StoredFile.objects.exists()
    assert ledger(workspace) == (0, 0)
    assert storage.stored_keys() == set()
    assert not BlobTombstone.objects.exists()


def test_purge_survives_a_storage_outage(upload: Any, member: APIClient, base: str,
                                         workspace: Workspace,
                                         storage: LibraryStorage) -> None:
    ids = [upload(filename=f"{n}.png").json()["id"] for n in range(3)]
    for item_id in ids:
        assert member.delete(f"{base}/items/{item_id}").status_code == 200
    MediaItem.objects.update(deleted_at=timezone.now() - timedelta(days=31))
    keys = storage.stored_keys()
    assert len(keys) == 3

    storage.break_deletes()
    assert purge_recycle_bin() == {"purged": 3, "failed": 0}
    # the rows are gone and the quota freed; the bytes wait as tombstones
    assert not MediaItem.objects.exists() and not StoredFile.objects.exists()
    assert ledger(workspace) == (0, 0)
    assert set(BlobTombstone.objects.values_list("key", flat=True)) == keys
    assert storage.stored_keys() == keys
    storage.assert_consistent()
    assert blob_store.flush_tombstones() == 0  # still failing: kept for the next sweep

    storage.repair()
    assert blob_store.flush_tombstones() == 3
    assert storage.stored_keys() == set() and not BlobTombstone.objects.exists()
    assert purge_recycle_bin()["purged"] == 0  # idempotent


def test_a_page_of_uploads_signs_in_one_query(upload: Any, member: APIClient,
                                              base: str) -> None:
    def list_queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            items = member.get(f"{base}/items").json()["items"]
        assert all(item["fileUrl"] and item["thumbnailUrl"] for item in items)
        return len(captured)

    upload(filename="0.png", process=True)
    one = list_queries()
    for n in range(1, 6):
        upload(filename=f"{n}.png", process=True)
    assert list_queries() == one  # files and thumbnails: one query per page, not per item
