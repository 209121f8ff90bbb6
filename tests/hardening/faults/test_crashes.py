"""SIGKILL a real Celery worker process mid-scan, mid-thumbnail, mid-embedding and
mid-purge; afterwards nothing is stuck, nothing is rendered twice, nothing is orphaned,
and the quota is counted once.

The worker runs ``--pool prefork --concurrency 1``: the test watches the database until
the phase it aims at is under way in the pool process, then kills that process. The
task's message was not acknowledged (``acks_late`` + ``reject_on_worker_lost``), so the
worker's new pool process runs it again from what the database says is done; the
sweeper catches anything left in progress. Fast tier: one kill per phase;
``make hardening``: twenty.
"""

from __future__ import annotations

import io
import os
import signal
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import psutil
import pytest
from django.db.models import Count, Sum
from django.utils import timezone
from PIL import Image

from apps.processing import pipeline
from apps.processing.models import PurgeRun
from apps.processing.tasks import purge_recycle_bin, sweep_stuck
from apps.storage import quota
from apps.storage.blobs import blob_store
from apps.storage.models import BlobTombstone, ProcessingState, ScanStatus, StoredFile, Variant
from author_media.conf import QUOTA_BUCKET
from author_media.models import MediaFile
from author_media.services import media_file_store
from tests.apps.processing.test_worker import start_worker  # noqa: F401 (a fixture)
from tests.hardening.figures import FULL, record

pytestmark = [pytest.mark.real_worker, pytest.mark.django_db(transaction=True)]
KILLS_PER_PHASE = 20 if FULL else 1
IN_FLIGHT = (ProcessingState.PENDING, ProcessingState.PROCESSING)


def _wait(predicate: Callable[[], bool], timeout: float = 60, step: float = 0.005) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return False


def big_photo(seed: int) -> bytes:
    """A noisy 2400x1800 JPEG: decoding and resizing it takes long enough to be caught."""
    image = Image.effect_noise((2400, 1800), 40 + seed).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=92)
    return buffer.getvalue()


