"""Celery tasks of the platform. Names are stable dotted names: messages outlive code."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.utils import timezone

from apps.processing import pipeline, previews, registry, scanning, variants
from apps.processing.conf import processing_settings
from apps.processing.embeddings import embed_files
from apps.processing.models import PurgeRun
from apps.processing.taskbase import platform_task
from apps.storage import quota
from apps.storage.blobs import blob_store, is_servable
from apps.storage.models import ProcessingState, ScanStatus, StoredFile

__all__ = ["embed_files"]  # processing.embed lives with its service; imported to register

logger = logging.getLogger(__name__)


@platform_task("processing.ping")
def ping(*, value: str = "pong") -> str:
    """Round-trip check: proves a worker consumes from the broker and can answer (and,
    through its log record, that the enqueuing request's id reached the worker)."""
    logger.info("ping answered", extra={"value": value})
    return value


@platform_task("processing.scan")
def scan(*, stored_file_id: str, steps: list[str] | None = None) -> str:
    """Scan a file (on the ``scan`` queue), then hand a clean one to the pipeline."""
    stored = StoredFile.objects.filter(pk=stored_file_id).first()
    if stored is None:
        return "gone"
    status = scanning.scan_file(stored)
    if status == ScanStatus.CLEAN and not stored.is_quarantined:
        kwargs: dict[str, Any] = {"stored_file_id": stored_file_id}
        if steps is not None:
            kwargs["steps"] = steps
        run_pipeline.apply_async(kwargs=kwargs)
    return str(status)


@platform_task("processing.run_pipeline")
def run_pipeline(*, stored_file_id: str, steps: list[str] | None = None) -> str:
    stored = StoredFile.objects.filter(pk=stored_file_id).first()
    if stored is None:
        return "gone"  # deleted meanwhile: nothing to do
    if stored.scan_status in scanning.SCANNABLE:  # not judged yet: scan first
        scan.apply_async(kwargs={"stored_file_id": stored_file_id, "steps": steps})
        return "awaiting-scan"
    if steps is None:  # a re-queue: the steps the file was started with, else its app's
        steps = stored.meta.get("steps") or list(registry.steps_for(stored))
    return pipeline.run(stored, steps)


@platform_task("processing.regenerate_variants")
def regenerate_variants(*, stored_file_id: str, spec_names: list[str] | None = None,
                        force: bool = False) -> int:
    """Re-render a file's stale variants (``manage.py regenerate_variants --queue``)."""
    stored = StoredFile.objects.filter(pk=stored_file_id).first()
    if stored is None or not is_servable(stored):
        return 0
    return len(variants.variants_generate(stored, spec_names=spec_names, force=force))


@platform_task("processing.link_preview")
def link_preview(*, label: str, pk: str) -> str:
    """Fetch a saved link's preview (SSRF-safe) onto its row."""
    preview = previews.link_preview_refresh(label=label, pk=pk)
    return "gone" if preview is None else str(preview["status"])


@platform_task("processing.sweep_stuck")
def sweep_stuck() -> dict[str, int]:
    """Re-queue files stuck in progress, retry storage deletions, free stale reservations."""
    cutoff = timezone.now() - timedelta(seconds=int(processing_settings.STUCK_AFTER))
    unscanned = StoredFile.objects.filter(scan_status__in=scanning.SCANNABLE,
                                          state_changed_at__lt=cutoff)
    unprocessed = StoredFile.objects.filter(
        processing_state__in=[ProcessingState.PENDING, ProcessingState.PROCESSING],
        scan_status=ScanStatus.CLEAN, is_quarantined=False, state_changed_at__lt=cutoff)
    rescans = [str(pk) for pk in unscanned.values_list("pk", flat=True)[:1000]]
    reruns = [str(pk) for pk in unprocessed.values_list("pk", flat=True)[:1000]]
    for pk in rescans:
        scan.apply_async(kwargs={"stored_file_id": pk})
    for pk in reruns:
        run_pipeline.apply_async(kwargs={"stored_file_id": pk})
    return {
        "rescans": len(rescans),
        "requeued": len(reruns),
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
