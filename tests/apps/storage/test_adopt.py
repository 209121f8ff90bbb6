"""Bytes a client wrote into storage itself: ``adopt`` (an object at a key), ``put_reserved``
(staged bytes under an earlier reservation), and the S3 calls behind presigned POSTs and
multipart uploads — over local FileSystemStorage and the real moto S3 server.

What a caller relies on: adopt checks what put checks (size, sniffed type, emptiness),
charges the quota by consuming the reservation in the transaction that inserts the row
(and runs ``attach`` there), and on any refusal deletes the object and leaves the
reservation to its owner; a missing object changes nothing.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pytest
import requests
from django.core.files.base import ContentFile

from apps.accounts.models import User
from apps.storage import quota, s3
from apps.storage.errors import (
    BlobNotFound,
    EmptyUpload,
    QuotaExceeded,
    TypeMismatch,
    UploadTooLarge,
)
from apps.storage.models import QuotaLedger, QuotaReservation, StoredFile
from tests.apps.storage.helpers import Backend, assert_no_orphans, s3_client
from tests.apps.storage.samples import MIB, PDF_BYTES, png_bytes

pytestmark = pytest.mark.django_db

PNG = png_bytes((40, 30))


def written(backend: Backend, key: str, data: bytes) -> str:
    """An object a client wrote at ``key`` (through the storage, as a presigned POST would)."""
    saved = backend.storage.save(key, ContentFile(data))
    assert saved == key
    return key


def ledger(owner: User) -> QuotaLedger:
    return QuotaLedger.objects.get(owner_user=owner, bucket="")


def test_adopt_records_the_object_where_it_is(backend: Backend, owner: User) -> None:
    key = written(backend, "u/incoming/one.png", PNG)
    reservation = quota.quota_reserve(owner=owner, nbytes=len(PNG))
    attached: list[StoredFile] = []
    stored = backend.store.adopt(key, owner=owner, name="cover.png", max_size=len(PNG),
                                 reservation=reservation, declared_type="image/png",
                                 attach=attached.append)
    assert (stored.key, stored.size, stored.mime_type, stored.kind) == (
        key, len(PNG), "image/png", "image")
    assert stored.sha256 == hashlib.sha256(PNG).hexdigest()
    assert stored.original_name == "cover.png" and attached == [stored]
    assert backend.keys() == {key}
    row = ledger(owner)
    assert (row.used_bytes, row.reserved_bytes, row.file_count, row.image_count) == (
        len(PNG), 0, 1, 1)
    assert not QuotaReservation.objects.exists()


def test_adopt_with_relocate_moves_the_checked_bytes_to_a_platform_key(
        backend: Backend, owner: User) -> None:
    key = written(backend, f"u/{owner.pk}/incoming/abc.bin", PNG)
    stored = backend.store.adopt(key, owner=owner, name="x.png", max_size=len(PNG),
                                 relocate=True)
    assert stored.key != key and stored.key.startswith(f"u/{owner.pk}/")
    assert stored.key.endswith(f"{stored.id.hex}.png")
    assert backend.keys() == {stored.key}
    with backend.storage.open(stored.key, "rb") as handle:
        assert handle.read() == PNG


def test_adopt_of_a_missing_object_changes_nothing(backend: Backend, owner: User) -> None:
    other = written(backend, "u/incoming/other.png", PNG)
    reservation = quota.quota_reserve(owner=owner, nbytes=100)
    with pytest.raises(BlobNotFound):
        backend.store.adopt("u/incoming/never.png", owner=owner, name="a.png", max_size=100,
                            reservation=reservation)
    assert QuotaReservation.objects.filter(pk=reservation.pk).exists()
    assert ledger(owner).reserved_bytes == 100 and ledger(owner).used_bytes == 0
    assert not StoredFile.objects.exists() and backend.keys() == {other}


@pytest.mark.parametrize(("data", "declared", "error"), [
    (PNG + b"\0" * 10, "image/png", UploadTooLarge),  # one byte past the reservation is enough
    (PDF_BYTES, "image/png", TypeMismatch),
    (b"", "image/png", EmptyUpload),
], ids=["larger-than-reserved", "type-mismatch", "empty"])
def test_refused_objects_are_deleted_and_the_reservation_is_kept(
        backend: Backend, owner: User, data: bytes, declared: str, error: type) -> None:
    key = written(backend, "u/incoming/refused.png", data)
    reservation = quota.quota_reserve(owner=owner, nbytes=len(PNG))
    with pytest.raises(error):
        backend.store.adopt(key, owner=owner, name="refused.png", max_size=len(PNG),
                            reservation=reservation, declared_type=declared)
    assert backend.keys() == set()
    assert not StoredFile.objects.exists()
    row = ledger(owner)
    assert (row.used_bytes, row.reserved_bytes) == (0, len(PNG))  # the caller releases it


def test_a_failing_attach_rolls_back_and_deletes_the_object(backend: Backend,
                                                            owner: User) -> None:
    key = written(backend, "u/incoming/dup.png", PNG)
    reservation = quota.quota_reserve(owner=owner, nbytes=len(PNG))

    def attach(stored: StoredFile) -> None:
        raise LookupError("the feature refused it")

    with pytest.raises(LookupError):
        backend.store.adopt(key, owner=owner, name="dup.png", max_size=len(PNG),
                            reservation=reservation, attach=attach)
    assert backend.keys() == set() and not StoredFile.objects.exists()
    assert ledger(owner).used_bytes == 0
    assert QuotaReservation.objects.filter(pk=reservation.pk).exists()


def test_a_changed_object_is_not_relocated(backend: Backend, owner: User,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """The copy only takes the version that was read (S3: CopySourceIfMatch); when it
    fails both keys go and nothing is recorded."""
    key = written(backend, "u/incoming/changing.png", PNG)

    def changed(*args: Any, **kwargs: Any) -> None:
        raise s3.ObjectChanged()

    monkeypatch.setattr(type(backend.store), "_copy", changed)
    with pytest.raises(s3.ObjectChanged):
        backend.store.adopt(key, owner=owner, name="c.png", max_size=len(PNG), relocate=True)
    assert backend.keys() == set() and not StoredFile.objects.exists()


def test_put_reserved_consumes_the_reservation_or_leaves_it(backend: Backend,
                                                            owner: User) -> None:
    quota_row = quota.ledger_for(owner)
    quota_row.limit_bytes = len(PNG) + 10
    quota_row.save()
    reservation = quota.quota_reserve(owner=owner, nbytes=len(PNG))
    # the reservation holds the room: an unreserved put of the same size does not fit
    with pytest.raises(QuotaExceeded):
        backend.store.put(PNG, owner=owner, name="other.png")
    with pytest.raises(UploadTooLarge):
        backend.store.put_reserved(PNG + b"\0", owner=owner, name="big.png",
                                   reservation=reservation)
    assert ledger(owner).reserved_bytes == len(PNG)
    stored = backend.store.put_reserved(iter([PNG[:100], PNG[100:]]), owner=owner,
                                        name="a.png", reservation=reservation)
    row = ledger(owner)
    assert (row.used_bytes, row.reserved_bytes, stored.size) == (len(PNG), 0, len(PNG))
    assert backend.keys() == {stored.key}
    assert_no_orphans(backend)


def test_object_size_and_discard(backend: Backend) -> None:
    key = written(backend, "u/incoming/sized.bin", b"x" * 1234)
    assert backend.store.object_size(key) == 1234
    assert backend.store.object_size("u/incoming/none.bin") is None
    backend.store.discard(key)
    backend.store.discard(key)  # idempotent
    assert backend.keys() == set()


# -- S3 only ----------------------------------------------------------------------------------
@pytest.fixture
def s3_backend(backend: Backend) -> Backend:
    if backend.name != "s3":
        pytest.skip("an S3 operation")
    return backend


def _policy(fields: dict[str, str]) -> dict[str, Any]:
    policy: dict[str, Any] = json.loads(base64.b64decode(fields["policy"]))
    return policy


def test_presigned_post_pins_key_type_and_exact_length(s3_backend: Backend,
                                                       s3_endpoint: str) -> None:
    post = s3_backend.store.presigned_post("u/1/incoming/p.png", size=len(PNG),
                                           content_type="image/png", ttl=600)
    conditions = _policy(post["fields"])["conditions"]
    assert ["content-length-range", len(PNG), len(PNG)] in conditions
    assert {"Content-Type": "image/png"} in conditions
    assert {"key": "u/1/incoming/p.png"} in conditions
    sent = requests.post(post["url"], data=post["fields"],
                         files={"file": ("p.png", PNG, "image/png")}, timeout=30)
    assert sent.status_code in (200, 201, 204), sent.text
    assert s3_backend.store.object_size("u/1/incoming/p.png") == len(PNG)


def test_local_storage_has_no_presigned_operations(local_backend: Backend) -> None:
    assert not local_backend.store.is_s3
    with pytest.raises(RuntimeError):
        local_backend.store.presigned_post("k", size=1, content_type="image/png", ttl=1)


def test_multipart_parts_in_any_order_then_complete(s3_backend: Backend,
                                                    s3_endpoint: str) -> None:
    store, key = s3_backend.store, "u/1/2026/01/multi.bin"
    first = PNG + b"\1" * (5 * MIB - len(PNG))
    last = b"\2" * 1000
    upload_id = store.multipart_create(key, content_type="image/png")
    etags = {}
    for number, data in ((2, last), (1, b"\3" * (5 * MIB)), (1, first)):  # out of order, retried
        url = store.multipart_part_url(key, upload_id=upload_id, part_number=number, ttl=600)
        sent = requests.put(url, data=data, timeout=60)
        assert sent.status_code == 200, sent.text
        etags[number] = sent.headers["ETag"]
    parts = store.multipart_parts(key, upload_id=upload_id)
    assert [(p.number, p.etag, p.size) for p in parts] == [
        (1, etags[1], len(first)), (2, etags[2], len(last))]
    store.multipart_complete(key, upload_id=upload_id, parts=[(1, etags[1]), (2, etags[2])])
    assert store.object_size(key) == len(first) + len(last)
    with pytest.raises(BlobNotFound):
        store.multipart_parts(key, upload_id=upload_id)  # the upload is over


def test_multipart_abort_drops_the_parts(s3_backend: Backend, s3_endpoint: str,
                                         s3_bucket: str) -> None:
    store, key = s3_backend.store, "u/1/2026/01/aborted.bin"
    upload_id = store.multipart_create(key, content_type="application/octet-stream")
    url = store.multipart_part_url(key, upload_id=upload_id, part_number=1, ttl=600)
    assert requests.put(url, data=b"abc", timeout=30).status_code == 200
    store.multipart_abort(key, upload_id=upload_id)
    store.multipart_abort(key, upload_id=upload_id)  # gone already: not an error
    uploads = s3_client(s3_endpoint).list_multipart_uploads(Bucket=s3_bucket)
    assert not uploads.get("Uploads")
    assert s3_backend.keys() == set()


def test_complete_with_a_wrong_etag_is_refused(s3_backend: Backend, s3_endpoint: str) -> None:
    store, key = s3_backend.store, "u/1/2026/01/wrong.bin"
    upload_id = store.multipart_create(key, content_type="application/octet-stream")
    url = store.multipart_part_url(key, upload_id=upload_id, part_number=1, ttl=600)
    assert requests.put(url, data=b"abc", timeout=30).status_code == 200
    with pytest.raises(s3.MultipartRefused):
        store.multipart_complete(key, upload_id=upload_id, parts=[(1, '"0000"')])
    assert store.object_size(key) is None
