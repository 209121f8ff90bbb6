"""The blob store's contract, run over every backend (local FileSystemStorage, S3 on moto).

What a caller relies on: put() streams, hashes and sniffs, and leaves nothing behind when
it refuses; open() gives the bytes back; delete() removes row, variants and bytes and
releases the quota exactly once; signed_url() serves the file (with Range) for a while.
"""

from __future__ import annotations

import hashlib
import io
import os
import tracemalloc
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from django.db import transaction

from apps.accounts.models import User, Workspace
from apps.storage.errors import (
    BlobNotFound,
    EmptyUpload,
    TypeMismatch,
    UnsupportedType,
    UploadTooLarge,
)
from apps.storage.models import BlobTombstone, QuotaLedger, StoredFile, Variant
from tests.apps.storage.helpers import (
    Backend,
    Fetched,
    add_variant,
    assert_no_orphans,
    cleared,
    s3_backend_for,
    s3_client,
)
from tests.apps.storage.samples import (
    HTML_BYTES,
    MIB,
    PDF_BYTES,
    SVG_BYTES,
    TEXT_BYTES,
    counting_chunks,
    image_bytes,
    png_bytes,
)

pytestmark = pytest.mark.django_db


def ledger(owner: User | Workspace) -> QuotaLedger:
    field = "owner_workspace" if isinstance(owner, Workspace) else "owner_user"
    return QuotaLedger.objects.get(**{field: owner})


# -- put / open ---------------------------------------------------------------------------

def test_put_hashes_sniffs_and_keys_by_id_not_name(backend: Backend, owner: User) -> None:
    data = png_bytes((40, 30))
    stored = backend.store.put(io.BytesIO(data), owner=owner, name="../../etc/Holiday<1>.png")

    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert stored.size == len(data)
    assert (stored.mime_type, stored.kind) == ("image/png", "image")
    assert stored.original_name == "Holiday_1_.png"
    assert stored.key.startswith(f"u/{owner.pk}/") and stored.key.endswith(".png")
    assert "holiday" not in stored.key.lower() and ".." not in stored.key
    assert stored.owner_user_id == owner.pk and stored.owner_workspace_id is None
    assert StoredFile.objects.get(pk=stored.pk).sha256 == stored.sha256
    assert backend.keys() == {stored.key}
    assert backend.store.exists(stored)
    usage = ledger(owner)
    assert (usage.used_bytes, usage.file_count, usage.image_count) == (len(data), 1, 1)


@pytest.mark.parametrize("size", [1, 3 * MIB + 17, 9 * MIB + 123], ids=["1B", "3MiB", "9MiB"])
def test_open_round_trips_the_bytes(backend: Backend, owner: User, size: int) -> None:
    data = (b"%PDF-1.7\n" + os.urandom(size))[:size] if size > 1 else b"x"
    stored = backend.store.put(iter([data[i:i + 700_001] for i in range(0, size, 700_001)]),
                               owner=owner, name="report.pdf" if size > 1 else "x.txt")
    with backend.store.open(stored) as handle:
        assert handle.read() == data
    assert stored.size == size
    assert stored.sha256 == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("source", ["bytes", "file", "iterable"])
def test_put_accepts_bytes_files_and_iterables(backend: Backend, owner: User, source: str) -> None:
    data = image_bytes("JPEG", (20, 20))
    stream: Any = {"bytes": data, "file": io.BytesIO(data),
                   "iterable": (data[i:i + 100] for i in range(0, len(data), 100))}[source]
    stored = backend.store.put(stream, owner=owner, name="cam.jpeg")
    assert (stored.mime_type, stored.size) == ("image/jpeg", len(data))
    assert stored.key.endswith(".jpg")
    with backend.store.open(stored) as handle:
        assert handle.read() == data


