"""Celery tasks of the platform. Names are stable dotted names: messages outlive code."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.db.models import Q
from django.utils import timezone

from apps.processing import pipeline, registry
from apps.processing.conf import processing_settings
from apps.processing.models import PurgeRun
from apps.processing.taskbase import platform_task
from apps.storage import quota
from apps.storage.blobs import blob_store
from apps.storage.models import ProcessingState, ScanStatus, StoredFile

logger = logging.getLogger(__name__)


@platform_task("processing.ping")
def ping(*, value: str = "pong") -> str:
    """Round-trip check: proves a worker consumes from the broker and can answer."""
    return value


@platform_task("processing.run_pipeline")
def run_pipeline(*, stored_file_id: str, steps: list[str] | None = None) -> str:
    stored = StoredFile.objects.filter(pk=stored_file_id).first()
    if stored is None:
        return "gone"  # deleted meanwhile: nothing to do
    return pipeline.run(stored, steps if steps is not None else registry.steps_for(stored))


@platform_task("processing.sweep_stuck")
def sweep_stuck() -> dict[str, int]:
    """Re-queue files stuck in progress, retry storage deletions, free stale reservations."""
    cutoff = timezone.now() - timedelta(seconds=int(processing_settings.STUCK_AFTER))
    stuck = StoredFile.objects.filter(
        Q(processing_state__in=[ProcessingState.PENDING, ProcessingState.PROCESSING])
        | Q(scan_status=ScanStatus.SCANNING),
        state_changed_at__lt=cutoff,
    ).only("pk")[:1000]
    requeued = 0
    for stored in stuck:
        run_pipeline.apply_async(kwargs={"stored_file_id": str(stored.pk)})
        requeued += 1
    return {
        "requeued": requeued,
        "tombstones_flushed": blob_store.flush_tombstones(),
        "reservations_released": quota.quota_expire_reservations(),
    }


def _purge_row(entry: registry.MediaModel, row: Any) -> None:
    if entry.purge is not None:
        entry.purge(row)
        return
    stored = getattr(row, entry.file_field, None)
    row.delete()
    if stored is not None:
        blob_store.delete(stored)


@platform_task("processing.purge_recycle_bin")
def purge_recycle_bin() -> dict[str, int]:
    """Permanently delete what has been in a recycle bin past its retention."""
    run = PurgeRun.objects.create()
    purged = failed = 0
    detail: dict[str, int] = {}
    for entry in registry.media_models():
        if entry.retention_days is None:
            continue
        cutoff = timezone.now() - timedelta(days=entry.retention_days)
        manager = entry.model._base_manager
        rows = manager.filter(deleted_at__isnull=False, deleted_at__lt=cutoff)
        count = 0
        for row in rows.iterator(chunk_size=200):
            try:
                _purge_row(entry, row)
                count += 1
            except Exception:
                logger.exception("purge of %s %s failed", entry.label, row.pk)
                failed += 1
        detail[entry.label] = count
        purged += count
    PurgeRun.objects.filter(pk=run.pk).update(finished_at=timezone.now(), purged=purged,
                                              failed=failed, detail=detail)
    return {"purged": purged, "failed": failed}
