"""Presigned uploads: ``POST /v1/media/upload/presigned`` reserves the declared size and
says where to send the file (an S3 presigned POST on the moto server; this server's
signed upload URL on local storage); ``POST /v1/media/upload/confirm`` checks what
arrived and records it as a MediaFile, exactly as a direct upload would.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import pytest
import requests
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.models import User
from apps.storage import quota
from apps.storage.models import QuotaLedger, QuotaReservation, StoredFile
from author_media import services, upload_sessions
from author_media.conf import QUOTA_BUCKET
from author_media.models import MediaFile, StorageUsage, UploadProtocol, UploadSession
from author_media.upload_tasks import expire_uploads
from tests.apps.storage.test_quota import run_together
from tests.user_library.conftest import LibraryStorage
from tests.user_library.helpers import PDF, PNG

PRESIGNED = "/v1/media/upload/presigned"
CONFIRM = "/v1/media/upload/confirm"


@pytest.fixture(autouse=True)
def _staging(settings: Any, tmp_path: Any) -> None:
    """Each test stages local uploads under its own temp dir."""
    settings.AUTHOR_MEDIA = {**(getattr(settings, "AUTHOR_MEDIA", None) or {}),
                             "UPLOAD_STAGING_DIR": str(tmp_path / "uploads")}


def ledger(user: User) -> QuotaLedger:
    return quota.ledger_for(user, QUOTA_BUCKET)


def limit_storage(settings: Any, nbytes: int) -> None:
    """The default tier's storage limit (before the user's usage row exists)."""
    settings.AUTHOR_MEDIA = {**settings.AUTHOR_MEDIA, "TIERS": {
        "free": {"storage": nbytes, "bandwidth": 10**12}}}


def declare(client: APIClient, data: bytes = PNG, **fields: Any) -> Any:
    body = {"filename": "cover.png", "mimeType": "image/png", "size": len(data), **fields}
    return client.post(PRESIGNED, body, format="json")


def send(target: dict[str, Any], data: bytes, *, filename: str = "cover.png") -> int:
    """What a browser does with the presigned answer: a form POST of ``fields`` + file."""
    if target["url"].startswith("http://testserver/"):
        payload = {**target["fields"], "file": SimpleUploadedFile(filename, data)}
        return int(APIClient().post(target["url"], payload, format="multipart").status_code)
    response = requests.post(target["url"], data=target["fields"],
                             files={"file": (filename, data)}, timeout=30)
    return response.status_code


def confirm(client: APIClient, upload_id: str, capture: Any, *, process: bool = False) -> Any:
    with capture(execute=process):
        return client.post(CONFIRM, {"uploadId": upload_id}, format="json")


def session_of(body: dict[str, Any]) -> UploadSession:
    return UploadSession.objects.get(pk=body["uploadId"])


def test_presigned_upload_then_confirm(client: APIClient, author: User, storage: LibraryStorage,
                                       django_capture_on_commit_callbacks: Any) -> None:
    declared = declare(client, folder="covers", altText="A cover", tags=["a", "b"],
                       siteId="site-1")
    assert declared.status_code == 201, declared.content
    target = declared.json()
    assert target["method"] == "POST" and target["size"] == len(PNG)
    assert target["storageProvider"] == ("S3" if storage.name == "s3" else "LOCAL")
    assert ledger(author).reserved_bytes == len(PNG)
    assert send(target, PNG) in (200, 201, 204)

    response = confirm(client, target["uploadId"], django_capture_on_commit_callbacks,
                       process=True)
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["folder"], body["tags"], body["altText"], body["siteId"]) == (
        "covers", ["a", "b"], "A cover", "site-1")
    assert body["sha256"] == hashlib.sha256(PNG).hexdigest() and body["duplicateOf"] is None
    assert client.get(f"/v1/media/{body['id']}").json()["scanStatus"] == "CLEAN"
    media = MediaFile.objects.get(pk=body["id"])
    assert media.stored_file is not None and storage.read(media.storage_path) == PNG
    assert storage.stored_keys() - {media.storage_path} == set(
        media.stored_file.variants.values_list("key", flat=True))  # nothing else is left
    row = ledger(author)
    assert row.reserved_bytes == 0 and row.file_count == 1
    assert StorageUsage.objects.get(user=author).total_files == 1
    assert session_of(target).state == "completed"
    again = confirm(client, target["uploadId"], django_capture_on_commit_callbacks)
    assert again.status_code == 200 and again.json()["id"] == body["id"]
    storage.assert_consistent()


def test_confirm_by_key(client: APIClient, local_storage: LibraryStorage,
                        django_capture_on_commit_callbacks: Any) -> None:
    target = declare(client).json()
    assert send(target, PNG) == 200
    with django_capture_on_commit_callbacks():
        response = client.post(CONFIRM, {"key": target["key"]}, format="json")
    assert response.status_code == 201, response.content


def test_the_declared_size_is_reserved_up_to_the_storage_limit(
        client: APIClient, author: User, local_storage: LibraryStorage, settings: Any) -> None:
    limit_storage(settings, 1000)
    assert declare(client, b"x" * 600).status_code == 201
    refused = declare(client, b"x" * 600)
    assert refused.status_code == 413
    problem = refused.json()
    assert problem["code"] == "storage_limit_exceeded"
    assert (problem["reservedBytes"], problem["headroomBytes"], problem["requestedBytes"]) == (
        600, 400, 600)
    assert UploadSession.objects.count() == 1 and ledger(author).reserved_bytes == 600


@pytest.mark.parametrize(("body", "status", "field"), [
    ({"mimeType": "image/png", "size": 10}, 400, "filename"),
    ({"filename": "a.png", "mimeType": "image/png", "size": 0}, 400, "size"),
    ({"filename": "a.png", "mimeType": "image/png", "size": "ten"}, 400, "size"),
    ({"filename": "a.png", "mimeType": "not a type", "size": 10}, 400, "mimeType"),
    ({"filename": "a.png", "mimeType": "image/png", "size": 10, "folder": "../x"}, 400, "folder"),
    ({"filename": "a.png", "mimeType": "image/png", "size": 6 * 1024**3}, 413, None),
    ({"filename": "a.html", "mimeType": "text/html", "size": 10}, 415, None),
    ({"filename": "a.html", "mimeType": "application/octet-stream", "size": 10}, 415, None),
])
def test_bad_declarations_change_nothing(client: APIClient, author: User,
                                         local_storage: LibraryStorage, body: dict[str, Any],
                                         status: int, field: str | None) -> None:
    response = client.post(PRESIGNED, body, format="json")
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    if field:  # (a folder's problem is reported as "folder.folder" by the shared field)
        assert {name.split(".")[0] for name in response.json()["errors"]} == {field}
    assert not UploadSession.objects.exists() and not QuotaReservation.objects.exists()


def test_confirm_of_a_missing_object_changes_nothing(
        client: APIClient, author: User, storage: LibraryStorage,
        django_capture_on_commit_callbacks: Any) -> None:
    target = declare(client).json()
    response = confirm(client, target["uploadId"], django_capture_on_commit_callbacks)
    assert response.status_code == 409 and response.json()["code"] == "upload_not_received"
    assert session_of(target).state == "open"
    assert ledger(author).reserved_bytes == len(PNG) and not MediaFile.objects.exists()
    assert send(target, PNG) in (200, 201, 204)  # the upload can still happen
    assert confirm(client, target["uploadId"],
                   django_capture_on_commit_callbacks).status_code == 201


def test_an_object_larger_than_declared_is_refused_and_deleted(
        client: APIClient, author: User, storage: LibraryStorage,
        django_capture_on_commit_callbacks: Any) -> None:
    target = declare(client).json()
    status = send(target, PNG + b"\0" * 100)
    if storage.name == "local":  # the signed URL takes no byte past the declared size
        assert status == 413
        assert confirm(client, target["uploadId"],
                       django_capture_on_commit_callbacks).status_code == 409
        assert ledger(author).reserved_bytes == len(PNG)
        return
    # S3 refuses a body outside the policy's content-length-range; moto's server does
    # not check POST policies (it stores the body), so the confirm step must catch it.
    assert status in (200, 201, 204, 400, 403)
    response = confirm(client, target["uploadId"], django_capture_on_commit_callbacks)
    if status < 300:
        assert response.status_code == 413, response.content
        problem = response.json()
        assert (problem["code"], problem["uploadState"], problem["maxBytes"]) == (
            "file_too_large", "aborted", len(PNG))
    else:
        assert response.status_code == 409
    assert storage.stored_keys() == set() and not StoredFile.objects.exists()
    if status < 300:
        assert ledger(author).reserved_bytes == 0 and not QuotaReservation.objects.exists()
        assert session_of(target).state == "aborted"
        gone = confirm(client, target["uploadId"], django_capture_on_commit_callbacks)
        assert gone.status_code == 410 and gone.json()["code"] == "upload_gone"


def test_an_object_smaller_than_declared_is_refused(
        client: APIClient, author: User, storage: LibraryStorage,
        django_capture_on_commit_callbacks: Any) -> None:
    target = declare(client).json()
    status = send(target, PNG[:-10])
    if storage.name == "local":
        assert status == 422
        assert session_of(target).state == "open"
        return
    if status >= 300:  # a real S3 checks the policy
        return
    response = confirm(client, target["uploadId"], django_capture_on_commit_callbacks)
    assert response.status_code == 422 and response.json()["code"] == "size_mismatch"
    assert storage.stored_keys() == set() and ledger(author).reserved_bytes == 0


def test_content_that_is_not_the_declared_type_is_refused_at_confirm(
        client: APIClient, author: User, storage: LibraryStorage,
        django_capture_on_commit_callbacks: Any) -> None:
    target = declare(client, PDF).json()  # says image/png, size of the PDF
    assert send(target, PDF) in (200, 201, 204)
    response = confirm(client, target["uploadId"], django_capture_on_commit_callbacks)
    assert response.status_code == 415, response.content
    assert response.json()["code"] == "type_mismatch"
    assert storage.stored_keys() == set() and not MediaFile.objects.exists()
    assert ledger(author).reserved_bytes == 0 and ledger(author).used_bytes == 0
    assert session_of(target).state == "aborted"


def test_a_refused_type_is_refused_at_confirm(client: APIClient, author: User,
                                              local_storage: LibraryStorage,
                                              django_capture_on_commit_callbacks: Any) -> None:
    html = b"<!doctype html><html><body>hi</body></html>"
    target = declare(client, html, filename="page.bin",
                     mimeType="application/octet-stream").json()
    assert send(target, html, filename="page.bin") == 200
    response = confirm(client, target["uploadId"], django_capture_on_commit_callbacks)
    assert response.status_code == 415 and not MediaFile.objects.exists()
    assert ledger(author).reserved_bytes == 0


def test_dedup_at_confirm(client: APIClient, author: User, upload: Any, storage: LibraryStorage,
                          django_capture_on_commit_callbacks: Any) -> None:
    first = upload(PNG).json()
    original_key = MediaFile.objects.get(pk=first["id"]).storage_path
    target = declare(client, folder="elsewhere").json()
    assert send(target, PNG) in (200, 201, 204)
    response = confirm(client, target["uploadId"], django_capture_on_commit_callbacks)
    assert response.status_code == 200, response.content
    assert response.json()["id"] == first["id"] == response.json()["duplicateOf"]
    assert MediaFile.objects.count() == 1 and StoredFile.objects.count() == 1
    assert storage.stored_keys() == {original_key}
    row = ledger(author)
    assert (row.used_bytes, row.reserved_bytes) == (len(PNG), 0)
    assert session_of(target).state == "completed"
    again = confirm(client, target["uploadId"], django_capture_on_commit_callbacks)
    assert again.status_code == 200 and again.json()["duplicateOf"] == first["id"]


def test_the_local_upload_url_is_signed_and_single_use(
        client: APIClient, author: User, local_storage: LibraryStorage,
        django_capture_on_commit_callbacks: Any) -> None:
    target = declare(client).json()
    anonymous = APIClient()
    tampered = anonymous.put(target["url"][:-3] + "AAA", PNG,
                             content_type="application/octet-stream")
    assert tampered.status_code == 403
    session = session_of(target)
    expired = upload_sessions.upload_url(session, part=0, ttl=-1)
    assert anonymous.put(expired, PNG, content_type="application/octet-stream"
                         ).status_code == 410
    put = anonymous.put(target["url"], PNG, content_type="application/octet-stream")
    assert put.status_code == 200 and put["ETag"] == f'"{hashlib.md5(PNG, usedforsecurity=False).hexdigest()}"'
    assert put.json()["size"] == len(PNG)
    assert confirm(client, target["uploadId"],
                   django_capture_on_commit_callbacks).status_code == 201
    late = anonymous.put(target["url"], PNG, content_type="application/octet-stream")
    assert late.status_code == 409 and late.json()["code"] == "upload_complete"
    assert not upload_sessions.staging_path(session).exists()


def test_uploads_are_the_owners_only(client: APIClient, other_client: APIClient,
                                     local_storage: LibraryStorage) -> None:
    target = declare(client).json()
    assert send(target, PNG) == 200
    for body in ({"uploadId": target["uploadId"]}, {"key": target["key"]}):
        response = other_client.post(CONFIRM, body, format="json")
        assert response.status_code == 404, response.content
    assert other_client.post("/v1/media/upload/multipart/abort",
                             {"uploadId": target["uploadId"]}, format="json").status_code == 404
    assert session_of(target).state == "open"


def test_expiry_releases_the_quota_and_deletes_the_object(
        client: APIClient, author: User, storage: LibraryStorage,
        django_capture_on_commit_callbacks: Any) -> None:
    target = declare(client).json()
    assert send(target, PNG) in (200, 201, 204)
    assert storage.stored_keys() or upload_sessions.staging_path(session_of(target)).exists()
    fresh = declare(client, PDF, filename="keep.pdf", mimeType="application/pdf").json()
    UploadSession.objects.filter(pk=target["uploadId"]).update(
        expires_at=timezone.now() - timedelta(seconds=1))
    assert expire_uploads() == 1
    assert session_of(target).state == "expired" and session_of(fresh).state == "open"
    assert ledger(author).reserved_bytes == len(PDF)  # only the fresh session's
    assert storage.stored_keys() == set()
    assert not upload_sessions.staging_path(session_of(target)).exists()
    response = confirm(client, target["uploadId"], django_capture_on_commit_callbacks)
    assert response.status_code == 410
    assert expire_uploads() == 0


def test_confirm_past_the_expiry_is_gone(client: APIClient, author: User,
                                         local_storage: LibraryStorage,
                                         django_capture_on_commit_callbacks: Any) -> None:
    target = declare(client).json()
    assert send(target, PNG) == 200
    UploadSession.objects.filter(pk=target["uploadId"]).update(
        expires_at=timezone.now() - timedelta(seconds=1))
    response = confirm(client, target["uploadId"], django_capture_on_commit_callbacks)
    assert response.status_code == 410 and not MediaFile.objects.exists()
    assert session_of(target).state == "expired" and ledger(author).reserved_bytes == 0


def test_a_late_post_to_an_s3_url_is_swept_once_the_url_is_dead(
        client: APIClient, author: User, storage: LibraryStorage,
        django_capture_on_commit_callbacks: Any) -> None:
    if storage.name != "s3":
        pytest.skip("presigned POSTs go to the bucket on S3 only")
    target = declare(client).json()
    assert send(target, PNG) < 300
    body = confirm(client, target["uploadId"], django_capture_on_commit_callbacks).json()
    file_key = MediaFile.objects.get(pk=body["id"]).storage_path
    assert storage.stored_keys() == {file_key}
    assert send(target, PNG) < 300  # the URL is still valid: the bytes land, uncharged
    assert storage.stored_keys() == {file_key, target["key"]}
    assert session_of(target).fields.get("sweep") is True
    UploadSession.objects.filter(pk=target["uploadId"]).update(
        expires_at=timezone.now() - timedelta(seconds=1))
    expire_uploads()
    assert storage.stored_keys() == {file_key}
    assert "sweep" not in session_of(target).fields


@pytest.mark.django_db(transaction=True)
def test_parallel_declarations_never_reserve_past_the_limit(
        author: User, local_storage: LibraryStorage, settings: Any) -> None:
    size = 1000
    limit_storage(settings, 10 * size + size // 2)
    declared = upload_sessions.Declared("a.png", "image/png", size, {})
    services.prepare_quota(author)

    def job() -> Any:
        return upload_sessions.presigned_open(user=author, declared=declared)

    results = run_together([job] * 20)
    opened = [r for r in results if isinstance(r, tuple)]
    refused = [r for r in results if getattr(r, "code", None) == "storage_limit_exceeded"]
    assert (len(opened), len(refused)) == (10, 10), results
    assert ledger(author).reserved_bytes == 10 * size
    assert UploadSession.objects.filter(protocol=UploadProtocol.PRESIGNED).count() == 10
    assert QuotaReservation.objects.count() == 10