def test_workspace_owner_gets_its_own_prefix_and_ledger(backend: Backend, owner: User) -> None:
    workspace = Workspace.objects.create(name="Team", created_by=owner)
    stored = backend.store.put(TEXT_BYTES, owner=workspace, name="notes.txt")
    assert stored.key.startswith(f"w/{workspace.pk}/")
    assert stored.owner_workspace_id == workspace.pk and stored.owner_user_id is None
    assert (stored.mime_type, stored.kind) == ("text/plain", "document")
    assert ledger(workspace).used_bytes == len(TEXT_BYTES)
    assert not QuotaLedger.objects.filter(owner_user=owner, used_bytes__gt=0).exists()


def test_open_of_missing_bytes_is_blob_not_found(local_backend: Backend, owner: User) -> None:
    stored = local_backend.store.put(TEXT_BYTES, owner=owner, name="a.txt")
    local_backend.storage.delete(stored.key)
    with pytest.raises(BlobNotFound):
        local_backend.store.open(stored)


# -- type checks: refused input leaves nothing --------------------------------------------

def assert_nothing_stored(backend: Backend, owner: User) -> None:
    assert backend.keys() == set()
    assert not StoredFile.objects.exists()
    assert not QuotaLedger.objects.filter(used_bytes__gt=0).exists()
    assert not QuotaLedger.objects.filter(reserved_bytes__gt=0).exists()


@pytest.mark.parametrize(("data", "name", "declared"), [
    (HTML_BYTES, "cat.png", None),
    (HTML_BYTES, None, "image/png"),
    (SVG_BYTES, "logo.png", None),
    (SVG_BYTES, "logo.jpg", "image/jpeg"),
    (png_bytes(), "clip.png", "video/mp4"),
    (png_bytes(), None, "application/pdf"),
    (PDF_BYTES, "scan.jpg", None),
    (TEXT_BYTES, "photo.webp", None),
], ids=["html-as-png", "html-declared-png", "svg-as-png", "svg-as-jpeg", "png-declared-mp4",
        "png-declared-pdf", "pdf-as-jpg", "text-as-webp"])
def test_content_contradicting_name_or_type_is_refused(backend: Backend, owner: User,
                                                       data: bytes, name: str | None,
                                                       declared: str | None) -> None:
    with pytest.raises(TypeMismatch):
        backend.store.put(data, owner=owner, name=name, declared_type=declared)
    assert_nothing_stored(backend, owner)


def test_refused_declared_upload_gives_its_reservation_back(backend: Backend,
                                                            owner: User) -> None:
    with pytest.raises(TypeMismatch):
        backend.store.put(HTML_BYTES, owner=owner, name="x.png", declared_size=len(HTML_BYTES))
    assert_nothing_stored(backend, owner)
    assert ledger(owner).reservations.count() == 0


def test_png_named_jpg_is_stored_as_png(backend: Backend, owner: User) -> None:
    data = png_bytes()
    stored = backend.store.put(data, owner=owner, name="photo.jpg", declared_type="image/jpeg")
    assert stored.mime_type == "image/png"
    assert stored.key.endswith(".png")
    assert stored.original_name == "photo.jpg"
    assert backend.keys() == {stored.key}


def test_empty_upload_is_refused(backend: Backend, owner: User) -> None:
    with pytest.raises(EmptyUpload):
        backend.store.put(iter([b"", b""]), owner=owner, name="empty.png")
    with pytest.raises(EmptyUpload):
        backend.store.put(b"", owner=owner, name="empty.txt", declared_size=0)
    assert_nothing_stored(backend, owner)


def test_allowed_kinds_narrow_what_is_accepted(backend: Backend, owner: User) -> None:
    with pytest.raises(UnsupportedType):
        backend.store.put(PDF_BYTES, owner=owner, name="doc.pdf", allowed_kinds=["image", "video"])
    with pytest.raises(UnsupportedType):
        backend.store.put(SVG_BYTES, owner=owner, name="logo.svg", allowed_kinds=["image"])
    assert_nothing_stored(backend, owner)
    gif = image_bytes("GIF")
    assert backend.store.put(gif, owner=owner, name="a.gif", allowed_kinds=["gif"]).kind == "gif"


