"""Faults in process: storage that fails on its Nth operation, a broker that is down.

The workload is author_media's (upload, process, delete) through the HTTP API, on a
real file system storage that fails the Nth save or delete, before or after the bytes
were written. Whatever the fault, once storage is healthy again and the sweeper ran:
no acknowledged upload lost its bytes, no row points at a missing object, no object is
left that no row records (orphans), the quota ledger equals the live bytes, and no file
is stuck in progress. (Real processes killed: test_crashes.py.)
"""

from __future__ import annotations

import contextlib
import io
import socket
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar

import pytest
from django.core.files.storage import FileSystemStorage
from django.utils import timezone
from kombu import pools
from PIL import Image
from rest_framework.test import APIClient

from apps.processing.tasks import purge_recycle_bin, sweep_stuck
from apps.storage.models import BlobTombstone, ProcessingState, StoredFile, Variant
from author_media.models import MediaFile
from config.celery import app
from tests.author_media.conftest import assert_usage_matches_files
from tests.hardening.figures import FULL, record

pytestmark = pytest.mark.django_db


class FlakyStorage(FileSystemStorage):
    """A file system storage whose Nth save or delete fails (``arm``), as a full disk,
    a lost mount or an S3 outage would: before writing, or after the bytes landed."""

    fail_at: ClassVar[int | None] = None
    after_write: ClassVar[bool] = False
    operations: ClassVar[int] = 0
    faults: ClassVar[int] = 0

    @classmethod
    def arm(cls, fail_at: int | None, *, after_write: bool = False) -> None:
        cls.fail_at, cls.after_write, cls.operations, cls.faults = fail_at, after_write, 0, 0

    def _fault_due(self) -> bool:
        FlakyStorage.operations += 1
        due = FlakyStorage.operations == FlakyStorage.fail_at
        FlakyStorage.faults += int(due)
        return due

    def _save(self, name: str, content: Any) -> str:
        if not self._fault_due():
            return str(super()._save(name, content))
        if FlakyStorage.after_write:
            super()._save(name, content)
        raise OSError(f"injected storage fault saving {name}")

    def delete(self, name: str) -> None:
        if not self._fault_due():
            super().delete(name)
            return
        if FlakyStorage.after_write:
            super().delete(name)
        raise OSError(f"injected storage fault deleting {name}")


@pytest.fixture
def flaky(settings: Any, tmp_path: Path) -> Iterator[Path]:
    root = tmp_path / "flaky-media"
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": f"{__name__}.FlakyStorage", "OPTIONS": {"location": str(root)}}}
    settings.PROCESSING = {"STUCK_AFTER": 0}
    settings.STORAGE = {**settings.STORAGE, "ORPHAN_TTL": 0}
    yield root
    FlakyStorage.arm(None)


def png(seed: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40 + seed, 30), (seed * 40 % 256, 90, 160)).save(buffer, "PNG")
    return buffer.getvalue()


def heal_and_sweep() -> None:
    """Storage is back; beat's jobs run: the sweeper and the recycle-bin purge."""
    FlakyStorage.arm(None)
    sweep_stuck()
    purge_recycle_bin()


def soft_delete_and_purge(client: APIClient, media_id: str) -> bool:
    """DELETE (soft, to the bin), then the purge once retention has passed; True when
    the deletion was acknowledged."""
    response = client.delete(f"/v1/media/{media_id}")
    assert response.status_code in (200, 204, 503), response.content[:300]
    if response.status_code == 503:
        return False
    MediaFile.objects.filter(pk=media_id).update(
        deleted_at=timezone.now() - timedelta(days=3650))
    purge_recycle_bin()  # a storage fault here is logged and retried: never raised
    return True


