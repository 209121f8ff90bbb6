"""Quota buckets: a feature app's own ledger per owner, apart from the platform's; and
put()'s hooks for a feature's key layout and its row committed with the file."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from apps.accounts.models import User
from apps.storage import quota
from apps.storage.errors import QuotaExceeded
from apps.storage.models import QuotaLedger, StoredFile
from tests.apps.storage.helpers import Backend
from tests.apps.storage.samples import png_bytes

BUCKET = "test-bucket"


@pytest.fixture(autouse=True)
def _bucket() -> Iterator[None]:
    quota.register_bucket(BUCKET, default_limit=lambda: 3 * len(png_bytes()))
    yield
    quota._BUCKET_DEFAULTS.pop(BUCKET, None)


@pytest.mark.django_db
def test_bucket_has_its_own_ledger_limit_and_counts(backend: Backend, owner: User) -> None:
    data = png_bytes()
    backend.store.put(data, owner=owner, name="a.png")
    stored = backend.store.put(data, owner=owner, name="b.png", quota_bucket=BUCKET)
    assert stored.quota_bucket == BUCKET
    platform = QuotaLedger.objects.get(owner_user=owner, bucket="")
    own = QuotaLedger.objects.get(owner_user=owner, bucket=BUCKET)
    assert (platform.used_bytes, platform.file_count) == (len(data), 1)
    assert (own.used_bytes, own.file_count, own.image_count) == (len(data), 1, 1)
    assert quota.limit_of(own) == 3 * len(data)  # the bucket's registered default
    backend.store.delete(stored)
    own.refresh_from_db()
    platform.refresh_from_db()
    assert (own.used_bytes, own.file_count, own.image_count) == (0, 0, 0)
    assert platform.used_bytes == len(data)  # released from the bucket it was charged to


@pytest.mark.django_db
def test_bucket_limit_is_enforced_apart_from_the_platform_quota(backend: Backend,
                                                                owner: User) -> None:
    data = png_bytes()
    for _ in range(3):
        backend.store.put(data, owner=owner, name="a.png", quota_bucket=BUCKET)
    with pytest.raises(QuotaExceeded):
        backend.store.put(data, owner=owner, name="a.png", quota_bucket=BUCKET)
    with pytest.raises(QuotaExceeded):  # a reservation is refused up front too
        backend.store.put(data, owner=owner, name="a.png", quota_bucket=BUCKET,
                          declared_size=len(data))
    backend.store.put(data, owner=owner, name="a.png")  # the platform quota has room
    assert StoredFile.objects.filter(owner_user=owner, quota_bucket=BUCKET).count() == 3


@pytest.mark.django_db
def test_unregistered_bucket_is_refused_before_anything_is_stored(backend: Backend,
                                                                  owner: User) -> None:
    with pytest.raises(LookupError):
        backend.store.put(png_bytes(), owner=owner, name="a.png", quota_bucket="nope")
    assert not StoredFile.objects.exists()
    assert backend.keys() == set()


@pytest.mark.django_db
def test_recalculate_rebuilds_one_bucket(backend: Backend, owner: User) -> None:
    data = png_bytes()
    backend.store.put(data, owner=owner, name="a.png")
    backend.store.put(data, owner=owner, name="b.png", quota_bucket=BUCKET)
    QuotaLedger.objects.filter(owner_user=owner, bucket=BUCKET).update(used_bytes=7,
                                                                       file_count=9)
    ledger = quota.quota_recalculate(owner=owner, bucket=BUCKET)
    assert (ledger.used_bytes, ledger.file_count, ledger.image_count) == (len(data), 1, 1)


@pytest.mark.django_db
def test_key_for_names_the_object_and_the_label(backend: Backend, owner: User) -> None:
    stored = backend.store.put(png_bytes(), owner=owner, name=None,
                               key_for=lambda i, ext: f"media/{owner.pk}/x-{i.hex}{ext}")
    assert stored.key == f"media/{owner.pk}/x-{stored.id.hex}.png"
    assert stored.original_name == f"x-{stored.id.hex}.png"
    assert backend.keys() == {stored.key}


@pytest.mark.django_db
def test_attach_runs_in_the_files_transaction(backend: Backend, owner: User) -> None:
    seen: list[Any] = []
    stored = backend.store.put(png_bytes(), owner=owner, name="a.png",
                               attach=lambda s: seen.append(StoredFile.objects.get(pk=s.pk)))
    assert seen and seen[0].pk == stored.pk  # the row exists (uncommitted) when attach runs


@pytest.mark.django_db
def test_attach_failing_leaves_nothing(backend: Backend, owner: User) -> None:
    def refuse(stored: StoredFile) -> None:
        raise ValueError("the feature row could not be made")

    with pytest.raises(ValueError):
        backend.store.put(png_bytes(), owner=owner, name="a.png", quota_bucket=BUCKET,
                          attach=refuse)
    assert not StoredFile.objects.exists()
    assert backend.keys() == set()
    assert not QuotaLedger.objects.filter(used_bytes__gt=0).exists()


@pytest.mark.django_db
def test_replace_content_keeps_the_key_directory(backend: Backend, owner: User,
                                                 django_capture_on_commit_callbacks: Any) -> None:
    stored = backend.store.put(png_bytes(), owner=owner, name=None, quota_bucket=BUCKET,
                               key_for=lambda file_id, ext: f"media/{owner.pk}/f{ext}")
    old_key = stored.key
    with django_capture_on_commit_callbacks(execute=True):  # the old bytes go on commit
        backend.store.replace_content(stored, png_bytes(size=(10, 10)), reason="test")
    assert stored.key != old_key and stored.key.startswith(f"media/{owner.pk}/")
    assert backend.keys() == {stored.key}
    assert QuotaLedger.objects.get(owner_user=owner, bucket=BUCKET).used_bytes == stored.size