def test_unsupported_kind_by_setting(backend: Backend, owner: User, settings: Any) -> None:
    settings.STORAGE = {**settings.STORAGE, "ALLOWED_KINDS": ("image",)}
    with pytest.raises(UnsupportedType):
        backend.store.put(TEXT_BYTES, owner=owner, name="a.txt")
    assert backend.store.put(png_bytes(), owner=owner, name="a.png").kind == "image"


# -- size limits, streaming and memory ----------------------------------------------------

def test_declared_size_over_max_is_refused_before_reading(backend: Backend, owner: User) -> None:
    pulled = [0]
    with pytest.raises(UploadTooLarge):
        backend.store.put(counting_chunks(png_bytes(), 5 * MIB, counter=pulled), owner=owner,
                          name="a.png", max_size=MIB, declared_size=5 * MIB)
    assert pulled == [0]
    assert_nothing_stored(backend, owner)


def test_stream_longer_than_declared_size_is_refused(backend: Backend, owner: User) -> None:
    with pytest.raises(UploadTooLarge):
        backend.store.put(counting_chunks(png_bytes(), 3 * MIB), owner=owner, name="a.png",
                          declared_size=2 * MIB)
    assert_nothing_stored(backend, owner)
    assert ledger(owner).reservations.count() == 0


def test_exactly_max_size_is_accepted(backend: Backend, owner: User) -> None:
    data = png_bytes() + b"\x00" * 1000
    stored = backend.store.put(data, owner=owner, name="a.png", max_size=len(data))
    assert stored.size == len(data)
    with pytest.raises(UploadTooLarge):
        backend.store.put(data + b"\x00", owner=owner, name="b.png", max_size=len(data))
    assert backend.keys() == {stored.key}


def _read_granularity(backend: Backend) -> int:
    """How many bytes the storage pulls from the stream at once."""
    if backend.name == "s3":
        return int(backend.storage.transfer_config.multipart_chunksize)  # type: ignore[attr-defined]
    return MIB


# Local storage writes one chunk at a time. boto3 holds a few multipart parts in memory
# (8 MiB each, at most 4 in flight, see apps.storage.backends) plus the one being read,
# so S3 gets a larger file to show that its memory does not follow the file's size.
MEMORY_BOUND = {"local": 16 * MIB, "s3": 64 * MIB}
LARGE_FILE = {"local": 64 * MIB, "s3": 128 * MIB}


def _warm_up(backend: Backend) -> None:
    """Create the S3 client (and load botocore's models) before memory is measured."""
    backend.storage.exists("warm-up")


def test_over_limit_stream_is_cut_off_mid_stream_with_flat_memory(backend: Backend,
                                                                  owner: User) -> None:
    pulled = [0]
    source = counting_chunks(png_bytes(), 300 * MIB, chunk_size=MIB, counter=pulled)
    max_size = 20 * MIB
    _warm_up(backend)
    tracemalloc.start()
    try:
        with pytest.raises(UploadTooLarge):
            backend.store.put(source, owner=owner, name="huge.png", max_size=max_size)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert max_size < pulled[0] <= max_size + _read_granularity(backend) + MIB
    assert peak < MEMORY_BOUND[backend.name], peak
    assert_nothing_stored(backend, owner)
    assert not BlobTombstone.objects.exists()
    if backend.name == "s3":  # the multipart upload was aborted, not left to linger
        client = backend.storage.connection.meta.client  # type: ignore[attr-defined]
        bucket = backend.storage.bucket_name  # type: ignore[attr-defined]
        assert client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_large_streamed_put_keeps_memory_flat(backend: Backend, owner: User) -> None:
    total = LARGE_FILE[backend.name]
    expected = hashlib.sha256()
    for chunk in counting_chunks(png_bytes(), total):
        expected.update(chunk)
    _warm_up(backend)
    tracemalloc.start()
    try:
        stored = backend.store.put(counting_chunks(png_bytes(), total), owner=owner,
                                   name="big.png")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert peak < MEMORY_BOUND[backend.name] <= total / 2, peak
    assert (stored.size, stored.sha256) == (total, expected.hexdigest())
    assert backend.keys() == {stored.key}
    with backend.store.open(stored) as handle:
        actual = hashlib.sha256()
        while chunk := handle.read(4 * MIB):
            actual.update(chunk)
    assert actual.hexdigest() == stored.sha256


