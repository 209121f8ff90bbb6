"""Scanning with the real clamd: verdicts, outages, required/optional, admin decisions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from celery.exceptions import Retry
from django.test import Client
from django.utils import timezone

from apps.core.errors import ConflictError
from apps.processing import pipeline, scanning
from apps.processing.errors import TransientError
from apps.processing.models import StoredFileTransition
from apps.processing.tasks import scan, sweep_stuck
from apps.storage.blobs import blob_store
from apps.storage.errors import BlobNotFound
from apps.storage.models import ProcessingState, ScanStatus, StoredFile
from tests.apps.processing.engines.test_clamd import EICAR
from tests.apps.processing.images import image_bytes

pytestmark = pytest.mark.django_db

PNG = image_bytes("PNG")
DOWN = "tcp://127.0.0.1:1"


def fresh(stored: StoredFile) -> StoredFile:
    return StoredFile.objects.get(pk=stored.pk)


def test_clean_file_is_cleared_then_processed(user: Any, django_capture_on_commit_callbacks: Any
                                              ) -> None:
    stored = blob_store.put(PNG, owner=user, name="a.png")
    with pytest.raises(BlobNotFound):  # not served before the scanner says so
        blob_store.signed_url(stored)
    with django_capture_on_commit_callbacks(execute=True):
        pipeline.enqueue(stored)
    stored = fresh(stored)
    assert stored.scan_status == ScanStatus.CLEAN and stored.scanned_at is not None
    assert stored.scan_result == "" and not stored.is_quarantined
    assert stored.processing_state == ProcessingState.READY
    assert blob_store.signed_url(stored)


def test_infected_file_is_quarantined_and_never_processed(user: Any,
                                                         django_capture_on_commit_callbacks: Any
                                                         ) -> None:
    stored = blob_store.put(EICAR, owner=user, name="readme.txt")
    with django_capture_on_commit_callbacks(execute=True):
        pipeline.enqueue(stored)
    stored = fresh(stored)
    assert stored.scan_status == ScanStatus.INFECTED and stored.is_quarantined
    assert stored.scan_result.startswith("Eicar-Test-Signature")
    assert stored.processing_state == ProcessingState.PENDING
    assert "steps_done" not in stored.meta
    with pytest.raises(BlobNotFound):
        blob_store.signed_url(stored)
    # Neither a re-run nor the sweeper touches it again.
    assert scan(stored_file_id=str(stored.pk)) == ScanStatus.INFECTED
    StoredFile.objects.filter(pk=stored.pk).update(
        state_changed_at=timezone.now() - timedelta(days=1))
    assert sweep_stuck() == {**sweep_stuck(), "rescans": 0, "requeued": 0}


def test_scanner_outage_leaves_error_never_clean_and_recovers(user: Any, settings: Any,
                                                              clamd_address: str) -> None:
    stored = blob_store.put(PNG, owner=user, name="a.png")
    settings.CLAMD_ADDRESS = DOWN
    with pytest.raises(TransientError):
        scanning.scan_file(stored)
    stored = fresh(stored)
    assert stored.scan_status == ScanStatus.ERROR
    assert stored.scan_result.startswith("scanner unavailable")
    with pytest.raises(BlobNotFound):
        blob_store.signed_url(stored)
    # The sweeper retries it once the outage is over (and only when it is old enough).
    settings.CLAMD_ADDRESS = clamd_address
    assert sweep_stuck()["rescans"] == 0
    StoredFile.objects.filter(pk=stored.pk).update(
        state_changed_at=timezone.now() - timedelta(hours=1))
    assert sweep_stuck()["rescans"] == 1
    stored = fresh(stored)
    assert stored.scan_status == ScanStatus.CLEAN
    assert stored.processing_state == ProcessingState.READY


def test_scan_task_retries_on_outage(user: Any, settings: Any) -> None:
    settings.CLAMD_ADDRESS = DOWN
    stored = blob_store.put(PNG, owner=user, name="a.png")
    with pytest.raises(Retry, match="clamd unavailable"):  # scheduled with backoff
        scan.apply(kwargs={"stored_file_id": str(stored.pk)})
    assert fresh(stored).scan_status == ScanStatus.ERROR


def test_without_a_scanner_optional_mode_passes_files_as_not_scanned(user: Any,
                                                                      settings: Any) -> None:
    settings.CLAMD_ADDRESS = ""
    settings.SCAN_REQUIRED = False
    stored = blob_store.put(PNG, owner=user, name="a.png")
    assert scan(stored_file_id=str(stored.pk)) == ScanStatus.CLEAN
    stored = fresh(stored)
    assert stored.scan_result == scanning.NOT_SCANNED and stored.scanned_at is None
    assert stored.processing_state == ProcessingState.READY


def test_without_a_scanner_required_mode_holds_files(user: Any, settings: Any,
                                                     clamd_address: str) -> None:
    settings.CLAMD_ADDRESS = ""
    settings.SCAN_REQUIRED = True
    stored = blob_store.put(PNG, owner=user, name="a.png")
    assert scan(stored_file_id=str(stored.pk)) == ScanStatus.PENDING
    assert fresh(stored).processing_state == ProcessingState.PENDING
    with pytest.raises(BlobNotFound):
        blob_store.signed_url(fresh(stored))
    settings.CLAMD_ADDRESS = clamd_address  # a scanner arrives: the file goes through
    assert scan(stored_file_id=str(stored.pk)) == ScanStatus.CLEAN


def test_file_over_the_scan_limit_is_an_error_not_clean(user: Any, settings: Any) -> None:
    settings.PROCESSING = {"SCAN_MAX_BYTES": 10}
    stored = blob_store.put(PNG, owner=user, name="a.png")
    assert scanning.scan_file(stored) == ScanStatus.ERROR
    assert fresh(stored).scan_result.startswith("too large to scan")


def test_release_records_who_when_why_and_processes_the_file(
        user: Any, make_user: Any, django_capture_on_commit_callbacks: Any) -> None:
    admin = make_user("reviewer", is_staff=True)
    stored = blob_store.put(EICAR, owner=user, name="readme.txt")
    scanning.scan_file(stored)
    with pytest.raises(scanning.ReasonRequired):
        scanning.scan_release(stored=fresh(stored), actor=admin, reason="  ")
    assert fresh(stored).is_quarantined
    with django_capture_on_commit_callbacks(execute=True):
        scanning.scan_release(stored=fresh(stored), actor=admin, reason="test signature, harmless")
    stored = fresh(stored)
    assert stored.scan_status == ScanStatus.CLEAN and not stored.is_quarantined
    assert stored.processing_state == ProcessingState.READY
    audit = StoredFileTransition.objects.filter(stored_file=stored, actor=admin).get()
    assert (audit.from_state, audit.to_state) == ("INFECTED", "CLEAN")
    assert audit.detail == "released: test signature, harmless" and audit.at is not None
    with pytest.raises(ConflictError):  # nothing held any more
        scanning.scan_release(stored=stored, actor=admin, reason="again")


def test_admin_quarantine_hides_a_clean_file(user: Any, make_user: Any) -> None:
    admin = make_user("reviewer", is_staff=True)
    stored = blob_store.put(PNG, owner=user, name="a.png")
    scanning.scan_file(stored)
    url_before = blob_store.signed_url(fresh(stored))
    scanning.scan_quarantine(stored=fresh(stored), actor=admin, reason="reported by users")
    stored = fresh(stored)
    assert stored.scan_status == ScanStatus.FLAGGED and stored.is_quarantined
    with pytest.raises(BlobNotFound):
        blob_store.signed_url(stored)
    assert Client().get(url_before).status_code == 404
    with pytest.raises(ConflictError):
        scanning.scan_quarantine(stored=stored, actor=admin, reason="twice")


@pytest.mark.parametrize(("required", "address", "status", "prefix"), [
    (False, "", "disabled", "scanning optional"),
    (True, "", "unavailable", "scanning required"),
    (True, "clamd", "ok", "scanning required"),
])
def test_healthz_reports_the_scanning_mode(client: Client, settings: Any, clamd_address: str,
                                           required: bool, address: str, status: str,
                                           prefix: str) -> None:
    settings.SCAN_REQUIRED = required
    settings.CLAMD_ADDRESS = clamd_address if address else ""
    check = client.get("/healthz").json()["checks"]["clamd"]
    assert check["status"] == status
    assert check["detail"].startswith(prefix)
