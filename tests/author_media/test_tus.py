"""Resumable uploads with tus 1.0.0 at /v1/media/upload/tus/ (author_media/tus.py).

The interoperability tests upload with the real ``tuspy`` client against a live server
(pytest-django's ``live_server``: transactional tests), authenticated with a JWT, over
both storages; one cuts a PATCH off midway on a raw socket and resumes with a fresh
client from the offset the server reports. The protocol's edges (versions, offsets,
checksums, sizes, quota, termination, expiry, ownership, locks) go through the test
client.
"""

from __future__ import annotations

import base64
import hashlib
import io
import random
import socket
from datetime import timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

import psycopg
import pytest
import requests
from django.db import connection
from django.utils import timezone
from PIL import Image
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken
from tusclient import client as tus_client
from tusclient.exceptions import TusCommunicationError, TusUploadFailed
from tusclient.request import TusRequest
from tusclient.uploader import Uploader

from apps.accounts.models import User
from apps.storage.blobs import blob_store
from apps.storage.models import QuotaLedger, StoredFile
from author_media import upload_sessions, usage
from author_media.conf import QUOTA_BUCKET, author_media_settings
from author_media.models import MediaFile, UploadSession, UploadState
from tests.user_library.conftest import LibraryStorage
from tests.user_library.helpers import HTML, PNG

BASE = "/v1/media/upload/tus/"
TUS = {"Tus-Resumable": "1.0.0"}
OFFSET_TYPE = "application/offset+octet-stream"