# -- delete ---------------------------------------------------------------------------------

def test_delete_removes_row_variants_bytes_and_quota_once(
        backend: Backend, owner: User, django_capture_on_commit_callbacks: Any) -> None:
    keep = backend.store.put(TEXT_BYTES, owner=owner, name="keep.txt")
    stored = backend.store.put(png_bytes(), owner=owner, name="gone.png")
    variants = [add_variant(backend, stored, "thumb:64"), add_variant(backend, stored, "webp")]
    assert len(backend.keys()) == 4

    with django_capture_on_commit_callbacks(execute=True):
        assert backend.store.delete(stored) is True

    assert not StoredFile.objects.filter(pk=stored.pk).exists()
    assert not Variant.objects.filter(pk__in=[v.pk for v in variants]).exists()
    assert backend.keys() == {keep.key}
    assert not BlobTombstone.objects.exists()
    usage = ledger(owner)
    assert (usage.used_bytes, usage.file_count, usage.image_count, usage.document_count) == (
        keep.size, 1, 0, 1)

    with django_capture_on_commit_callbacks(execute=True):
        assert backend.store.delete(stored) is False
    usage.refresh_from_db()
    assert (usage.used_bytes, usage.file_count) == (keep.size, 1)
    with backend.store.open(keep) as handle:
        assert handle.read() == TEXT_BYTES


def test_delete_inside_a_rolled_back_transaction_keeps_everything(backend: Backend,
                                                                  owner: User) -> None:
    stored = backend.store.put(png_bytes(), owner=owner, name="a.png")
    with pytest.raises(RuntimeError), transaction.atomic():
        backend.store.delete(stored)
        raise RuntimeError("the caller's transaction fails")
    assert StoredFile.objects.filter(pk=stored.pk).exists()
    assert backend.keys() == {stored.key}
    assert ledger(owner).used_bytes == stored.size
    assert not BlobTombstone.objects.exists()


def test_delete_variant_removes_only_that_variant(
        backend: Backend, owner: User, django_capture_on_commit_callbacks: Any) -> None:
    stored = backend.store.put(png_bytes(), owner=owner, name="a.png")
    first, second = add_variant(backend, stored, "a"), add_variant(backend, stored, "b")
    with django_capture_on_commit_callbacks(execute=True):
        backend.store.delete_variant(first)
    assert list(stored.variants.values_list("pk", flat=True)) == [second.pk]
    assert backend.keys() == {stored.key, second.key}
    assert not BlobTombstone.objects.exists()


class _Outage:
    """Makes a storage's delete fail while ``down`` is set, as an unreachable S3 would."""

    def __init__(self, backend: Backend) -> None:
        self.down = True
        self.calls = 0
        original = backend.storage.delete

        def delete(name: str) -> None:
            self.calls += 1
            if self.down:
                raise OSError("storage unreachable")
            original(name)

        backend.storage.delete = delete  # type: ignore[method-assign]


