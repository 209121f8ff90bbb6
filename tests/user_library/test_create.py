"""``POST /api/library``: multipart or JSON (base64 / data: URL), limits, and refusals
that leave nothing behind (no row, no file, no bytes, no charge)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from apps.storage.models import BlobTombstone, QuotaReservation, StoredFile
from tests.user_library.conftest import LibraryStorage
from tests.user_library.helpers import (
    HTML,
    ITEM_FIELDS,
    JPEG,
    PDF,
    PNG,
    QUOTA_EXCEEDED,
    SVG,
    WEBP,
    b64,
    ledger_state,
    mp4,
    set_limit,
)
from user_library.models import LibraryItem

pytestmark = pytest.mark.django_db

EMPTY_LEDGER = (0, 0, 0, 0, 0)


def post_json(client: APIClient, body: Any) -> Any:
    return client.post("/api/library", body, format="json")


def post_file(client: APIClient, data: bytes, *, name: str = "out.png",
              content_type: str = "image/png", **fields: Any) -> Any:
    payload = {"file": SimpleUploadedFile(name, data, content_type), **fields}
    return client.post("/api/library", payload, format="multipart")


def assert_nothing_stored(user: Any, storage: LibraryStorage) -> None:
    assert not LibraryItem.objects.exists()
    assert not StoredFile.objects.exists()
    assert ledger_state(user) == EMPTY_LEDGER
    assert not QuotaReservation.objects.exists()
    assert storage.stored_keys() == set()
    assert not BlobTombstone.objects.exists()


def path_pattern(user: Any, extension: str) -> re.Pattern[str]:
    return re.compile(rf"^user-media/{user.pk}/\d{{13}}-[a-z0-9]{{8}}\.{extension}$")


# -- accepted -----------------------------------------------------------------------------

def test_json_base64_creates_an_item(auth_client: APIClient, user: Any,
                                     storage: LibraryStorage,
                                     django_capture_on_commit_callbacks: Any) -> None:
    metadata = {"prompt": "studio shot", "model": "gemini-2.0-flash-exp", "seed": 7,
                "aspect_ratio": "1:1", "style": "studio", "platform": "amazon", "x": None}
    with django_capture_on_commit_callbacks(execute=True):
        response = post_json(auth_client, {"fileData": b64(PNG), "mimeType": "image/png",
                                           "source": "product-enhance", "metadata": metadata})
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"success", "item"} and body["success"] is True
    item = body["item"]
    assert set(item) == ITEM_FIELDS
    assert (item["media_type"], item["source"], item["mime_type"], item["file_size"]) == (
        "image", "product-enhance", "image/png", len(PNG))
    assert item["metadata"] == metadata
    assert path_pattern(user, "png").match(item["storage_path"])
    row = LibraryItem.objects.select_related("stored_file").get(pk=item["id"])
    assert row.user_id == user.pk and row.stored_file.key == item["storage_path"]
    assert storage.read(item["storage_path"]) == PNG
    assert ledger_state(user) == (len(PNG), 0, 1, 1, 0)  # variants are not charged
    # the scan and the processing ran once the request committed
    listed = auth_client.get(f"/api/library/{item['id']}").json()["item"]
    assert listed["status"] == "ready" and storage.fetch(listed["signed_url"]).body == PNG
    assert row.stored_file.variants.count() == 3  # thumb-256 webp + avif, preview-1024 webp
    storage.assert_consistent()


def test_a_data_url_gives_the_type(auth_client: APIClient, user: Any) -> None:
    response = post_json(auth_client, {"fileData": f"data:image/jpeg;base64,{b64(JPEG)}",
                                       "source": "generate"})
    assert response.status_code == 201, response.content
    item = response.json()["item"]
    assert item["mime_type"] == "image/jpeg" and item["file_size"] == len(JPEG)
    assert path_pattern(user, "jpg").match(item["storage_path"])
    # a data: URL and a mimeType that agree
    same = post_json(auth_client, {"fileData": f"data:image/png;base64,{b64(PNG)}",
                                   "mimeType": "image/png", "source": "generate"})
    assert same.status_code == 201


def test_base64_with_line_breaks_is_accepted(auth_client: APIClient, user: Any) -> None:
    text = b64(PNG)
    wrapped = "\n".join(text[i:i + 76] for i in range(0, len(text), 76))
    response = post_json(auth_client, {"fileData": wrapped, "mimeType": "image/png",
                                       "source": "generate"})
    assert response.status_code == 201, response.content
    assert response.json()["item"]["file_size"] == len(PNG)
    assert ledger_state(user)[0] == len(PNG)


def test_multipart_upload_creates_an_item(auth_client: APIClient, user: Any,
                                          storage: LibraryStorage) -> None:
    response = post_file(auth_client, WEBP, name="result.webp", content_type="image/webp",
                         source="angles", metadata=json.dumps({"seed": 1, "style": "flat"}))
    assert response.status_code == 201, response.content
    item = response.json()["item"]
    assert (item["source"], item["mime_type"], item["file_size"]) == (
        "angles", "image/webp", len(WEBP))
    assert item["metadata"] == {"seed": 1, "style": "flat"}
    assert path_pattern(user, "webp").match(item["storage_path"])
    assert storage.read(item["storage_path"]) == WEBP
    assert ledger_state(user) == (len(WEBP), 0, 1, 1, 0)


def test_a_multipart_video_with_its_media_type(auth_client: APIClient, user: Any) -> None:
    response = post_file(auth_client, mp4(), name="clip.mp4", content_type="video/mp4",
                         source="fashion-motion", media_type="video")
    assert response.status_code == 201, response.content
    item = response.json()["item"]
    assert (item["media_type"], item["mime_type"]) == ("video", "video/mp4")
    assert path_pattern(user, "mp4").match(item["storage_path"])
    assert ledger_state(user) == (len(mp4()), 0, 1, 0, 1)


@pytest.mark.parametrize("declared", ["application/octet-stream", "image/png; charset=binary",
                                      "IMAGE/PNG", "image/x-png"])
def test_declared_types_that_agree_or_say_nothing(auth_client: APIClient, declared: str) -> None:
    response = post_file(auth_client, PNG, content_type=declared, source="generate")
    assert response.status_code == 201, response.content


def test_media_type_may_be_given_in_camel_case(auth_client: APIClient) -> None:
    ok = post_json(auth_client, {"fileData": b64(PNG), "mimeType": "image/png",
                                 "source": "generate", "mediaType": "image"})
    assert ok.status_code == 201
    wrong = post_json(auth_client, {"fileData": b64(PNG), "mimeType": "image/png",
                                    "source": "generate", "mediaType": "video"})
    assert wrong.status_code == 400


# -- refused: 400, nothing changed -------------------------------------------------------

def base(**changes: Any) -> dict[str, Any]:
    body = {"fileData": b64(PNG), "mimeType": "image/png", "source": "generate"}
    body.update(changes)
    return {k: v for k, v in body.items() if v is not ...}


BAD_JSON = {
    "not-base64": base(fileData="!!!!not base64!!!!"),
    "base64-bad-length": base(fileData=b64(PNG)[:-1]),
    "base64-padding-inside": base(fileData="QQ==" + b64(PNG)),
    "base64-excess-padding": base(fileData=b64(PNG) + "===="),
    "base64-excess-padding-of-whole-quads": base(fileData=b64(JPEG + b"\0") + "===="),
    "base64-non-ascii": base(fileData="QUJD" * 3 + "é===" ),
    "base64-url-safe-alphabet": base(fileData=b64(b"\xfb\xff" + PNG).replace("+", "-")
                                     .replace("/", "_")),
    "file-data-empty": base(fileData=""),
    "file-data-null": base(fileData=None),
    "file-data-number": base(fileData=12345678),
    "file-data-empty-data-url": base(fileData="data:image/png;base64,"),
    "mime-type-number": base(mimeType=5),
    "html-as-png": base(fileData=b64(HTML)),
    "html-untyped": base(fileData=b64(HTML), mimeType=...),
    "pdf-as-jpeg": base(fileData=b64(PDF), mimeType="image/jpeg"),
    "svg-as-svg": base(fileData=b64(SVG), mimeType="image/svg+xml"),
    "svg-as-png": base(fileData=b64(SVG)),
    "text": base(fileData=b64(b"just some text\n"), mimeType="text/plain"),
    "png-declared-mp4": base(mimeType="video/mp4"),
    "data-url-type-contradicts-mime-type": base(fileData=f"data:image/jpeg;base64,{b64(PNG)}"),
    "unknown-source": base(source="photoshop"),
    "missing-source": base(source=...),
    "source-not-a-string": base(source=["generate"]),
    "unknown-media-type": base(media_type="audio"),
    "metadata-seed-string": base(metadata={"seed": "x"}),
    "metadata-prompt-number": base(metadata={"prompt": 5}),
    "metadata-seed-fraction": base(metadata={"seed": 1.5}),
    "metadata-seed-bool": base(metadata={"seed": True}),
    "metadata-negative-duration": base(metadata={"duration_seconds": -1}),
    "metadata-list": base(metadata=[1, 2]),
    "metadata-number": base(metadata=5),
    "metadata-not-json-text": base(metadata="{prompt: x}"),
    "metadata-json-text-of-a-list": base(metadata="[1]"),
    "metadata-too-long-model": base(metadata={"model": "m" * 201}),
}


@pytest.mark.parametrize("body", list(BAD_JSON.values()), ids=list(BAD_JSON))
def test_bad_json_input_is_400_and_changes_nothing(auth_client: APIClient, user: Any,
                                                   local_storage: LibraryStorage,
                                                   body: dict[str, Any]) -> None:
    response = post_json(auth_client, body)
    assert response.status_code == 400, response.content
    error = response.json()
    assert set(error) == {"success", "error"} and error["success"] is False
    assert error["error"]
    assert_nothing_stored(user, local_storage)


# Refusals decided once the bytes are in storage (the type they really are is known only
# after the first bytes): the upload is discarded again, on both storages.
LATE = {
    "png-declared-jpeg": base(mimeType="image/jpeg"),
    "jpeg-declared-png": base(fileData=b64(JPEG), mimeType="image/png"),
    "png-declared-webp": base(mimeType="image/webp"),
    "png-data-url-claims-jpeg": base(fileData=f"data:image/jpeg;base64,{b64(PNG)}",
                                     mimeType=...),
    "image-said-to-be-video": base(media_type="video"),
    "video-said-to-be-image": base(fileData=b64(mp4()), mimeType="video/mp4",
                                   media_type="image"),
}


@pytest.mark.parametrize("body", list(LATE.values()), ids=list(LATE))
def test_contradictions_found_after_upload_leave_nothing(auth_client: APIClient, user: Any,
                                                         storage: LibraryStorage,
                                                         body: dict[str, Any]) -> None:
    response = post_json(auth_client, body)
    assert response.status_code == 400, response.content
    assert response.json()["success"] is False
    assert_nothing_stored(user, storage)


def test_the_errors_say_what_is_wrong(auth_client: APIClient) -> None:
    cases = {
        "mimeType is image/jpeg but the file is image/png": base(mimeType="image/jpeg"),
        "media_type is video but the file is an image": base(media_type="video"),
        "metadata.seed must be an integer": base(metadata={"seed": "x"}),
        "metadata.prompt must be a string": base(metadata={"prompt": 5}),
        "metadata must be a JSON object": base(metadata=[1]),
        "fileData is not valid base64": base(fileData="!!!!"),
        "source must be one of: product-enhance, fashion-motion, generate, angles":
            base(source="x"),
    }
    for message, body in cases.items():
        assert post_json(auth_client, body).json() == {"success": False, "error": message}


def test_a_late_invalid_base64_slice_is_400_and_leaves_nothing(
        auth_client: APIClient, user: Any, storage: LibraryStorage, monkeypatch: Any) -> None:
    """Base64 is decoded slice by slice while storage pulls it: a bad character far
    past the sniffed head fails the upload mid-stream, and the partial object goes."""
    monkeypatch.setattr("user_library.upload_input.SLICE_CHARS", 1024)
    text = b64(PNG + bytes(30_000))
    broken = text[:20_000] + "*" + text[20_001:]
    response = post_json(auth_client, base(fileData=broken))
    assert response.status_code == 400
    assert response.json() == {"success": False, "error": "fileData is not valid base64"}
    assert_nothing_stored(user, storage)


@pytest.mark.parametrize(("body", "content_type"), [
    ([{"fileData": "x"}], "json"),
    ("{not json", "raw"),
], ids=["json-array", "malformed-json"])
def test_a_body_that_is_not_a_json_object_is_400(auth_client: APIClient, user: Any,
                                                 local_storage: LibraryStorage, body: Any,
                                                 content_type: str) -> None:
    if content_type == "json":
        response = auth_client.post("/api/library", body, format="json")
    else:
        response = auth_client.post("/api/library", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["success"] is False
    assert_nothing_stored(user, local_storage)


def test_missing_file_is_400(auth_client: APIClient, user: Any,
                             local_storage: LibraryStorage) -> None:
    for response in (post_json(auth_client, {"mimeType": "image/png", "source": "generate"}),
                     auth_client.post("/api/library", {"source": "generate"},
                                      format="multipart")):
        assert response.status_code == 400
        assert response.json() == {
            "success": False,
            "error": "file: Send a file (multipart 'file') or base64 'fileData' with "
                     "'mimeType'."}
    assert_nothing_stored(user, local_storage)


MULTIPART_BAD = {
    "png-sent-as-jpeg": {"data": PNG, "name": "a.jpg", "content_type": "image/jpeg"},
    "html-sent-as-png": {"data": HTML, "name": "a.png", "content_type": "image/png"},
    "pdf-sent-as-png": {"data": PDF, "name": "a.png", "content_type": "image/png"},
    "empty-file": {"data": b"", "name": "a.png", "content_type": "image/png"},
    "bad-metadata": {"data": PNG, "metadata": "not json"},
    "metadata-array": {"data": PNG, "metadata": "[1, 2]"},
    "unknown-source": {"data": PNG, "source": "other"},
    "media-type-mismatch": {"data": PNG, "media_type": "video"},
}


@pytest.mark.parametrize("case", list(MULTIPART_BAD.values()), ids=list(MULTIPART_BAD))
def test_bad_multipart_input_is_400_and_changes_nothing(auth_client: APIClient, user: Any,
                                                        storage: LibraryStorage,
                                                        case: dict[str, Any]) -> None:
    fields = {"source": "generate", **case}
    data = fields.pop("data")
    response = post_file(auth_client, data, **fields)
    assert response.status_code == 400, response.content
    assert response.json()["success"] is False
    assert_nothing_stored(user, storage)


# -- limits: 413 --------------------------------------------------------------------------

def test_over_quota_is_413_and_changes_nothing(auth_client: APIClient, user: Any,
                                               storage: LibraryStorage) -> None:
    set_limit(user, len(PNG) + len(JPEG))
    assert post_json(auth_client, base()).status_code == 201
    assert post_file(auth_client, JPEG, name="b.jpg", content_type="image/jpeg",
                     source="generate").status_code == 201  # exactly at the limit
    state, keys = ledger_state(user), storage.stored_keys()
    assert state == (len(PNG) + len(JPEG), 0, 2, 2, 0)
    for response in (post_json(auth_client, base()),
                     post_file(auth_client, PNG, source="generate"),
                     post_json(auth_client, base(fileData=b64(b"\x89PNG\r\n\x1a\n"))),):
        assert response.status_code == 413
        assert response.json() == QUOTA_EXCEEDED
    assert ledger_state(user) == state and storage.stored_keys() == keys
    assert LibraryItem.objects.count() == StoredFile.objects.count() == 2
    assert not QuotaReservation.objects.exists()


def test_the_default_quota_comes_from_the_setting(auth_client: APIClient, user: Any,
                                                  settings: Any,
                                                  local_storage: LibraryStorage) -> None:
    settings.USER_LIBRARY = {"QUOTA_BYTES": len(PNG) - 1}
    response = post_json(auth_client, base())
    assert response.status_code == 413 and response.json() == QUOTA_EXCEEDED
    assert_nothing_stored(user, local_storage)
    settings.USER_LIBRARY = {"QUOTA_BYTES": len(PNG)}
    assert post_json(auth_client, base()).status_code == 201


def test_a_file_over_the_per_file_limit_is_413(auth_client: APIClient, user: Any, settings: Any,
                                               storage: LibraryStorage) -> None:
    settings.USER_LIBRARY = {"MAX_FILE_BYTES": len(PNG) - 1}
    expected = {"success": False, "error": f"File too large: the limit is {len(PNG) - 1} bytes"}
    for response in (post_json(auth_client, base()),
                     post_json(auth_client, base(fileData=f"data:image/png;base64,{b64(PNG)}",
                                                 mimeType=...)),
                     post_file(auth_client, PNG, source="generate")):
        assert response.status_code == 413
        assert response.json() == expected
    assert_nothing_stored(user, storage)
    settings.USER_LIBRARY = {"MAX_FILE_BYTES": len(PNG)}  # exactly at the limit
    assert post_file(auth_client, PNG, source="generate").status_code == 201
    assert post_json(auth_client, base()).status_code == 201