def noisy_png(seed: int = 1, size: tuple[int, int] = (160, 120)) -> bytes:
    """A PNG that does not compress (~57 KB): enough bytes for several chunks."""
    pixels = random.Random(seed).randbytes(size[0] * size[1] * 3)
    buffer = io.BytesIO()
    Image.frombytes("RGB", size, pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def png_bytes(seed: int) -> bytes:
    return noisy_png(seed, (8, 8))


def b64(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


def metadata(**values: str) -> str:
    return ",".join(f"{key} {b64(value)}" for key, value in values.items())


def sha256_header(data: bytes) -> str:
    return "sha256 " + base64.b64encode(hashlib.sha256(data).digest()).decode()


def ledger(user: User) -> QuotaLedger:
    return QuotaLedger.objects.get(owner_user=user, bucket=QUOTA_BUCKET)


def variant_bytes(media: MediaFile) -> int:
    assert media.stored_file is not None
    return sum(media.stored_file.variants.values_list("size", flat=True))


def staged(session_id: UUID | str) -> Path:
    return upload_sessions.staging_path(UploadSession.objects.get(pk=session_id))


@pytest.fixture(autouse=True)
def _staging(settings: Any, tmp_path: Path) -> Path:
    root = tmp_path / "staging"
    settings.AUTHOR_MEDIA = {**(getattr(settings, "AUTHOR_MEDIA", None) or {}),
                             "UPLOAD_STAGING_DIR": str(root)}
    return root


class Tus:
    """tus requests through the test client."""

    def __init__(self, api: APIClient) -> None:
        self.api = api

    def create(self, length: int | str | None, meta: str | None = None, *,
               body: bytes = b"", headers: dict[str, str] | None = None) -> Any:
        sent = dict(TUS)
        if length is not None:
            sent["Upload-Length"] = str(length)
        if meta is not None:
            sent["Upload-Metadata"] = meta
        sent.update(headers or {})
        return self.api.generic("POST", BASE, body, content_type=OFFSET_TYPE if body else "",
                                headers=sent)

    def start(self, data: bytes, **meta: str) -> str:
        """Create an upload for ``data``; its path."""
        response = self.create(len(data), metadata(filename="photo.png", filetype="image/png",
                                                   **meta))
        assert response.status_code == 201, response.content
        return str(urlsplit(response["Location"]).path)

    def patch(self, url: str, offset: int, chunk: bytes, *, checksum: str | None = None,
              content_type: str = OFFSET_TYPE, headers: dict[str, str] | None = None) -> Any:
        sent = {**TUS, "Upload-Offset": str(offset), **(headers or {})}
        if checksum:
            sent["Upload-Checksum"] = checksum
        return self.api.generic("PATCH", url, chunk, content_type=content_type, headers=sent)

    def head(self, url: str, headers: dict[str, str] | None = None) -> Any:
        return self.api.head(url, headers={**TUS, **(headers or {})})

    def delete(self, url: str) -> Any:
        return self.api.delete(url, headers=TUS)


@pytest.fixture
def t(client: APIClient) -> Tus:
    return Tus(client)


def session_of(url: str) -> UploadSession:
    return UploadSession.objects.get(pk=url.rstrip("/").rsplit("/", 1)[1])


# -- capabilities and protocol errors -----------------------------------------------------
def test_options_advertises_the_server_without_credentials(api_client: APIClient,
                                                           settings: Any) -> None:
    response = api_client.options(BASE)
    assert response.status_code == 204
    assert response["Tus-Version"] == "1.0.0"
    assert set(response["Tus-Extension"].split(",")) == {
        "creation", "creation-with-upload", "expiration", "checksum", "termination"}
    assert int(response["Tus-Max-Size"]) == 5 * 1024**3
    assert "sha256" in response["Tus-Checksum-Algorithm"].split(",")
    assert api_client.options(f"{BASE}0190a1b2-0000-7000-8000-000000000000").status_code == 204


def test_every_other_request_needs_credentials(api_client: APIClient, db: None) -> None:
    response = api_client.post(BASE, headers={**TUS, "Upload-Length": "10"})
    assert response.status_code == 401
    assert response["Tus-Resumable"] == "1.0.0"
    assert response["Content-Type"] == "application/problem+json"
    assert not UploadSession.objects.exists()


@pytest.mark.parametrize("version", [None, "0.2.2", "2.0.0"])
def test_unsupported_tus_version_is_412(t: Tus, version: str | None) -> None:
    headers = {"Upload-Length": "10"} | ({"Tus-Resumable": version} if version else {})
    response = t.api.post(BASE, headers=headers)
    assert response.status_code == 412
    assert response["Tus-Version"] == "1.0.0"
    assert not UploadSession.objects.exists()


@pytest.mark.parametrize(("length", "meta", "headers", "field"), [
    (None, None, {}, "Upload-Length"),
    ("-5", None, {}, "Upload-Length"),
    ("1e3", None, {}, "Upload-Length"),
    ("0", None, {}, "Upload-Length"),
    ("10", "filename not*base64", {}, "Upload-Metadata"),
    ("10", "filename a b c", {}, "Upload-Metadata"),
    ("10", f"filename {b64('a')},filename {b64('b')}", {}, "Upload-Metadata"),
    ("10", metadata(folder="a/../b"), {}, "folder"),
    ("10", metadata(altText="x" * 501), {}, "altText"),
    (None, None, {"Upload-Defer-Length": "1"}, "Upload-Defer-Length"),
])
def test_bad_creation_changes_nothing(t: Tus, author: User, length: str | None,
                                      meta: str | None, headers: dict[str, str],
                                      field: str) -> None:
    response = t.create(length, meta, headers=headers)
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert any(name.split(".")[0] == field for name in response.json()["errors"])
    assert not UploadSession.objects.exists()
    assert not QuotaLedger.objects.filter(owner_user=author, reserved_bytes__gt=0).exists()


def test_refused_declared_type_is_415_at_creation(t: Tus) -> None:
    response = t.create(len(HTML), metadata(filename="page.html", filetype="text/html"))
    assert response.status_code == 415
    assert not UploadSession.objects.exists()


def test_larger_than_the_max_size_is_413(t: Tus, settings: Any) -> None:
    settings.AUTHOR_MEDIA = {**settings.AUTHOR_MEDIA, "MAX_FILE_BYTES": 10_000}
    assert t.api.options(BASE)["Tus-Max-Size"] == "10000"
    response = t.create(10_001, metadata(filename="big.bin"))
    assert response.status_code == 413
    assert response["Tus-Max-Size"] == "10000"
    assert response.json()["code"] == "file_too_large"
    assert not UploadSession.objects.exists()
    assert t.create(10_000, metadata(filename="big.bin")).status_code == 201


def test_patch_protocol_errors(t: Tus) -> None:
    url = t.start(PNG)
    wrong_type = t.patch(url, 0, PNG[:10], content_type="application/octet-stream")
    assert wrong_type.status_code == 415
    missing_offset = t.api.generic("PATCH", url, PNG[:10], content_type=OFFSET_TYPE,
                                   headers=TUS)
    assert missing_offset.status_code == 400
    assert "Upload-Offset" in missing_offset.json()["errors"]
    assert t.patch(url, 0, PNG[:10], checksum="md5 AAAA").status_code == 400
    assert t.patch(url, 0, PNG[:10], checksum="sha256 !!").status_code == 400
    beyond = t.patch(url, 0, PNG + b"x")
    assert beyond.status_code == 413
    assert beyond.json()["code"] == "exceeds_upload_length"
    assert t.patch(url, 0, PNG[:10], headers={"Tus-Resumable": "0.2.2"}).status_code == 412
    assert t.head(url)["Upload-Offset"] == "0"
    assert staged(session_of(url).pk).stat().st_size == 0


# -- the happy paths through the test client ---------------------------------------------
def test_chunks_then_the_last_byte_stores_the_file(t: Tus, author: User,
                                                   storage: LibraryStorage) -> None:
    data = noisy_png()
    url = t.start(data, folder="covers/2026", altText="A cover", caption="Hi",
                  tags="a, b,a", siteId="site-1")
    session = session_of(url)
    assert ledger(author).reserved_bytes == len(data)
    assert staged(session.pk).exists()
    offset = 0
    for size in (10_000, 20_000, len(data)):
        chunk = data[offset:size]
        response = t.patch(url, offset, chunk, checksum=sha256_header(chunk))
        assert response.status_code == 204, response.content
        offset = size
        assert response["Upload-Offset"] == str(offset)
    assert response["Tus-Resumable"] == "1.0.0"
    media = MediaFile.objects.get(pk=response["X-Media-File-Id"])
    assert "Upload-Expires" not in response
    assert media.sha256 == hashlib.sha256(data).hexdigest()
    assert (media.original_filename, media.mime_type, media.file_size) == (
        "photo.png", "image/png", len(data))
    assert (media.folder, media.alt_text, media.caption, media.tags, media.site_id) == (
        "covers/2026", "A cover", "Hi", ["a", "b"], "site-1")
    assert storage.read(media.storage_path) == data
    assert (ledger(author).used_bytes, ledger(author).reserved_bytes) == (len(data), 0)
    session.refresh_from_db()
    assert (session.state, session.media_file_id, session.offset) == (
        UploadState.COMPLETED, media.pk, len(data))
    assert not staged(session.pk).exists()
    head = t.head(url)
    assert head.status_code == 200
    assert (head["Upload-Offset"], head["Upload-Length"], head["X-Media-File-Id"]) == (
        str(len(data)), str(len(data)), str(media.pk))
    again = t.patch(url, len(data), b"")  # a retried last PATCH: nothing more happens
    assert again.status_code == 204 and again["X-Media-File-Id"] == str(media.pk)
    assert t.patch(url, 0, data[:10]).status_code == 409
    assert t.delete(url).status_code == 409
    assert MediaFile.objects.count() == 1
    storage.assert_consistent()


def test_head_reports_offset_length_metadata_and_expiry(t: Tus, settings: Any) -> None:
    meta = metadata(filename="photo.png", filetype="image/png")
    created = t.create(len(PNG), meta)
    assert created.status_code == 201
    url = urlsplit(created["Location"]).path
    assert created["Location"].startswith("http://testserver/v1/media/upload/tus/")
    expires = parsedate_to_datetime(created["Upload-Expires"])
    ttl = int(author_media_settings.UPLOAD_SESSION_TTL)
    assert abs((expires - timezone.now()).total_seconds() - ttl) < 5
    assert t.patch(url, 0, PNG[:100]).status_code == 204
    head = t.head(url)
    assert head.status_code == 200
    assert (head["Upload-Offset"], head["Upload-Length"], head["Upload-Metadata"]) == (
        "100", str(len(PNG)), meta)
    assert head["Cache-Control"] == "no-store"
    assert head["Upload-Expires"] == created["Upload-Expires"]
    assert "X-Media-File-Id" not in head


def test_creation_with_upload(t: Tus, author: User, local_storage: LibraryStorage) -> None:
    partial = t.create(len(PNG), metadata(filename="a.png"), body=PNG[:50])
    assert partial.status_code == 201
    assert partial["Upload-Offset"] == "50" and "X-Media-File-Id" not in partial
    url = urlsplit(partial["Location"]).path
    assert t.patch(url, 50, PNG[50:]).status_code == 204
    whole = t.create(len(PNG), metadata(filename="b.png"), body=PNG,
                     headers={"Upload-Checksum": sha256_header(PNG)})
    assert whole.status_code == 201
    assert whole["Upload-Offset"] == str(len(PNG))
    assert whole["X-Media-Duplicate-Of"] == whole["X-Media-File-Id"]  # same bytes as a.png
    too_long = t.create(10, metadata(filename="c.png"), body=PNG[:11])
    assert too_long.status_code == 413
    assert UploadSession.objects.count() == 2


def test_duplicate_bytes_end_as_the_existing_file(t: Tus, author: User,
                                                  local_storage: LibraryStorage) -> None:
    first = t.start(PNG)
    done = t.patch(first, 0, PNG)
    second = t.start(PNG, folder="elsewhere")
    assert ledger(author).reserved_bytes == len(PNG)
    again = t.patch(second, 0, PNG)
    assert again.status_code == 204
    assert again["X-Media-File-Id"] == again["X-Media-Duplicate-Of"] == done["X-Media-File-Id"]
    assert MediaFile.objects.count() == StoredFile.objects.count() == 1
    assert (ledger(author).used_bytes, ledger(author).reserved_bytes) == (len(PNG), 0)
    assert session_of(second).state == UploadState.COMPLETED
    assert not staged(session_of(second).pk).exists()
    local_storage.assert_consistent()


# -- offsets, checksums, locks ------------------------------------------------------------
def test_offset_mismatch_is_409_and_writes_nothing(t: Tus) -> None:
    url = t.start(PNG)
    assert t.patch(url, 0, PNG[:40]).status_code == 204
    for offset in (0, 39, 41):
        response = t.patch(url, offset, PNG[offset:offset + 10])
        assert response.status_code == 409
        assert response["Upload-Offset"] == "40"
        assert response.json()["code"] == "offset_mismatch"
    assert t.head(url)["Upload-Offset"] == "40"
    assert staged(session_of(url).pk).read_bytes() == PNG[:40]


def test_checksum_mismatch_is_460_and_the_chunk_is_discarded(t: Tus) -> None:
    url = t.start(PNG)
    assert t.patch(url, 0, PNG[:30], checksum=sha256_header(PNG[:30])).status_code == 204
    bad = t.patch(url, 30, PNG[30:60], checksum=sha256_header(b"something else"))
    assert bad.status_code == 460
    assert bad.reason_phrase == "Checksum Mismatch"
    assert bad.json()["code"] == "checksum_mismatch"
    assert t.head(url)["Upload-Offset"] == "30"
    assert staged(session_of(url).pk).read_bytes() == PNG[:30]
    digest = hashlib.sha1(PNG[30:60], usedforsecurity=False).digest()
    sha1 = "sha1 " + base64.b64encode(digest).decode()
    assert t.patch(url, 30, PNG[30:60], checksum=sha1).status_code == 204
    assert t.patch(url, 60, PNG[60:]).status_code == 204
    assert MediaFile.objects.get().sha256 == hashlib.sha256(PNG).hexdigest()


def test_a_busy_upload_is_423(t: Tus) -> None:
    """Another connection (another web process) holds the upload's lock."""
    url = t.start(PNG)
    params = connection.settings_dict
    with psycopg.connect(dbname=params["NAME"], user=params["USER"],
                         password=params["PASSWORD"] or None, host=params["HOST"],
                         port=params["PORT"] or None, autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))",
                      [f"author_media:tus:{session_of(url).pk}"])
        busy = t.patch(url, 0, PNG[:10])
        assert busy.status_code == 423
        assert t.delete(url).status_code == 423
        assert t.head(url).status_code == 200  # reading needs no lock
    assert t.patch(url, 0, PNG[:10]).status_code == 204


