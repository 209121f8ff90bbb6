"""POST /v1/media/upload: what is kept, what is refused (and then nothing is stored),
the limits, deduplication, and a file the scanner holds back."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from rest_framework.test import APIClient

from apps.accounts.models import User
from apps.processing.models import StoredFileTransition
from apps.storage import quota
from apps.storage.models import StoredFile
from author_media import usage
from author_media.conf import QUOTA_BUCKET
from author_media.models import MediaFile, MediaFolder, StorageUsage
from scripts.test_services import EICAR
from tests.author_media.conftest import (
    assert_nothing_stored,
    assert_usage_matches_files,
    error_fields,
    fake_png,
    problem,
    stored_of,
)
from tests.user_library.conftest import LibraryStorage
from tests.user_library.helpers import HTML, JPEG, PDF, PNG, png

pytestmark = pytest.mark.django_db

Upload = Callable[..., Any]


# -- what an upload keeps ---------------------------------------------------------------


def test_fields_are_kept(upload: Upload, client: APIClient, author: User,
                         storage: LibraryStorage) -> None:
    response = upload(PNG, filename="Cover Art.png", folder="covers/2026", siteId="site-1",
                      altText="A red cover", caption="The first one", tags="cover,red")
    assert response.status_code == 201, response.content
    body = response.json()
    media = MediaFile.objects.get(pk=body["id"])
    stored = stored_of(body["id"])
    assert (body["userId"], body["siteId"], body["originalFilename"], body["mimeType"],
            body["fileSize"]) == (str(author.pk), "site-1", "Cover Art.png", "image/png",
                                  len(PNG))
    assert (body["altText"], body["caption"], body["folder"], body["tags"]) == (
        "A red cover", "The first one", "covers/2026", ["cover", "red"])
    assert body["sha256"] == hashlib.sha256(PNG).hexdigest() == stored.sha256
    assert body["storagePath"] == stored.key == media.storage_path
    assert body["filename"] == stored.key.rsplit("/", 1)[-1]
    assert body["storageProvider"] == ("LOCAL" if storage.name == "local" else "S3")
    assert body["storageRegion"] == (None if storage.name == "local" else "us-east-1")
    assert body["publicUrl"] == f"http://testserver/v1/media/files/{body['id']}/" \
        + body["publicUrl"].rsplit("/", 1)[-1]
    assert (body["scanStatus"], body["isQuarantined"], body["isProcessed"],
            body["duplicateOf"], body["deletedAt"]) == ("PENDING", False, False, None, None)
    assert storage.read(stored.key) == PNG
    assert set(MediaFolder.objects.filter(user=author).values_list("path", flat=True)) == {
        "covers", "covers/2026"}
    shown = client.get(f"/v1/media/{body['id']}").json()
    assert {k: v for k, v in shown.items() if k != "duplicateOf"} == {
        k: v for k, v in body.items() if k != "duplicateOf"}
    assert_usage_matches_files(author)
    assert StorageUsage.objects.get(user=author).total_bytes == len(PNG)


def test_optional_fields_may_be_left_out(upload: Upload, local_storage: LibraryStorage) -> None:
    body = upload(PNG).json()
    assert (body["siteId"], body["altText"], body["caption"], body["folder"], body["tags"]) == (
        None, None, None, None, [])


@pytest.mark.parametrize("tags", [
    ["summer", "beach"],            # repeated fields
    "summer,beach",                 # one comma-separated field
    " summer , beach ,",            # with spaces and an empty item
    '["summer", "beach"]',          # one JSON array
    '["summer", "beach", "summer"]',  # duplicates dropped, order kept
])
def test_tags_in_each_form(upload: Upload, tags: Any, local_storage: LibraryStorage) -> None:
    response = upload(PNG, tags=tags)
    assert response.status_code == 201, response.content
    assert response.json()["tags"] == ["summer", "beach"]
    assert MediaFile.objects.get().tags == ["summer", "beach"]


@pytest.mark.parametrize(("given", "kept"), [
    ("/covers/2026/", "covers/2026"),
    (" covers / 2026 ", "covers/2026"),
    ("covers", "covers"),
    ("", None),
    ("/", None),
])
def test_folder_is_normalised(upload: Upload, author: User, given: str, kept: str | None,
                              local_storage: LibraryStorage) -> None:
    response = upload(PNG, folder=given)
    assert response.status_code == 201, response.content
    assert response.json()["folder"] == kept == MediaFile.objects.get().folder
    expected = {"covers", "covers/2026"} if kept == "covers/2026" else ({kept} - {None})
    assert set(MediaFolder.objects.filter(user=author).values_list("path", flat=True)) == expected


# -- bad input: a 400, and nothing stored -----------------------------------------------


@pytest.mark.parametrize(("fields", "field"), [
    ({"altText": "x" * 501}, "altText"),
    ({"tags": "[true]"}, "tags"),
    ({"tags": '[{"a": 1}]'}, "tags"),
    ({"tags": "[null]"}, "tags"),
    ({"tags": '["a", '}, "tags"),  # broken JSON
    ({"tags": ",".join(f"t{i}" for i in range(51))}, "tags"),
    ({"tags": "x" * 51}, "tags"),
    ({"folder": "a/../b"}, "folder"),
    ({"folder": ".."}, "folder"),
    ({"folder": "a/./b"}, "folder"),
    ({"folder": "a\\b"}, "folder"),
    ({"folder": "a/" + "x" * 101}, "folder"),
    ({"folder": "/".join("d" * 21)}, "folder"),
    ({"siteId": "s" * 101}, "siteId"),
])
def test_bad_fields_are_400_and_store_nothing(upload: Upload, author: User, fields: dict[str, Any],
                                              field: str, local_storage: LibraryStorage) -> None:
    body = problem(upload(PNG, **fields), 400)
    assert field in error_fields(body), body
    assert_nothing_stored(author, local_storage.stored_keys())
    assert not MediaFolder.objects.filter(user=author).exists()


def test_fifty_tags_are_fine(upload: Upload, local_storage: LibraryStorage) -> None:
    response = upload(PNG, tags=",".join(f"t{i}" for i in range(50)))
    assert response.status_code == 201, response.content
    assert len(response.json()["tags"]) == 50


def test_missing_file_is_400(client: APIClient, author: User,
                             local_storage: LibraryStorage) -> None:
    body = problem(client.post("/v1/media/upload", {"altText": "no file"}, format="multipart"),
                   400)
    assert "file" in error_fields(body)
    assert_nothing_stored(author, local_storage.stored_keys())


def test_json_body_is_415(client: APIClient, author: User) -> None:
    problem(client.post("/v1/media/upload", {"file": "x"}, format="json"), 415)
    assert_nothing_stored(author)


def test_empty_file_is_400(upload: Upload, author: User, local_storage: LibraryStorage) -> None:
    problem(upload(b""), 400)
    assert_nothing_stored(author, local_storage.stored_keys())


def test_anonymous_upload_is_401(author: User) -> None:
    payload = {"file": SimpleUploadedFile("a.png", PNG, "image/png")}
    problem(APIClient().post("/v1/media/upload", payload, format="multipart"), 401)
    assert_nothing_stored(author)


# -- types: sniffed from the bytes --------------------------------------------------------


@pytest.mark.parametrize(("data", "filename", "content_type"), [
    (HTML, "page.html", "text/html"),
    (HTML, "page.htm", "application/octet-stream"),
    (b'<?xml version="1.0"?><doc><a>1</a></doc>', "data.xml", "application/xml"),
    (b"alert(document.cookie);\nfetch('/steal');\n", "app.js", "application/javascript"),
    (b"alert(document.cookie);\nfetch('/steal');\n", "app.mjs", "text/javascript"),
])
def test_active_content_is_415(upload: Upload, author: User, data: bytes, filename: str,
                               content_type: str, storage: LibraryStorage) -> None:
    problem(upload(data, filename=filename, content_type=content_type, folder="x/y"), 415)
    assert_nothing_stored(author, storage.stored_keys())
    assert not MediaFolder.objects.filter(user=author).exists()


def test_a_png_sent_as_jpeg_is_stored_as_the_png_it_is(upload: Upload, author: User,
                                                       storage: LibraryStorage) -> None:
    response = upload(PNG, filename="photo.jpg", content_type="image/jpeg")
    assert response.status_code == 201, response.content
    body = response.json()
    stored = stored_of(body["id"])
    assert body["mimeType"] == stored.mime_type == "image/png"
    assert body["storagePath"].endswith(".png") and body["originalFilename"] == "photo.jpg"
    assert storage.read(stored.key) == PNG


@pytest.mark.parametrize(("data", "filename", "content_type"), [
    (HTML, "photo.png", "image/png"),         # HTML disguised as a PNG
    (HTML, "photo.png", "text/html"),         # ... by its name only
    (HTML, "page.html", "image/png"),         # ... by its declared type only
    (PNG, "clip.mp4", "video/mp4"),           # an image is no video
    (PDF, "photo.jpg", "image/jpeg"),         # a document is no image
    (JPEG, "doc.pdf", "application/pdf"),     # nor an image a document
])
def test_content_that_contradicts_its_name_or_type_is_415(
        upload: Upload, author: User, data: bytes, filename: str, content_type: str,
        storage: LibraryStorage) -> None:
    body = problem(upload(data, filename=filename, content_type=content_type), 415)
    assert body["code"] in ("type_mismatch", "unsupported_type")
    assert_nothing_stored(author, storage.stored_keys())


def test_a_pdf_is_a_document(upload: Upload, local_storage: LibraryStorage) -> None:
    body = upload(PDF, filename="book.pdf", content_type="application/pdf").json()
    assert body["mimeType"] == "application/pdf" and body["storagePath"].endswith(".pdf")


# -- limits -----------------------------------------------------------------------------


@pytest.mark.parametrize("size", [1001, 2000, 200_000])
def test_over_the_direct_upload_limit_is_413(upload: Upload, author: User, settings: Any,
                                             size: int, storage: LibraryStorage) -> None:
    settings.AUTHOR_MEDIA = {"MAX_DIRECT_UPLOAD_BYTES": 1000}
    body = problem(upload(fake_png(size)), 413)
    assert body["code"] == "file_too_large" and body["maxBytes"] == 1000
    assert_nothing_stored(author, storage.stored_keys())


def test_exactly_the_direct_upload_limit_is_fine(upload: Upload, settings: Any,
                                                 local_storage: LibraryStorage) -> None:
    settings.AUTHOR_MEDIA = {"MAX_DIRECT_UPLOAD_BYTES": 1000}
    response = upload(fake_png(1000))
    assert response.status_code == 201, response.content
    assert response.json()["fileSize"] == 1000


def tiny_tier(settings: Any, user: User, storage_bytes: int,
              bandwidth_bytes: int = 10**9) -> None:
    settings.AUTHOR_MEDIA = {"TIERS": {
        "free": {"storage": 1024**3, "bandwidth": 10 * 1024**3},
        "tiny": {"storage": storage_bytes, "bandwidth": bandwidth_bytes}}}
    usage.usage_set_tier(user_id=user.pk, tier="tiny")


def test_over_the_storage_limit_is_413_with_the_headroom(
        upload: Upload, author: User, settings: Any, storage: LibraryStorage) -> None:
    tiny_tier(settings, author, 1000)
    first = upload(fake_png(600))
    assert first.status_code == 201, first.content
    keys = storage.stored_keys()
    body = problem(upload(fake_png(500), folder="refused"), 413)
    assert body["code"] == "storage_limit_exceeded"
    assert not MediaFolder.objects.filter(user=author, path="refused").exists()
    assert (body["storageLimitBytes"], body["usedBytes"], body["reservedBytes"],
            body["headroomBytes"], body["requestedBytes"]) == (1000, 600, 0, 400, 500)
    assert MediaFile.objects.filter(user=author).count() == 1
    assert StoredFile.objects.filter(owner_user=author).count() == 1
    assert storage.stored_keys() == keys
    assert_usage_matches_files(author)
    assert StorageUsage.objects.get(user=author).total_bytes == 600
    # what fits still fits
    assert upload(fake_png(400)).status_code == 201
    assert StorageUsage.objects.get(user=author).total_bytes == 1000


def test_the_limit_is_per_user(upload: Upload, author: User, settings: Any,
                               other_client: APIClient, local_storage: LibraryStorage) -> None:
    tiny_tier(settings, author, 100)
    problem(upload(fake_png(200)), 413)
    assert upload(fake_png(200), as_client=other_client).status_code == 201


# -- deduplication ------------------------------------------------------------------------


def test_same_bytes_twice_return_the_existing_file(upload: Upload, author: User,
                                                   storage: LibraryStorage) -> None:
    first = upload(PNG, altText="first").json()
    keys = storage.stored_keys()
    again = upload(PNG, filename="other-name.jpg", content_type="image/jpeg", altText="second")
    assert again.status_code == 200, again.content
    body = again.json()
    assert body["id"] == first["id"] and body["duplicateOf"] == first["id"]
    assert body["altText"] == "first" and body["originalFilename"] == "photo.png"
    assert MediaFile.objects.filter(user=author).count() == 1
    assert StoredFile.objects.filter(owner_user=author).count() == 1
    assert storage.stored_keys() == keys  # the second copy's bytes were dropped
    assert_usage_matches_files(author)
    assert quota.ledger_for(author, QUOTA_BUCKET).used_bytes == len(PNG)


def test_dedup_is_per_user(upload: Upload, author: User, other_client: APIClient,
                           local_storage: LibraryStorage) -> None:
    mine = upload(PNG).json()
    theirs = upload(PNG, as_client=other_client)
    assert theirs.status_code == 201 and theirs.json()["id"] != mine["id"]
    assert theirs.json()["duplicateOf"] is None
    assert MediaFile.objects.count() == 2


def test_after_the_first_is_deleted_the_same_bytes_make_a_new_file(
        upload: Upload, client: APIClient, author: User, local_storage: LibraryStorage) -> None:
    first = upload(PNG).json()
    assert client.delete(f"/v1/media/{first['id']}").status_code == 204
    again = upload(PNG)
    assert again.status_code == 201, again.content
    assert again.json()["id"] != first["id"] and again.json()["duplicateOf"] is None
    assert MediaFile.objects.filter(user=author).count() == 2
    # the binned file still occupies storage until it is purged
    assert StorageUsage.objects.get(user=author).total_bytes == 2 * len(PNG)
    assert_usage_matches_files(author)


def test_a_duplicate_costs_nothing_even_at_the_limit(upload: Upload, author: User,
                                                     settings: Any,
                                                     local_storage: LibraryStorage) -> None:
    """The bytes are already stored: uploading them again needs no headroom."""
    tiny_tier(settings, author, len(PNG) + 10)
    first = upload(PNG).json()
    again = upload(PNG, filename="again.png")
    assert again.status_code == 200, again.content
    assert again.json()["duplicateOf"] == first["id"]
    assert_usage_matches_files(author)


def test_a_duplicate_of_a_held_file_does_not_reveal_it(upload: Upload, client: APIClient,
                                                       author: User,
                                                       local_storage: LibraryStorage) -> None:
    """Quarantined files are hidden from their owner: an upload's answer never names a
    file its owner then cannot read."""
    held = upload(EICAR, filename="a.txt", content_type="text/plain", process=True).json()
    assert MediaFile.objects.get(pk=held["id"]).is_quarantined
    again = upload(EICAR, filename="a.txt", content_type="text/plain")
    assert again.status_code in (200, 201), again.content
    assert again.json()["isQuarantined"] is False
    assert client.get(f"/v1/media/{again.json()['id']}").status_code == 200


def in_threads(count: int, work: Callable[[int], Any]) -> list[Any]:
    """``work(i)`` in ``count`` threads released together, each with its own database
    connection (closed at the end); an exception is re-raised here."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = work(index)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    if errors:
        raise errors[0]
    return results


