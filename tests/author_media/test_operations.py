"""Image operations end to end: optimize, resize and crop as queued operations (Celery
eager; the task runs when the request's after-commit callbacks do), their idempotency,
refused input that changes nothing, the variants listing and its URLs on both storages."""

from __future__ import annotations

import io
from typing import Any

import pytest
from celery.exceptions import Retry
from django.db import OperationalError
from PIL import Image
from rest_framework.test import APIClient

from apps.processing.variants import InvalidOperation
from apps.storage.models import QuotaLedger, ScanStatus, StoredFile, Variant
from author_media import operation_tasks
from author_media.conf import QUOTA_BUCKET
from author_media.links import content_url
from author_media.models import MediaFile, MediaOperation, StorageUsage
from tests.apps.processing import photos
from tests.apps.processing.images import image_bytes
from tests.user_library.conftest import LibraryStorage
from tests.user_library.helpers import PDF, PNG, mp4

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"
BLOATED_JPEG = photos.photo_bytes("JPEG", (320, 240), quality=100)
TINY_PNG = photos.encode(Image.new("RGB", (8, 8), (1, 2, 3)), "PNG", optimize=True)
QUADRANTS = photos.encode(photos.quadrants((120, 80)), "PNG")


@pytest.fixture
def uploaded(upload: Any) -> Any:
    """Upload through the API and let the scan, probe and variants run; the file's id."""

    def make(data: bytes = PNG, filename: str = "photo.png", content_type: str = "image/png",
             *, process: bool = True, as_client: APIClient | None = None) -> str:
        response = upload(data, filename=filename, content_type=content_type,
                          process=process, as_client=as_client)
        assert response.status_code == 201, response.content
        return str(response.json()["id"])

    return make


@pytest.fixture
def ask(client: APIClient, django_capture_on_commit_callbacks: Any) -> Any:
    """POST an operation; the queued task runs once the response is back (as it would
    in the worker after commit)."""

    def post(media_id: str, operation: str, body: Any = None, *,
             as_client: APIClient | None = None) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return (as_client or client).post(f"/v1/media/{media_id}/{operation}",
                                              {} if body is None else body, format="json")

    return post