# -- termination, expiry, refusal, failures -----------------------------------------------
def test_termination_releases_the_reservation(t: Tus, author: User) -> None:
    url = t.start(PNG)
    assert t.patch(url, 0, PNG[:20]).status_code == 204
    path = staged(session_of(url).pk)
    assert ledger(author).reserved_bytes == len(PNG)
    response = t.delete(url)
    assert response.status_code == 204 and response["Tus-Resumable"] == "1.0.0"
    assert ledger(author).reserved_bytes == 0
    assert not path.exists()
    assert session_of(url).state == UploadState.ABORTED
    assert t.head(url).status_code == 410
    assert t.patch(url, 20, PNG[20:]).status_code == 410
    assert t.delete(url).status_code == 410
    assert not MediaFile.objects.exists()


def test_method_override_for_clients_without_patch_and_delete(t: Tus) -> None:
    url = t.start(PNG)
    patched = t.api.generic("POST", url, PNG[:10], content_type=OFFSET_TYPE,
                            headers={**TUS, "Upload-Offset": "0",
                                     "X-HTTP-Method-Override": "PATCH"})
    assert patched.status_code == 204 and patched["Upload-Offset"] == "10"
    assert t.api.post(url, headers=TUS).status_code == 405
    deleted = t.api.post(url, headers={**TUS, "X-HTTP-Method-Override": "DELETE"})
    assert deleted.status_code == 204
    assert session_of(url).state == UploadState.ABORTED