@pytest.mark.django_db(transaction=True)
def test_concurrent_identical_uploads_make_one_file(author: User,
                                                    local_storage: LibraryStorage) -> None:
    data = png(11)  # a real image: the winner's scan and processing run after its commit

    def post(index: int) -> tuple[int, dict[str, Any]]:
        api = APIClient()
        api.force_authenticate(author)
        response = api.post("/v1/media/upload",
                            {"file": SimpleUploadedFile(f"copy{index}.png", data, "image/png")},
                            format="multipart")
        return response.status_code, response.json()

    results = in_threads(4, post)
    statuses = sorted(status for status, _ in results)
    assert statuses == [200, 200, 200, 201], results
    assert len({body["id"] for _, body in results}) == 1
    assert MediaFile.objects.filter(user=author).count() == 1
    stored = StoredFile.objects.get(owner_user=author)
    variants = set(stored.variants.values_list("key", flat=True))
    assert local_storage.stored_keys() - variants == {stored.key}
    local_storage.assert_consistent()
    assert_usage_matches_files(author)
    variant_bytes = sum(stored.variants.values_list("size", flat=True))
    assert StorageUsage.objects.get(user=author).total_bytes == len(data) + variant_bytes


# -- the scanner ------------------------------------------------------------------------


def test_an_infected_upload_is_held_then_released(
        upload: Upload, client: APIClient, admin_client: APIClient, admin_user: User,
        author: User, storage: LibraryStorage, django_capture_on_commit_callbacks: Any) -> None:
    created = upload(EICAR, filename="notes.txt", content_type="text/plain", process=True)
    assert created.status_code == 201, created.content
    media_id, public_url = created.json()["id"], created.json()["publicUrl"]
    media = MediaFile.objects.get(pk=media_id)
    assert (media.scan_status, media.is_quarantined) == ("INFECTED", True)
    assert "Eicar" in (media.scan_result or "")
    # hidden from its owner, and never served
    assert media_id not in [f["id"] for f in client.get("/v1/media").json()["data"]]
    assert client.get("/v1/media").json()["total"] == 0
    problem(client.get(f"/v1/media/{media_id}"), 404)
    assert client.get(public_url).status_code == 404
    # shown to admins
    held = admin_client.get("/v1/admin/media/quarantined").json()
    assert [(f["id"], f["scanStatus"], f["isQuarantined"]) for f in held["data"]] == [
        (media_id, "INFECTED", True)]
    # released after review: clean, processed, served; the decision is in the audit log
    with django_capture_on_commit_callbacks(execute=True):
        released = admin_client.post(f"/v1/admin/media/{media_id}/release",
                                     {"reason": "a test signature"}, format="json")
    assert released.status_code == 200, released.content
    assert (released.json()["scanStatus"], released.json()["isQuarantined"]) == ("CLEAN", False)
    shown = client.get(f"/v1/media/{media_id}")
    assert shown.status_code == 200
    assert (shown.json()["scanStatus"], shown.json()["isProcessed"]) == ("CLEAN", True)
    redirect = client.get(public_url)
    assert redirect.status_code == 302
    fetched = storage.fetch(redirect["Location"])
    assert (fetched.status, fetched.body) == (200, EICAR)
    decision = StoredFileTransition.objects.get(stored_file=stored_of(media_id),
                                                field="scan_status", to_state="CLEAN")
    assert (decision.from_state, decision.actor_id) == ("INFECTED", admin_user.pk)
    assert "a test signature" in decision.detail
    assert admin_client.get("/v1/admin/media/quarantined").json()["total"] == 0


def test_a_clean_upload_is_processed(upload: Upload, client: APIClient,
                                     local_storage: LibraryStorage) -> None:
    media_id = upload(PNG, process=True).json()["id"]
    body = client.get(f"/v1/media/{media_id}").json()
    assert (body["scanStatus"], body["isQuarantined"], body["isProcessed"]) == (
        "CLEAN", False, True)
    assert (body["width"], body["height"], body["aspectRatio"]) == (64, 48, round(64 / 48, 6))
    assert body["scannedAt"] and body["processedAt"]
    assert body["thumbnailUrl"].startswith(
        f"http://testserver/v1/media/files/{media_id}/")