def objects_in(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def check_invariants(root: Path, author: Any, acknowledged: set[str]) -> dict[str, int]:
    """Count what a fault may never leave behind, once storage is healthy and swept."""
    on_disk = objects_in(root)
    recorded = set(StoredFile.objects.values_list("key", flat=True)) | set(
        Variant.objects.values_list("key", flat=True))
    live = set(MediaFile.objects.filter(pk__in=acknowledged).values_list("pk", flat=True))
    lost = sum(1 for media in MediaFile.objects.filter(pk__in=live)
               if media.stored_file is None or media.stored_file.key not in on_disk)
    lost += len({int(i) for i in acknowledged} - live - DELETED)
    lost += MediaFile.objects.filter(pk__in=DELETED).count()  # purged means gone
    dangling = len(recorded - on_disk)
    orphans = len(on_disk - recorded)
    stuck = StoredFile.objects.filter(processing_state__in=[ProcessingState.PENDING,
                                                            ProcessingState.PROCESSING]).count()
    return {"lost": lost + dangling, "orphans": orphans, "stuck": stuck}


DELETED: set[int] = set()


def workload(upload: Any, client: APIClient, on_commit: Any) -> set[str]:
    """Three uploads, processed, and one deletion; returns the acknowledged media ids
    (their deletion acknowledged too goes into DELETED)."""
    acknowledged: set[str] = set()
    for seed in range(3):
        try:
            response = upload(png(seed), filename=f"photo{seed}.png", process=True)
        except OSError:  # a task failed on storage: a worker would log it; swept later
            continue
        assert response.status_code in (201, 503), response.content[:300]
        if response.status_code == 201:
            acknowledged.add(response.json()["id"])
    if acknowledged:
        first = sorted(acknowledged)[0]
        with on_commit(execute=True):  # the bytes go once the purge commits
            if soft_delete_and_purge(client, first):
                DELETED.add(int(first))
    return acknowledged


# Every storage operation the workload makes, failed in turn, before and after the write.
POSITIONS = range(1, 25 if FULL else 13)


@pytest.mark.parametrize("after_write", [False, True], ids=["before-write", "after-write"])
@pytest.mark.parametrize("fail_at", POSITIONS)
def test_a_storage_fault_loses_nothing_and_leaves_nothing(
        flaky: Path, upload: Any, client: APIClient, author: Any, fail_at: int,
        after_write: bool, django_capture_on_commit_callbacks: Any) -> None:
    DELETED.clear()
    FlakyStorage.arm(fail_at, after_write=after_write)
    acknowledged = workload(upload, client, django_capture_on_commit_callbacks)
    faults = FlakyStorage.faults
    heal_and_sweep()
    found = check_invariants(flaky, author, acknowledged)
    record("ATOMIC", faults=faults, lost=found["lost"], orphans=found["orphans"],
           invariant_breaks=found["stuck"])
    assert found == {"lost": 0, "orphans": 0, "stuck": 0}, found
    assert not BlobTombstone.objects.exists()  # every deletion retried to completion
    assert_usage_matches_files(author)  # the quota counted once, whatever failed


def test_a_failed_delete_is_retried_to_completion_and_released_once(
        flaky: Path, upload: Any, client: APIClient, author: Any,
        django_capture_on_commit_callbacks: Any) -> None:
    response = upload(png(1), process=True)
    media_id = response.json()["id"]
    stored = MediaFile.objects.get(pk=media_id).stored_file
    keys = {stored.key, *stored.variants.values_list("key", flat=True)}
    FlakyStorage.arm(1)  # the first delete fails: the row goes, the bytes stay for now
    with django_capture_on_commit_callbacks(execute=True):
        assert soft_delete_and_purge(client, media_id)
    assert FlakyStorage.faults == 1
    assert not MediaFile.objects.filter(pk=media_id).exists()
    assert BlobTombstone.objects.filter(key__in=keys).exists()
    assert_usage_matches_files(author)  # released at once, with the row
    for _ in range(2):  # retried: twice changes nothing more
        heal_and_sweep()
    assert not objects_in(flaky) & keys
    assert not BlobTombstone.objects.exists()
    assert_usage_matches_files(author)
    record("ATOMIC", faults=1, lost=0, orphans=len(objects_in(flaky) & keys))


def test_bytes_announced_but_never_recorded_are_swept(flaky: Path, author: Any) -> None:
    """What a process killed between the write and the commit leaves (the write's
    announcement, committed first, and the bytes), is removed once due."""
    from apps.storage.blobs import blob_store

    blob_store._announce("crashed/2026/11/orphan.png")
    blob_store.storage.save("crashed/2026/11/orphan.png", io.BytesIO(png(3)))
    assert objects_in(flaky) == {"crashed/2026/11/orphan.png"}
    heal_and_sweep()
    assert objects_in(flaky) == set()
    record("ATOMIC", faults=1, lost=0, orphans=len(objects_in(flaky)))


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def broker_down() -> Iterator[None]:
    """The app's broker pointed at a port nothing listens on, for real: publishing fails
    the way it does when Redis is down (connection refused)."""
    saved = (app.conf.broker_url, app.conf.task_always_eager)
    app.conf.broker_url = f"redis://127.0.0.1:{_closed_port()}/0"
    app.conf.task_always_eager = False
    _fresh_connections()
    try:
        yield
    finally:
        app.conf.broker_url, app.conf.task_always_eager = saved
        _fresh_connections()


def _fresh_connections() -> None:
    """Drop the app's cached broker connections so the next publish uses broker_url."""
    app.pool.force_close_all()
    app._pool = None
    app.amqp._producer_pool = None
    pools.reset()


def test_broker_down_at_enqueue_loses_no_work(flaky: Path, upload: Any, author: Any,
                                              caplog: Any) -> None:
    FlakyStorage.arm(None)
    with broker_down():
        response = upload(png(2), process=True)  # on-commit: the scan is "sent" now
    assert response.status_code == 201  # stored and acknowledged, not a 500
    stored = MediaFile.objects.get(pk=response.json()["id"]).stored_file
    assert stored.processing_state == ProcessingState.PENDING
    assert "broker unavailable" in caplog.text
    sweep_stuck()  # the broker is back: the sweeper finds the recorded work
    stored.refresh_from_db()
    assert stored.processing_state == ProcessingState.READY
    assert stored.variants.exists()
    record("ATOMIC", faults=1, lost=int(stored.processing_state != ProcessingState.READY),
           orphans=0)