def test_expired_uploads_are_gone_and_release_their_reservation(t: Tus, author: User) -> None:
    due, swept, alive = t.start(PNG), t.start(png_bytes(2)), t.start(png_bytes(3))
    assert t.patch(due, 0, PNG[:10]).status_code == 204
    assert ledger(author).reserved_bytes == len(PNG) + len(png_bytes(2)) + len(png_bytes(3))
    past = timezone.now() - timedelta(seconds=1)
    UploadSession.objects.filter(pk__in=[session_of(due).pk, session_of(swept).pk]).update(
        expires_at=past)
    assert t.head(due).status_code == 410  # HEAD only reads: the reservation stays ...
    assert ledger(author).reserved_bytes > len(png_bytes(3))
    assert t.patch(due, 10, PNG[10:20]).status_code == 410  # ... a PATCH expires it
    assert session_of(due).state == UploadState.EXPIRED
    assert not staged(session_of(due).pk).exists()
    assert upload_sessions.expire_due() == 1  # the beat task's part: the other one
    assert session_of(swept).state == UploadState.EXPIRED
    assert session_of(alive).state == UploadState.OPEN
    assert ledger(author).reserved_bytes == len(png_bytes(3))
    assert t.patch(alive, 0, png_bytes(3)).status_code == 204


