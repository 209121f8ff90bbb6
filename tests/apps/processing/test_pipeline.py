"""The ingest pipeline: states, transitions, idempotent re-runs, failures, the sweeper."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from apps.processing import pipeline, registry, scanning
from apps.processing.errors import PermanentError, TransientError
from apps.processing.models import StoredFileTransition
from apps.processing.tasks import run_pipeline, sweep_stuck
from apps.storage.blobs import blob_store
from apps.storage.models import ProcessingState, ScanStatus, StoredFile
from tests.apps.processing.images import image_bytes
from tests.testapp.models import Clip

pytestmark = pytest.mark.django_db

PNG = image_bytes("PNG")


def scanned(stored: StoredFile) -> StoredFile:
    """Through the real scanner (clamd): the pipeline only processes cleared files."""
    assert scanning.scan_file(stored) == ScanStatus.CLEAN
    return stored


@pytest.fixture
def stored(user: Any) -> StoredFile:
    return scanned(blob_store.put(PNG, owner=user, name="pixel.png"))


def test_enqueue_on_commit_scans_then_runs_the_registered_steps(
        user: Any, django_capture_on_commit_callbacks: Any) -> None:
    stored = blob_store.put(PNG, owner=user, name="pixel.png")
    Clip.objects.create(title="c", stored_file=stored)
    assert registry.steps_for(stored) == ("probe",)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        pipeline.enqueue(stored)
    assert len(callbacks) == 1
    stored.refresh_from_db()
    assert stored.processing_state == ProcessingState.READY
    assert stored.meta["steps_done"] == ["probe"] and "probed_at" in stored.meta
    assert stored.scan_status == ScanStatus.CLEAN and stored.scanned_at is not None
    moves = list(StoredFileTransition.objects.filter(stored_file=stored)
                 .values_list("field", "from_state", "to_state"))
    assert moves == [("scan_status", "PENDING", "SCANNING"), ("scan_status", "SCANNING", "CLEAN"),
                     ("processing_state", "pending", "processing"),
                     ("processing_state", "processing", "ready")]


def test_rerun_of_a_finished_file_does_nothing(stored: StoredFile) -> None:
    assert run_pipeline(stored_file_id=str(stored.pk)) == ProcessingState.READY
    before = StoredFileTransition.objects.count()
    stored.refresh_from_db()
    probed_at = stored.meta["probed_at"]
    assert run_pipeline(stored_file_id=str(stored.pk)) == ProcessingState.READY
    stored.refresh_from_db()
    assert StoredFileTransition.objects.count() == before
    assert stored.meta["probed_at"] == probed_at


def test_a_step_done_before_a_crash_is_not_repeated(stored: StoredFile,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    registry.register_step("count", lambda f: calls.append("count"))
    try:
        StoredFile.objects.filter(pk=stored.pk).update(
            processing_state=ProcessingState.PROCESSING, meta={"steps_done": ["count"]})
        stored.refresh_from_db()
        assert pipeline.run(stored, ["count", "probe"]) == ProcessingState.READY
        assert calls == []
    finally:
        registry._STEPS.pop("count", None)


def test_permanent_error_marks_failed_with_reason(stored: StoredFile) -> None:
    def broken(_: StoredFile) -> None:
        raise PermanentError("not an image after all")

    registry.register_step("broken", broken)
    try:
        assert run_pipeline(stored_file_id=str(stored.pk), steps=["broken"]) == "failed"
    finally:
        registry._STEPS.pop("broken", None)
    stored.refresh_from_db()
    assert stored.processing_state == ProcessingState.FAILED
    assert stored.processing_error == "broken: not an image after all"


def test_deleted_file_is_skipped(stored: StoredFile) -> None:
    file_id = str(stored.pk)
    blob_store.delete(stored)
    assert run_pipeline(stored_file_id=file_id) == "gone"


def test_tasks_take_keyword_arguments_only(stored: StoredFile) -> None:
    with pytest.raises(TypeError, match="keyword arguments only"):
        run_pipeline.apply(args=[str(stored.pk)]).get()


def test_task_safety_options() -> None:
    assert run_pipeline.acks_late is True
    assert run_pipeline.reject_on_worker_lost is True
    assert TransientError in run_pipeline.autoretry_for
    assert PermanentError not in run_pipeline.autoretry_for
    assert run_pipeline.retry_backoff is True and run_pipeline.retry_jitter is True
    from config.celery import app

    assert app.amqp.router.route({}, "processing.run_pipeline")["queue"].name == "media"
    assert app.amqp.router.route({}, "processing.ping")["queue"].name == "default"


def test_sweeper_requeues_only_files_stuck_past_the_timeout(user: Any) -> None:
    stuck = scanned(blob_store.put(PNG, owner=user, name="stuck.png"))
    fresh = scanned(blob_store.put(PNG, owner=user, name="fresh.png"))
    StoredFile.objects.filter(pk=stuck.pk).update(
        processing_state=ProcessingState.PROCESSING,
        state_changed_at=timezone.now() - timedelta(hours=1))
    StoredFile.objects.filter(pk=fresh.pk).update(processing_state=ProcessingState.PROCESSING)
    result = sweep_stuck()
    assert result["requeued"] == 1 and result["rescans"] == 0
    stuck.refresh_from_db()
    fresh.refresh_from_db()
    assert stuck.processing_state == ProcessingState.READY
    assert fresh.processing_state == ProcessingState.PROCESSING


def test_probe_fills_image_facts(stored: StoredFile) -> None:
    run_pipeline(stored_file_id=str(stored.pk))
    stored.refresh_from_db()
    assert (stored.width, stored.height, stored.frame_count) == (64, 48, 1)
    assert stored.dominant_color.startswith("#") and len(stored.blurhash) == 28
    assert stored.meta["format"] == "PNG"


def test_corrupt_image_ends_failed_with_a_reason(user: Any) -> None:
    broken = scanned(blob_store.put(PNG[:60], owner=user, name="broken.png"))
    assert run_pipeline(stored_file_id=str(broken.pk)) == ProcessingState.FAILED
    broken.refresh_from_db()
    assert broken.processing_error.startswith("probe: corrupt or truncated image")
    assert broken.width is None