def small_png(seed: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (16 + seed % 50, 16 + seed // 50), (seed % 256, 7, 9)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def clip_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny ONNX CLIP model for the worker processes (the embed step runs for real)."""
    from tests.apps.processing.clip_model import build_tiny_clip

    model = build_tiny_clip(tmp_path_factory.mktemp("models") / "ViT-tiny__crash")
    monkeypatch.setenv("CLIP_MODEL_DIR", str(model.root))
    return Path(model.root)


@pytest.fixture
def crash_worker(clip_env: Path, start_worker: Any) -> psutil.Process:  # noqa: F811
    return psutil.Process(start_worker(pool="prefork", name="crash").pid)


def pool_pid(worker: psutil.Process) -> int | None:
    """The worker's pool process (one child at ``--concurrency 1``), read once: the
    list changes under our feet while the worker replaces a dead child."""
    children = worker.children()
    return children[0].pid if children else None


def kill_pool_process(worker: psutil.Process) -> None:
    assert _wait(lambda: pool_pid(worker) is not None, timeout=30), "no pool process"
    killed = pool_pid(worker)
    assert killed is not None
    os.kill(killed, signal.SIGKILL)
    # the worker replaces it; the unacknowledged message goes back to the queue
    assert _wait(lambda: pool_pid(worker) not in (None, killed), timeout=30), \
        "the pool process was not replaced"


def settle(ids: list[str], timeout: float = 120) -> bool:
    def done() -> bool:
        rows = StoredFile.objects.filter(pk__in=ids)
        return all(r.processing_state in (ProcessingState.READY, ProcessingState.FAILED)
                   and r.scan_status not in (ScanStatus.PENDING, ScanStatus.SCANNING)
                   for r in rows)

    if _wait(done, timeout=timeout / 2, step=0.2):
        return True
    sweep_stuck()  # what beat runs every five minutes (STUCK_AFTER is 0 here)
    return _wait(done, timeout=timeout / 2, step=0.2)


def media_root(settings: Any) -> Path:
    return Path(settings.STORAGES["default"]["OPTIONS"]["location"])


def damage(settings: Any, owner: Any) -> dict[str, int]:
    """What a crash may never leave, once the sweeper's TTLs have passed."""
    BlobTombstone.objects.update(due_at=timezone.now())  # the orphan TTL has elapsed
    blob_store.flush_tombstones()
    root = media_root(settings)
    on_disk = {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}
    recorded = set(StoredFile.objects.values_list("key", flat=True)) | set(
        Variant.objects.values_list("key", flat=True))
    duplicates = (Variant.objects.values("stored_file", "spec", "format")
                  .annotate(n=Count("id")).filter(n__gt=1).count())
    quota_errors = 0
    for bucket in ("", QUOTA_BUCKET):
        live = StoredFile.objects.filter(owner_user=owner, quota_bucket=bucket)
        expected = int(live.aggregate(n=Sum("size"))["n"] or 0)
        if quota.counts_variants(bucket):
            expected += int(Variant.objects.filter(stored_file__in=live)
                            .aggregate(n=Sum("size"))["n"] or 0)
        ledger = quota.ledger_for(owner, bucket)
        quota_errors += int((ledger.used_bytes, ledger.file_count) != (expected, live.count()))
    return {
        "stuck": StoredFile.objects.filter(processing_state__in=IN_FLIGHT).count()
        + StoredFile.objects.filter(scan_status__in=[ScanStatus.PENDING,
                                                      ScanStatus.SCANNING]).count(),
        "duplicates": duplicates + len(on_disk - recorded) + len(recorded - on_disk),
        "quota_errors": quota_errors,
    }


# How to tell, from the database, that a file's phase is under way in the pool process.
def scanning(row: StoredFile) -> bool:
    return row.scan_status == ScanStatus.SCANNING


def rendering(row: StoredFile) -> bool:
    done = row.meta.get("steps_done", [])
    return row.processing_state == ProcessingState.PROCESSING and "metadata" in done \
        and "variants" not in done


def embedding(row: StoredFile) -> bool:
    done = row.meta.get("steps_done", [])
    return "variants" in done and "embed" not in done


@pytest.mark.parametrize("phase", ["scan", "thumbnail", "embedding"])
def test_killed_mid_phase_nothing_stuck_duplicated_or_miscounted(
        crash_worker: psutil.Process, user: Any, settings: Any, phase: str) -> None:
    settings.PROCESSING = {"STUCK_AFTER": 0}
    aimed = {"scan": scanning, "thumbnail": rendering, "embedding": embedding}[phase]
    kills, ids, attempt = 0, [], 0
    while kills < KILLS_PER_PHASE and attempt < KILLS_PER_PHASE * 5:
        attempt += 1
        stored = blob_store.put(big_photo(attempt), owner=user, name=f"crash{attempt}.jpg")
        ids.append(str(stored.pk))
        pipeline.enqueue(stored)  # autocommit: sent at once
        row = StoredFile.objects.filter(pk=stored.pk)
        if _wait(lambda row=row: aimed(row.get()), timeout=30, step=0.002):
            kill_pool_process(crash_worker)
            kills += 1
        assert settle(ids), f"not settled after kill {kills}"
    found = damage(settings, user)
    record("CRASH", kills=kills, **found)
    assert kills == KILLS_PER_PHASE, f"caught the {phase} phase {kills} times in {attempt}"
    assert found == {"stuck": 0, "duplicates": 0, "quota_errors": 0}, found
    assert StoredFile.objects.filter(pk__in=ids, processing_state=ProcessingState.READY
                                     ).count() == len(ids)


def test_killed_mid_purge_the_purge_completes_and_releases_once(
        crash_worker: psutil.Process, user: Any, settings: Any) -> None:
    settings.PROCESSING = {"STUCK_AFTER": 0}
    kills = 0
    for round_ in range(KILLS_PER_PHASE):
        rows = [media_file_store(user=user, stream=io.BytesIO(small_png(round_ * 100 + i)),
                                 name=f"bin{i}.png", declared_type="image/png",
                                 declared_size=None, fields={}).media for i in range(40)]
        assert settle([str(r.stored_file_id) for r in rows])
        MediaFile.objects.filter(pk__in=[r.pk for r in rows]).update(
            deleted_at=timezone.now() - timedelta(days=3650))
        binned = MediaFile.objects.filter(pk__in=[r.pk for r in rows])
        before, total = PurgeRun.objects.count(), len(rows)
        purge_recycle_bin.apply_async()
        started = _wait(lambda b=binned, n=before, t=total: PurgeRun.objects.count() > n
                        and b.count() < t, timeout=60, step=0.002)
        assert started, "the purge never started"
        kill_pool_process(crash_worker)
        kills += 1
        assert _wait(lambda b=binned: not b.exists(), timeout=90, step=0.2), \
            "the redelivered purge did not finish"
    found = damage(settings, user)
    record("CRASH", kills=kills, **found)
    assert found == {"stuck": 0, "duplicates": 0, "quota_errors": 0}, found