def test_quota_boundary_at_creation(t: Tus, author: User, local_storage: LibraryStorage) -> None:
    row = usage.usage_for(author.pk)
    type(row).objects.filter(pk=row.pk).update(storage_limit_bytes=len(PNG) + 100)
    first = t.start(PNG)
    exactly = t.create(100, metadata(filename="rest.bin"))
    assert exactly.status_code == 201
    over = t.create(1, metadata(filename="one.bin"))
    assert over.status_code == 413
    body = over.json()
    assert body["code"] == "storage_limit_exceeded"
    assert (body["headroomBytes"], body["requestedBytes"]) == (0, 1)
    assert UploadSession.objects.count() == 2
    assert t.delete(urlsplit(exactly["Location"]).path).status_code == 204
    assert t.create(100, metadata(filename="rest.bin")).status_code == 201
    assert t.patch(first, 0, PNG).status_code == 204  # the reservation pays for the file
    assert (ledger(author).used_bytes, ledger(author).reserved_bytes) == (len(PNG), 100)


def test_content_refused_at_the_last_byte_ends_the_upload(t: Tus, author: User,
                                                          local_storage: LibraryStorage) -> None:
    url = t.start(HTML)  # declared a PNG
    response = t.patch(url, 0, HTML)
    assert response.status_code == 415
    code = response.json()["code"]
    assert code in ("type_mismatch", "unsupported_type")
    session = session_of(url)
    assert session.state == UploadState.ABORTED
    assert session.fields["error"]["code"] == code
    assert ledger(author).reserved_bytes == 0
    assert not staged(session.pk).exists()
    assert t.head(url).status_code == 410
    assert not MediaFile.objects.exists() and not StoredFile.objects.exists()
    local_storage.assert_consistent()