def test_storage_failure_on_delete_leaves_tombstones_that_flush_later(
        backend: Backend, owner: User, django_capture_on_commit_callbacks: Any) -> None:
    stored = backend.store.put(png_bytes(), owner=owner, name="a.png")
    variant = add_variant(backend, stored)
    outage = _Outage(backend)

    with django_capture_on_commit_callbacks(execute=True):
        assert backend.store.delete(stored) is True

    assert outage.calls == 2
    assert not StoredFile.objects.filter(pk=stored.pk).exists()
    assert ledger(owner).used_bytes == 0
    stones = {s.key: s for s in BlobTombstone.objects.all()}
    assert set(stones) == {stored.key, variant.key}
    assert all(s.attempts == 1 and "unreachable" in s.last_error for s in stones.values())
    assert backend.keys() == {stored.key, variant.key}
    assert_no_orphans(backend)

    assert backend.store.flush_tombstones() == 0  # still down: counted, kept
    assert set(BlobTombstone.objects.values_list("attempts", flat=True)) == {2}

    outage.down = False
    assert backend.store.flush_tombstones() == 2
    assert backend.keys() == set()
    assert not BlobTombstone.objects.exists()


def test_failed_discard_of_a_refused_upload_leaves_a_tombstone(backend: Backend,
                                                               owner: User) -> None:
    outage = _Outage(backend)
    with pytest.raises(UploadTooLarge):
        backend.store.put(counting_chunks(png_bytes(), 2 * MIB), owner=owner, name="a.png",
                          max_size=MIB)
    assert outage.calls == 1
    assert not StoredFile.objects.exists()
    assert_no_orphans(backend)
    assert BlobTombstone.objects.count() == 1
    outage.down = False
    assert backend.store.flush_tombstones() == 1
    assert backend.keys() == set()


# -- signed URLs ----------------------------------------------------------------------------

def served_disposition(backend: Backend, url: str, fetched: Fetched) -> str:
    """The Content-Disposition a client gets. For S3 it travels, signed, in the URL's
    ``response-content-disposition``, and the server echoes it."""
    if backend.name == "s3":
        asked = parse_qs(urlsplit(url).query)["response-content-disposition"][0]
        if "content-disposition" not in fetched.headers:
            pytest.skip("this moto_server ignores response-content-disposition (moto < 5.2.5;"
                        " the .venv's moto_server honours it); the signed URL asks for: "
                        + asked)
        assert fetched.headers["content-disposition"] == asked
    return fetched.headers["content-disposition"]


@pytest.mark.parametrize("disposition", ["inline", "attachment"])
def test_signed_url_serves_the_file(backend: Backend, owner: User, disposition: str) -> None:
    data = png_bytes((64, 64))
    name = "Отпуск 2024 ✓.png"
    stored = cleared(backend.store.put(data, owner=owner, name=name))
    url = backend.store.signed_url(stored, ttl=60, disposition=disposition)

    fetched = backend.fetch(url)
    assert fetched.status == 200
    assert fetched.body == data
    assert fetched.headers["content-type"] == "image/png"
    header = served_disposition(backend, url, fetched)
    assert header == (f'{disposition}; filename="______ 2024 _.png"; '
                      f"filename*=UTF-8''{quote(name)}")


def test_signed_url_of_a_variant_serves_the_variant(backend: Backend, owner: User) -> None:
    stored = cleared(backend.store.put(png_bytes(), owner=owner, name="holiday.png"))
    variant = add_variant(backend, stored, "thumb:64")
    url = backend.store.signed_url(variant, disposition="attachment")
    fetched = backend.fetch(url)
    assert fetched.status == 200
    with backend.storage.open(variant.key, "rb") as handle:
        assert fetched.body == handle.read()
    assert fetched.headers["content-type"] == "image/webp"
    assert served_disposition(backend, url, fetched) == (
        "attachment; filename=\"holiday-thumbnail.webp\"; "
        "filename*=UTF-8''holiday-thumbnail.webp")


def test_signed_url_refuses_quarantined_files(backend: Backend, owner: User) -> None:
    stored = cleared(backend.store.put(png_bytes(), owner=owner, name="a.png"))
    variant = add_variant(backend, stored)
    StoredFile.objects.filter(pk=stored.pk).update(is_quarantined=True)
    stored.refresh_from_db()
    variant = Variant.objects.get(pk=variant.pk)
    with pytest.raises(BlobNotFound):
        backend.store.signed_url(stored)
    with pytest.raises(BlobNotFound):
        backend.store.signed_url(variant)