def decoded(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def fetch_url(client: APIClient, storage: LibraryStorage, url: str) -> bytes:
    """Follow a stable content URL to the storage's signed URL and download it."""
    redirect = client.get(url)
    assert redirect.status_code == 302, redirect.content
    fetched = storage.fetch(redirect["Location"])
    assert fetched.status == 200
    return bytes(fetched.body)


def usage_bytes(user: Any) -> tuple[int, int]:
    """(StorageUsage.totalBytes, the quota ledger's used bytes) of the author's files."""
    ledger = QuotaLedger.objects.get(owner_user=user, bucket=QUOTA_BUCKET)
    return StorageUsage.objects.get(user=user).total_bytes, ledger.used_bytes


# -- each operation end to end ----------------------------------------------------------
def test_resize_end_to_end(uploaded: Any, ask: Any, client: APIClient, author: Any,
                           storage: LibraryStorage) -> None:
    media_id = uploaded(PNG)
    before = usage_bytes(author)

    first = ask(media_id, "resize", {"width": 32})
    assert first.status_code == 202, first.content
    body = first.json()
    assert body["operation"]["type"] == "resize" and body["operation"]["state"] == "queued"
    assert body["operation"]["params"] == {"width": 32, "fit": "contain"}
    assert body["operation"]["finishedAt"] is None and body["operation"]["error"] is None
    assert body["variant"] is None
    assert body["statusUrl"] == (f"http://testserver/v1/media/{media_id}/operations/"
                                 f"{body['operation']['id']}")

    polled = client.get(body["statusUrl"])
    assert polled.status_code == 200
    state = polled.json()
    assert state["operation"]["state"] == "succeeded" and state["operation"]["finishedAt"]
    variant = state["variant"]
    assert (variant["kind"], variant["spec"], variant["format"], variant["mimeType"]) == (
        "resized", "resize-32x24-contain", "png", "image/png")
    assert (variant["width"], variant["height"]) == (32, 24)
    # a PNG is not the configured variant format: the URL names it
    assert variant["url"] == "http://testserver" + content_url(
        int(media_id), variant="resize-32x24-contain", format="png")
    data = fetch_url(client, storage, variant["url"])
    assert len(data) == variant["size"]
    assert decoded(data).format == "PNG" and decoded(data).size == (32, 24)

    again = ask(media_id, "resize", {"width": 32})
    assert again.status_code == 200
    assert again.json()["operation"]["id"] == body["operation"]["id"]
    assert again.json()["variant"] == variant
    assert MediaOperation.objects.count() == 1

    # the variant counts in the author's storage usage (and the quota ledger)
    row = Variant.objects.get(stored_file__media_file__pk=media_id, spec="resize-32x24-contain")
    assert usage_bytes(author) == (before[0] + row.size, before[1] + row.size)
    listed = client.get(f"/v1/media/{media_id}/variants").json()
    assert variant in listed
    storage.assert_consistent()


def test_crop_end_to_end(uploaded: Any, ask: Any, client: APIClient,
                         storage: LibraryStorage) -> None:
    media_id = uploaded(photos.encode(photos.quadrants((120, 80)), "JPEG", quality=95),
                        "q.jpg", "image/jpeg")
    response = ask(media_id, "crop", {"x": 0, "y": 0, "width": 120, "height": 80,
                                      "aspect": 1})
    assert response.status_code == 202, response.content
    assert response.json()["operation"]["params"] == {"x": 0, "y": 0, "width": 120,
                                                      "height": 80, "aspect": 1.0}
    state = client.get(response.json()["statusUrl"]).json()
    assert state["operation"]["state"] == "succeeded"
    variant = state["variant"]
    # the box shrank around its centre to a square; a JPEG gives a WebP by default
    assert (variant["kind"], variant["spec"], variant["format"]) == (
        "cropped", "crop-20-0-80x80", "webp")
    assert variant["url"].endswith(content_url(int(media_id), variant="crop-20-0-80x80"))
    image = decoded(fetch_url(client, storage, variant["url"])).convert("RGB")
    assert image.size == (80, 80)
    assert _near(image.getpixel((5, 5)), photos.CORNERS["top_left"])
    assert _near(image.getpixel((75, 75)), photos.CORNERS["bottom_right"])

    # the same box spelled without the aspect is the same operation, already done
    same = ask(media_id, "crop", {"x": 20, "y": 0, "width": 80, "height": 80})
    assert same.status_code == 200
    assert same.json()["operation"]["id"] == response.json()["operation"]["id"]


def _near(pixel: Any, expected: tuple[int, int, int], tolerance: int = 40) -> bool:
    return all(abs(int(a) - b) <= tolerance for a, b in zip(pixel, expected, strict=True))


def test_optimize_end_to_end(uploaded: Any, ask: Any, client: APIClient, author: Any,
                             storage: LibraryStorage) -> None:
    media_id = uploaded(BLOATED_JPEG, "big.jpg", "image/jpeg")
    assert client.get(f"/v1/media/{media_id}").json()["isOptimized"] is False
    before = usage_bytes(author)

    response = ask(media_id, "optimize")
    assert response.status_code == 202, response.content
    assert response.json()["operation"]["params"] == {}
    state = client.get(response.json()["statusUrl"]).json()
    assert state["operation"]["state"] == "succeeded"
    variant = state["variant"]
    assert (variant["kind"], variant["spec"], variant["format"]) == (
        "optimized", "optimized", "jpeg")
    assert variant["url"].endswith("/optimized.jpeg")

    media = client.get(f"/v1/media/{media_id}").json()
    original = StoredFile.objects.get(media_file__pk=media_id).size
    assert media["isOptimized"] is True
    assert media["originalSize"] == original
    assert media["optimizedSize"] == variant["size"] < original
    assert media["compressionRatio"] == round(variant["size"] / original, 4) < 1
    assert state["optimization"] == {
        "isOptimized": True, "originalSize": original, "optimizedSize": variant["size"],
        "compressionRatio": media["compressionRatio"]}

    data = fetch_url(client, storage, variant["url"])
    assert len(data) == variant["size"]
    assert decoded(data).format == "JPEG" and decoded(data).size == (320, 240)
    assert usage_bytes(author) == (before[0] + variant["size"], before[1] + variant["size"])

    again = ask(media_id, "optimize")
    assert again.status_code == 200 and again.json()["variant"] == variant


def test_optimize_of_an_already_optimal_image(uploaded: Any, ask: Any, client: APIClient,
                                              author: Any, local_storage: LibraryStorage
                                              ) -> None:
    media_id = uploaded(TINY_PNG, "tiny.png")
    before = usage_bytes(author)
    response = ask(media_id, "optimize")
    assert response.status_code == 202
    state = client.get(response.json()["statusUrl"]).json()
    assert state["operation"]["state"] == "succeeded" and state["variant"] is None
    media = client.get(f"/v1/media/{media_id}").json()
    assert media["isOptimized"] is True and media["compressionRatio"] == 1.0
    assert media["originalSize"] == media["optimizedSize"] == len(TINY_PNG)
    assert usage_bytes(author) == before
    assert not Variant.objects.filter(kind="optimized").exists()
    # done: asking again answers at once, with nothing queued
    again = ask(media_id, "optimize")
    assert again.status_code == 200 and again.json()["operation"]["state"] == "succeeded"
    assert MediaOperation.objects.count() == 1


# -- idempotency ------------------------------------------------------------------------
def test_different_parameters_are_different_operations(uploaded: Any, ask: Any,
                                                       local_storage: LibraryStorage) -> None:
    media_id = uploaded(PNG)
    ids = set()
    for body in ({"width": 32}, {"width": 16}, {"width": 32, "format": "webp"},
                 {"width": 32, "height": 32, "fit": "cover"}):
        response = ask(media_id, "resize", body)
        assert response.status_code == 202, (body, response.content)
        ids.add(response.json()["operation"]["id"])
    assert len(ids) == 4 == MediaOperation.objects.filter(state="succeeded").count()
    specs = {(v.spec, v.format) for v in Variant.objects.filter(kind="resized")}
    assert specs == {("resize-32x24-contain", "png"), ("resize-16x12-contain", "png"),
                     ("resize-32x24-contain", "webp"), ("resize-32x32-cover", "png")}
    # the height that follows from the width names the same variant: no new operation
    same = ask(media_id, "resize", {"width": 32, "height": 24, "fit": "contain",
                                    "format": "png"})
    assert same.status_code == 200 and same.json()["operation"]["id"] in ids
    assert MediaOperation.objects.count() == 4


def test_a_queued_operation_is_not_queued_twice(uploaded: Any, client: APIClient,
                                                django_capture_on_commit_callbacks: Any,
                                                local_storage: LibraryStorage) -> None:
    media_id = uploaded(PNG)
    with django_capture_on_commit_callbacks(execute=False) as first_callbacks:
        first = client.post(f"/v1/media/{media_id}/resize", {"width": 20}, format="json")
    with django_capture_on_commit_callbacks(execute=False) as second_callbacks:
        second = client.post(f"/v1/media/{media_id}/resize", {"width": 20}, format="json")
    assert first.status_code == second.status_code == 202
    assert second.json()["operation"] == first.json()["operation"]
    assert len(first_callbacks) == 1 and second_callbacks == []
    first_callbacks[0]()
    assert client.get(first.json()["statusUrl"]).json()["operation"]["state"] == "succeeded"


def test_a_failed_operation_runs_again_when_asked_again(
        uploaded: Any, ask: Any, client: APIClient, monkeypatch: pytest.MonkeyPatch,
        local_storage: LibraryStorage) -> None:
    media_id = uploaded(PNG)

    def refuse(**_: Any) -> None:
        raise InvalidOperation("The engine refused it.")

    with monkeypatch.context() as patched:
        patched.setattr(operation_tasks, "image_resize", refuse)
        failed = ask(media_id, "resize", {"width": 30})
    state = client.get(failed.json()["statusUrl"]).json()["operation"]
    assert state["state"] == "failed" and state["error"] == "The engine refused it."
    assert state["finishedAt"] and not Variant.objects.filter(kind="resized").exists()

    retried = ask(media_id, "resize", {"width": 30})
    assert retried.status_code == 202
    assert retried.json()["operation"]["id"] == state["id"]
    assert retried.json()["operation"]["state"] == "queued"
    done = client.get(retried.json()["statusUrl"]).json()
    assert done["operation"]["state"] == "succeeded" and done["operation"]["error"] is None
    assert done["variant"]["spec"] == "resize-30x22-contain"


def test_a_lost_variant_is_made_again(uploaded: Any, ask: Any, client: APIClient,
                                      local_storage: LibraryStorage) -> None:
    media_id = uploaded(PNG)
    first = ask(media_id, "resize", {"width": 24}).json()
    Variant.objects.filter(spec="resize-24x18-contain").delete()
    again = ask(media_id, "resize", {"width": 24})
    assert again.status_code == 202
    assert again.json()["operation"]["id"] == first["operation"]["id"]
    state = client.get(first["statusUrl"]).json()
    assert state["operation"]["state"] == "succeeded" and state["variant"] is not None


def test_transient_failures_are_retried(uploaded: Any, client: APIClient,
                                        django_capture_on_commit_callbacks: Any,
                                        monkeypatch: pytest.MonkeyPatch,
                                        local_storage: LibraryStorage) -> None:
    media_id = uploaded(PNG)
    real = operation_tasks.image_resize
    calls: list[int] = []

    def flaky(**kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("the database went away")
        return real(**kwargs)

    monkeypatch.setattr(operation_tasks, "image_resize", flaky)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(f"/v1/media/{media_id}/resize", {"width": 40}, format="json")
    operation_id = response.json()["operation"]["id"]
    with pytest.raises(Retry):  # the task base schedules a retry with backoff
        callbacks[0]()
    assert MediaOperation.objects.get(pk=operation_id).state == "running"
    # the retry, as a worker runs it after the backoff
    retry = operation_tasks.media_operation_run.apply(kwargs={"operation_id": operation_id},
                                                      retries=1)
    assert retry.get() == "succeeded" and len(calls) == 2
    assert client.get(response.json()["statusUrl"]).json()["variant"]["width"] == 40


def test_failures_past_the_retries_fail_the_operation(uploaded: Any, client: APIClient,
                                                      django_capture_on_commit_callbacks: Any,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      local_storage: LibraryStorage) -> None:
    media_id = uploaded(PNG)

    def down(**_: Any) -> None:
        raise OperationalError("the database went away")

    monkeypatch.setattr(operation_tasks, "image_resize", down)
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(f"/v1/media/{media_id}/resize", {"width": 40}, format="json")
    task = operation_tasks.media_operation_run
    last = task.apply(kwargs={"operation_id": response.json()["operation"]["id"]},
                      retries=task.max_retries)
    assert last.get() == "failed"
    state = client.get(response.json()["statusUrl"]).json()["operation"]
    assert state["state"] == "failed" and "unavailable" in state["error"]


def test_an_unexpected_error_fails_the_operation(uploaded: Any, ask: Any, client: APIClient,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 local_storage: LibraryStorage) -> None:
    media_id = uploaded(PNG)

    def broken(**_: Any) -> None:
        raise KeyError("bug")

    monkeypatch.setattr(operation_tasks, "image_resize", broken)
    response = ask(media_id, "resize", {"width": 40})
    state = client.get(response.json()["statusUrl"]).json()["operation"]
    assert state == {**state, "state": "failed", "error": "The image could not be processed."}


def test_a_file_deleted_before_the_task_runs_fails_it(
        uploaded: Any, client: APIClient, django_capture_on_commit_callbacks: Any,
        local_storage: LibraryStorage) -> None:
    media_id = uploaded(PNG)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(f"/v1/media/{media_id}/resize", {"width": 20}, format="json")
    assert client.delete(f"/v1/media/{media_id}").status_code in (200, 204)
    for callback in callbacks:
        callback()
    operation = MediaOperation.objects.get(pk=response.json()["operation"]["id"])
    assert operation.state == "failed" and "deleted" in operation.error
    assert not Variant.objects.filter(kind="resized").exists()


# -- refused input changes nothing ------------------------------------------------------
@pytest.mark.parametrize("operation, body, field", [
    ("resize", {}, "width"),
    ("resize", {"width": -1}, "width"),
    ("resize", {"width": 0}, "width"),
    ("resize", {"height": 0}, "height"),
    ("resize", {"width": 8193}, "width"),
    ("resize", {"width": "32"}, "width"),
    ("resize", {"width": 32.5}, "width"),
    ("resize", {"width": True}, "width"),
    ("resize", {"width": 32, "fit": "stretch"}, "fit"),
    ("resize", {"width": 32, "format": "gif"}, "format"),
    ("resize", {"height": 8000}, "height"),  # the width it implies is over 8192
    ("resize", [32], None),  # not an object: a 400 without field errors
    ("crop", {}, "x"),
    ("crop", {"x": -1, "y": 0, "width": 10, "height": 10}, "x"),
    ("crop", {"x": 0, "y": -5, "width": 10, "height": 10}, "y"),
    ("crop", {"x": 0, "y": 0, "width": 0, "height": 10}, "width"),
    ("crop", {"x": 0, "y": 0, "width": 10, "height": -10}, "height"),
    ("crop", {"x": 64, "y": 0, "width": 1, "height": 1}, "x"),
    ("crop", {"x": 0, "y": 48, "width": 1, "height": 1}, "y"),
    ("crop", {"x": 60, "y": 0, "width": 10, "height": 10}, "width"),
    ("crop", {"x": 0, "y": 0, "width": 64, "height": 49}, "height"),
    ("crop", {"x": 0, "y": 0, "width": 10, "height": 10, "aspect": 0}, "aspect"),
    ("crop", {"x": 0, "y": 0, "width": 10, "height": 10, "aspect": 0.001}, "aspect"),
    ("crop", {"x": 0, "y": 0, "width": 10, "height": 10, "aspect": 101}, "aspect"),
    ("crop", {"x": 0, "y": 0, "width": 10, "height": 10, "aspect": "1"}, "aspect"),
    ("crop", {"x": "0", "y": 0, "width": 10, "height": 10}, "x"),
    ("crop", {"x": 0, "y": 0, "width": 10, "height": 10, "format": "bmp"}, "format"),
])
def test_invalid_parameters_are_refused_and_change_nothing(
        uploaded: Any, ask: Any, author: Any, local_storage: LibraryStorage,
        operation: str, body: Any, field: str | None) -> None:
    media_id = uploaded(PNG)  # 64x48
    keys, variants, before = local_storage.stored_keys(), Variant.objects.count(), \
        usage_bytes(author)
    response = ask(media_id, operation, body)
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == PROBLEM
    problem = response.json()
    assert problem["status"] == 400 and problem["code"] == "validation_error"
    if field is None:
        assert "Expected a dictionary" in problem["detail"]
    else:
        assert field in problem["errors"], problem
    assert not MediaOperation.objects.exists()
    assert Variant.objects.count() == variants and local_storage.stored_keys() == keys
    assert usage_bytes(author) == before


@pytest.mark.parametrize("operation", ["optimize", "resize", "crop"])
def test_files_that_are_not_images_are_refused(uploaded: Any, ask: Any,
                                               local_storage: LibraryStorage,
                                               operation: str) -> None:
    body = {"width": 10} if operation == "resize" else \
        {"x": 0, "y": 0, "width": 1, "height": 1} if operation == "crop" else {}
    for data, filename, mime in ((PDF, "doc.pdf", "application/pdf"),
                                 (mp4(), "clip.mp4", "video/mp4")):
        media_id = uploaded(data, filename, mime)
        response = ask(media_id, operation, body)
        assert response.status_code == 422, response.content
        assert response["Content-Type"] == PROBLEM
        assert response.json()["code"] == "not_an_image"
        assert mime in response.json()["detail"]
    assert not MediaOperation.objects.exists()


def test_another_users_file_is_not_found(uploaded: Any, ask: Any, other_client: APIClient,
                                         client: APIClient,
                                         local_storage: LibraryStorage) -> None:
    media_id = uploaded(PNG)
    mine = ask(media_id, "resize", {"width": 20}).json()
    for operation, body in (("optimize", {}), ("resize", {"width": 10}),
                            ("crop", {"x": 0, "y": 0, "width": 5, "height": 5})):
        response = ask(media_id, operation, body, as_client=other_client)
        assert response.status_code == 404 and response["Content-Type"] == PROBLEM
    assert other_client.get(f"/v1/media/{media_id}/variants").status_code == 404
    assert other_client.get(mine["statusUrl"]).status_code == 404
    assert MediaOperation.objects.count() == 1
    for missing in ("999999", "abc"):
        assert client.post(f"/v1/media/{missing}/optimize").status_code == 404


def test_operation_ids_are_checked(uploaded: Any, ask: Any, client: APIClient,
                                   local_storage: LibraryStorage) -> None:
    first = uploaded(PNG)
    second = uploaded(image_bytes("PNG", (30, 20), color=(1, 200, 1)), "other.png")
    operation = ask(first, "resize", {"width": 20}).json()["operation"]["id"]
    assert client.get(f"/v1/media/{first}/operations/{operation}").status_code == 200
    assert client.get(f"/v1/media/{second}/operations/{operation}").status_code == 404
    assert client.get(f"/v1/media/{first}/operations/not-a-uuid").status_code == 404


def test_a_file_not_yet_scanned_is_a_conflict(uploaded: Any, ask: Any,
                                              local_storage: LibraryStorage) -> None:
    media_id = uploaded(PNG, process=False)  # the scan has not run
    response = ask(media_id, "resize", {"width": 10})
    assert response.status_code == 409 and response["Content-Type"] == PROBLEM
    assert response.json()["code"] == "media_not_cleared"
    assert response.json()["scanStatus"] == ScanStatus.PENDING
    assert not MediaOperation.objects.exists()


def test_a_file_not_yet_measured_is_a_conflict(uploaded: Any, ask: Any,
                                               local_storage: LibraryStorage) -> None:
    media_id = uploaded(PNG)
    StoredFile.objects.filter(media_file__pk=media_id).update(processing_state="processing",
                                                              width=None, height=None)
    response = ask(media_id, "optimize")
    assert response.status_code == 409 and response.json()["code"] == "media_not_processed"


def test_an_image_the_probe_refused_is_unprocessable(uploaded: Any, ask: Any,
                                                     local_storage: LibraryStorage) -> None:
    media_id = uploaded(PNG[:60], "cut.png")  # truncated: the probe fails it
    assert StoredFile.objects.get(media_file__pk=media_id).processing_state == "failed"
    response = ask(media_id, "resize", {"width": 10})
    assert response.status_code == 422 and response.json()["code"] == "image_unreadable"


def test_a_quarantined_file_is_a_conflict_for_an_admin(
        uploaded: Any, ask: Any, admin_client: APIClient, client: APIClient,
        local_storage: LibraryStorage) -> None:
    admins = uploaded(PNG, as_client=admin_client)
    authors = uploaded(image_bytes("PNG", (30, 20), color=(1, 2, 200)), "mine.png")
    for media_id in (admins, authors):
        StoredFile.objects.filter(media_file__pk=media_id).update(
            scan_status=ScanStatus.FLAGGED, is_quarantined=True)
        MediaFile.objects.filter(pk=media_id).update(scan_status=ScanStatus.FLAGGED,
                                                     is_quarantined=True)
    response = ask(admins, "optimize", as_client=admin_client)
    assert response.status_code == 409 and response.json()["code"] == "media_not_cleared"
    assert response.json()["isQuarantined"] is True
    # its owner no longer sees a quarantined file at all
    assert ask(authors, "optimize").status_code == 404
    assert not MediaOperation.objects.exists()


# -- the variants listing ---------------------------------------------------------------
def test_variants_list_every_fresh_variant_with_working_urls(
        uploaded: Any, ask: Any, client: APIClient, storage: LibraryStorage) -> None:
    media_id = uploaded(QUADRANTS, "q.png")
    ask(media_id, "resize", {"width": 60, "format": "avif"})
    ask(media_id, "crop", {"x": 60, "y": 40, "width": 60, "height": 40})
    response = client.get(f"/v1/media/{media_id}/variants")
    assert response.status_code == 200
    listed = response.json()
    stored = StoredFile.objects.get(media_file__pk=media_id)
    rows = {(v.spec, v.format): v for v in stored.variants.all()}
    assert {(v["spec"], v["format"]) for v in listed} == set(rows) == {
        ("thumb-256", "webp"), ("thumb-256", "avif"), ("preview-1024", "webp"),
        ("resize-60x40-contain", "avif"), ("crop-60-40-60x40", "png")}
    for item in listed:
        row = rows[(item["spec"], item["format"])]
        assert (item["kind"], item["mimeType"], item["width"], item["height"],
                item["size"]) == (row.kind, row.mime_type, row.width, row.height, row.size)
        assert item["url"].startswith("http://testserver/v1/media/files/")
        assert fetch_url(client, storage, item["url"]) == storage.read(row.key)
    body = client.get(f"/v1/media/{media_id}").json()
    thumbnail = next(v for v in listed if (v["spec"], v["format"]) == ("thumb-256", "webp"))
    assert thumbnail["url"] == body["thumbnailUrl"]


def test_variants_of_older_bytes_are_not_listed(uploaded: Any, ask: Any, client: APIClient,
                                                local_storage: LibraryStorage) -> None:
    media_id = uploaded(PNG)
    ask(media_id, "resize", {"width": 20})
    assert any(v["kind"] == "resized"
               for v in client.get(f"/v1/media/{media_id}/variants").json())
    Variant.objects.filter(kind="resized").update(source_sha256="0" * 64)
    assert not any(v["kind"] == "resized"
                   for v in client.get(f"/v1/media/{media_id}/variants").json())


def test_a_document_has_no_variants(uploaded: Any, client: APIClient,
                                    local_storage: LibraryStorage) -> None:
    media_id = uploaded(PDF, "doc.pdf", "application/pdf")
    response = client.get(f"/v1/media/{media_id}/variants")
    assert response.status_code == 200 and response.json() == []


def test_a_variant_url_names_an_existing_format(uploaded: Any, ask: Any, client: APIClient,
                                                local_storage: LibraryStorage) -> None:
    media_id = int(uploaded(PNG))
    ask(str(media_id), "resize", {"width": 20})
    spec = "resize-20x15-contain"
    assert client.get(content_url(media_id, variant=spec, format="png")).status_code == 302
    assert client.get(content_url(media_id, variant=spec, format="webp")).status_code == 404
    assert client.get(content_url(media_id, variant=spec)).status_code == 404  # webp
    assert client.get(content_url(media_id, variant=spec) + ".gif").status_code == 404
    # the configured variants keep their plain URLs, and the format-named ones too
    assert client.get(content_url(media_id, variant="thumb-256")).status_code == 302
    assert client.get(content_url(media_id, variant="thumb-256", format="avif")
                      ).status_code == 302
    bad_token = content_url(media_id + 1, variant=spec, format="png").replace(
        f"/{media_id + 1}/", f"/{media_id}/")
    assert client.get(bad_token).status_code == 404