def test_a_storage_failure_at_the_end_keeps_every_byte_for_a_retry(
        t: Tus, author: User, local_storage: LibraryStorage, monkeypatch: Any) -> None:
    url = t.start(PNG)
    real = blob_store.put_reserved
    def storage_down(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("S3 is down")

    monkeypatch.setattr(blob_store, "put_reserved", storage_down)
    failed = t.patch(url, 0, PNG)
    assert failed.status_code == 500
    session = session_of(url)
    assert (session.state, session.offset) == (UploadState.OPEN, len(PNG))
    assert staged(session.pk).read_bytes() == PNG
    assert ledger(author).reserved_bytes == len(PNG)
    monkeypatch.setattr(blob_store, "put_reserved", real)
    retried = t.patch(url, len(PNG), b"")
    assert retried.status_code == 204
    media = MediaFile.objects.get(pk=retried["X-Media-File-Id"])
    assert media.sha256 == hashlib.sha256(PNG).hexdigest()
    assert (ledger(author).used_bytes, ledger(author).reserved_bytes) == (len(PNG), 0)


# -- ownership ----------------------------------------------------------------------------
def test_only_the_creator_reaches_its_upload(t: Tus, other_client: APIClient) -> None:
    url = t.start(PNG)
    other = Tus(other_client)
    assert other.head(url).status_code == 404
    assert other.patch(url, 0, PNG).status_code == 404
    assert other.delete(url).status_code == 404
    assert other.head(f"{BASE}not-a-uuid").status_code == 404
    assert t.head(url)["Upload-Offset"] == "0"
    assert session_of(url).state == UploadState.OPEN
    assert staged(session_of(url).pk).stat().st_size == 0


# -- tuspy against a live server ----------------------------------------------------------
class Sha256Uploader(Uploader):
    """tuspy sends sha1 checksums unless told otherwise."""

    CHECKSUM_ALGORITHM_PAIR = ("sha256", hashlib.sha256)


@pytest.fixture
def live(live_server: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """The live server's URL. Its request threads close their database connections
    after each request: a thread kept waiting by a client's idle keep-alive socket would
    otherwise hold one past the teardown of the test database."""
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 0)
    return str(live_server.url)


def bearer(user: User) -> dict[str, str]:
    return {"Authorization": f"Bearer {AccessToken.for_user(user)}"}


@pytest.mark.django_db(transaction=True)
def test_tuspy_uploads_a_file(live: str, author: User, storage: LibraryStorage) -> None:
    data = noisy_png(7)
    client = tus_client.TusClient(live + BASE, headers=bearer(author))
    uploader = Sha256Uploader(
        client=client, file_stream=io.BytesIO(data), chunk_size=16 * 1024,
        upload_checksum=True,
        metadata={"filename": "noise.png", "filetype": "image/png", "folder": "tus",
                  "altText": "Noise", "tags": "x,y"})
    uploader.upload()
    assert uploader.offset == len(data) and uploader.url is not None
    head = requests.head(uploader.url, headers={**TUS, **bearer(author)}, timeout=10)
    assert head.status_code == 200 and head.headers["Upload-Offset"] == str(len(data))
    media = MediaFile.objects.get(pk=head.headers["X-Media-File-Id"])
    assert media.sha256 == hashlib.sha256(data).hexdigest()
    assert (media.original_filename, media.folder, media.alt_text, media.tags) == (
        "noise.png", "tus", "Noise", ["x", "y"])
    assert media.scan_status == "CLEAN"  # the pipeline ran after commit
    assert storage.read(media.storage_path) == data
    charged = media.file_size + variant_bytes(media)  # the bucket counts variants too
    assert (ledger(author).used_bytes, ledger(author).reserved_bytes) == (charged, 0)
    assert not staged(session_of(uploader.url).pk).exists()


def _raw_patch(url: str, headers: dict[str, str], declared: int, body: bytes) -> tuple[int, dict[str, str]]:
    """A PATCH announcing ``declared`` bytes that sends ``body`` and stops: the client's
    connection is lost mid-request (its sending side closes)."""
    parts = urlsplit(url)
    lines = [f"PATCH {parts.path} HTTP/1.1", f"Host: {parts.netloc}",
             f"Content-Type: {OFFSET_TYPE}", f"Content-Length: {declared}",
             "Connection: close", *(f"{k}: {v}" for k, v in headers.items())]
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head = answer.split(b"\r\n\r\n", 1)[0].decode().split("\r\n")
    fields = dict(line.split(": ", 1) for line in head[1:])
    return int(head[0].split(" ")[1]), {k.lower(): v for k, v in fields.items()}


@pytest.mark.django_db(transaction=True)
def test_tuspy_resumes_after_an_interrupted_patch(live: str, author: User,
                                                  local_storage: LibraryStorage) -> None:
    data = noisy_png(11)
    half = len(data) // 2
    client = tus_client.TusClient(live + BASE, headers=bearer(author))
    first = client.uploader(file_stream=io.BytesIO(data), metadata={"filename": "n.png"})
    url = first.create_url()
    auth = {**TUS, **bearer(author), "Upload-Offset": "0"}

    # the connection drops at 50% of a PATCH: the server keeps what arrived
    status, headers = _raw_patch(url, auth, len(data), data[:half])
    assert (status, headers["upload-offset"]) == (204, str(half))
    # a chunk with a checksum cannot be verified when cut: nothing of it is kept
    status, headers = _raw_patch(url, {**auth, "Upload-Offset": str(half),
                                       "Upload-Checksum": sha256_header(data[half:])},
                                 len(data) - half, data[half:half + 1000])
    assert (status, headers["upload-offset"]) == (204, str(half))

    # a new client (another process, after a restart) asks the offset and goes on
    resumed = client.uploader(file_stream=io.BytesIO(data), url=url, chunk_size=8192)
    assert resumed.offset == half
    resumed.upload()
    media = MediaFile.objects.get(user=author)
    assert media.sha256 == hashlib.sha256(data).hexdigest()
    assert local_storage.read(media.storage_path) == data
    charged = len(data) + variant_bytes(media)
    assert (ledger(author).used_bytes, ledger(author).reserved_bytes) == (charged, 0)


@pytest.mark.django_db(transaction=True)
def test_tuspy_resumes_after_a_failed_chunk(live: str, author: User,
                                            local_storage: LibraryStorage,
                                            monkeypatch: Any) -> None:
    """The client's network fails on its third chunk; a new client resumes from the
    server's offset (two chunks) and only sends the rest."""
    data = noisy_png(13)
    chunk = 8192
    sent: list[int] = []
    perform = TusRequest.perform

    def flaky(self: TusRequest) -> None:
        sent.append(int(self._request_headers["upload-offset"]))
        if len(sent) == 3:
            raise TusUploadFailed("connection reset")
        perform(self)

    monkeypatch.setattr(TusRequest, "perform", flaky)
    client = tus_client.TusClient(live + BASE, headers=bearer(author))
    first = client.uploader(file_stream=io.BytesIO(data), chunk_size=chunk,
                            metadata={"filename": "n.png", "filetype": "image/png"})
    with pytest.raises(TusUploadFailed):
        first.upload()
    resumed = client.uploader(file_stream=io.BytesIO(data), url=first.url, chunk_size=chunk)
    assert resumed.offset == 2 * chunk
    resumed.upload()
    assert sent[:4] == [0, chunk, 2 * chunk, 2 * chunk]
    media = MediaFile.objects.get(user=author)
    assert media.sha256 == hashlib.sha256(data).hexdigest()


@pytest.mark.django_db(transaction=True)
def test_tuspy_cannot_resume_someone_elses_upload(live: str, author: User,
                                                  make_user: Any) -> None:
    client = tus_client.TusClient(live + BASE, headers=bearer(author))
    url = client.uploader(file_stream=io.BytesIO(PNG)).create_url()
    intruder = tus_client.TusClient(live + BASE, headers=bearer(make_user("eve")))
    with pytest.raises(TusCommunicationError) as failed:
        intruder.uploader(file_stream=io.BytesIO(PNG), url=url)
    assert failed.value.status_code == 404
    assert requests.head(url, headers=TUS, timeout=10).status_code == 401
    assert UploadSession.objects.get().offset == 0