@pytest.mark.parametrize("status", ["PENDING", "SCANNING", "ERROR", "INFECTED", "FLAGGED"])
def test_signed_url_refuses_files_not_cleared_by_the_scanner(backend: Backend, owner: User,
                                                             status: str) -> None:
    stored = cleared(backend.store.put(png_bytes(), owner=owner, name="a.png"))
    variant = add_variant(backend, stored)
    StoredFile.objects.filter(pk=stored.pk).update(scan_status=status)
    stored.refresh_from_db()
    with pytest.raises(BlobNotFound):
        backend.store.signed_url(stored)
    with pytest.raises(BlobNotFound):
        backend.store.signed_url(Variant.objects.get(pk=variant.pk))


def test_signed_url_rejects_unknown_disposition(backend: Backend, owner: User) -> None:
    stored = backend.store.put(png_bytes(), owner=owner, name="a.png")
    with pytest.raises(ValueError, match="disposition"):
        backend.store.signed_url(stored, disposition="evil")


@pytest.fixture
def ranged(backend: Backend, owner: User) -> tuple[Backend, bytes, str]:
    data = png_bytes() + bytes(range(256)) * 40
    stored = cleared(backend.store.put(data, owner=owner, name="r.png"))
    return backend, data, backend.store.signed_url(stored)


@pytest.mark.parametrize(("header", "start", "end"), [
    ("bytes=10-19", 10, 19),
    ("bytes=-100", -100, None),
    ("bytes=5000-", 5000, None),
    ("bytes=0-0", 0, 0),
    ("bytes=100-999999", 100, None),
    ("bytes=-999999", 0, None),
], ids=["closed", "suffix", "open-ended", "first-byte", "end-past-size", "suffix-past-size"])
def test_range_requests_get_partial_content(ranged: tuple[Backend, bytes, str], header: str,
                                            start: int, end: int | None) -> None:
    backend, data, url = ranged
    fetched = backend.fetch(url, headers={"Range": header})
    size = len(data)
    expected = data[start:] if end is None else data[start:end + 1]
    first = start % size if start < 0 else start
    assert fetched.status == 206
    assert fetched.body == expected
    assert fetched.headers["content-range"] == f"bytes {first}-{first + len(expected) - 1}/{size}"
    assert int(fetched.headers["content-length"]) == len(expected)


@pytest.mark.parametrize("header", ["bytes=999999-", "bytes=-0"])
def test_unsatisfiable_range_is_416(ranged: tuple[Backend, bytes, str], header: str) -> None:
    backend, data, url = ranged
    fetched = backend.fetch(url, headers={"Range": header})
    assert fetched.status == 416
    if backend.name == "local":
        assert fetched.headers["content-range"] == f"bytes */{len(data)}"


def test_head_of_a_signed_url(backend: Backend, owner: User) -> None:
    data = png_bytes()
    stored = cleared(backend.store.put(data, owner=owner, name="a.png"))
    url = backend.store.signed_url(stored)
    if backend.name == "s3":  # a presigned URL is signed for one method: GET
        url = backend.storage.url(stored.key, http_method="HEAD", expire=60)  # type: ignore[call-arg]
    fetched = backend.fetch(url, method="HEAD")
    assert fetched.status == 200
    assert fetched.body == b""
    assert int(fetched.headers["content-length"]) == len(data)
    assert fetched.headers["content-type"] == "image/png"


def test_s3_object_carries_the_sniffed_content_type(s3_endpoint: str, s3_bucket: str,
                                                    owner: User) -> None:
    backend = s3_backend_for(s3_endpoint, s3_bucket)
    stored = backend.store.put(png_bytes(), owner=owner, name="photo.jpg")
    head = s3_client(s3_endpoint).head_object(Bucket=s3_bucket, Key=stored.key)
    assert head["ContentType"] == "image/png"
    assert head["ContentLength"] == stored.size
