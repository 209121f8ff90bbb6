"""Virus scanning of stored files: the scanner interface, the scan step, admin decisions.

A file's ``scan_status`` moves ``PENDING → SCANNING → CLEAN | INFECTED | ERROR``; only
``CLEAN`` (and not quarantined) is ever served. When the scanner cannot be reached the
file goes to ``ERROR`` and the task is retried with backoff (and later by the sweeper):
an outage delays files, it never clears them. With no scanner configured, files pass as
"not scanned" only when scanning is optional (``SCAN_REQUIRED`` off); when it is
required they wait. Admin decisions (release, quarantine) are transitions with an actor
and a reason: the audit trail is the transition log.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any, Protocol

from django.conf import settings
from django.utils import timezone

from apps.core.errors import ConflictError, DomainError
from apps.processing.conf import processing_settings
from apps.processing.dispatch import send_on_commit
from apps.processing.engines.clamd import ClamdClient, ClamdError, ScanVerdict
from apps.processing.errors import TransientError
from apps.processing.pipeline import transition
from apps.storage.blobs import blob_store
from apps.storage.errors import BlobNotFound
from apps.storage.models import ScanStatus, StoredFile

SCANNABLE = (ScanStatus.PENDING, ScanStatus.SCANNING, ScanStatus.ERROR)
QUARANTINED = (ScanStatus.INFECTED, ScanStatus.FLAGGED, ScanStatus.BLOCKED)
NOT_SCANNED = "not scanned: scanning is optional and no scanner is configured"


class Scanner(Protocol):
    """Reads a stream and says whether it is clean; raises OSError when unreachable and
    ClamdError (or another exception) when it cannot judge this file."""

    name: str

    def scan(self, stream: IO[bytes]) -> ScanVerdict: ...


@dataclass
class ClamdScanner:
    address: str
    timeout: float
    chunk_size: int = 256 * 1024
    name: str = "clamd"

    def scan(self, stream: IO[bytes]) -> ScanVerdict:
        return ClamdClient(self.address, timeout=self.timeout).scan_stream(
            _chunks(stream, self.chunk_size), chunk_size=self.chunk_size)


def _chunks(stream: IO[bytes], size: int) -> Iterator[bytes]:
    while chunk := stream.read(size):
        yield chunk


def scanner() -> Scanner | None:
    """The configured scanner, or None when scanning is not set up."""
    if not settings.CLAMD_ADDRESS:
        return None
    return ClamdScanner(settings.CLAMD_ADDRESS, float(processing_settings.CLAMD_TIMEOUT))


def scan_required() -> bool:
    return bool(settings.SCAN_REQUIRED)


def scan_file(stored: StoredFile) -> str:
    """Scan one file if it still needs it; return its scan status afterwards.

    Idempotent: a file already judged (clean, infected, flagged) is left alone. Raises
    TransientError when the scanner is unreachable, so the task retries with backoff.
    """
    if stored.scan_status not in SCANNABLE:
        return stored.scan_status
    engine = scanner()
    if engine is None:
        return _without_scanner(stored)
    if not transition(stored, field="scan_status", to=ScanStatus.SCANNING, expected=SCANNABLE):
        stored.refresh_from_db(fields=["scan_status"])
        return stored.scan_status
    limit = int(processing_settings.SCAN_MAX_BYTES)
    if stored.size > limit:
        return _error(stored, f"too large to scan ({stored.size} bytes > {limit})")
    try:
        with blob_store.open(stored) as handle:
            verdict = engine.scan(handle)
    except BlobNotFound:
        return _error(stored, "the stored bytes are missing")
    except ClamdError as exc:  # clamd answered, but could not judge this file
        return _error(stored, f"scanner error: {exc}")
    except OSError as exc:  # unreachable, refused, timed out: retry later
        _error(stored, f"scanner unavailable: {exc}")
        raise TransientError(f"{engine.name} unavailable: {exc}") from exc
    return _record(stored, verdict, engine.name)


def _without_scanner(stored: StoredFile) -> str:
    if scan_required():
        return stored.scan_status  # waits for a scanner; the sweeper looks again
    transition(stored, field="scan_status", to=ScanStatus.CLEAN, expected=SCANNABLE,
               detail=NOT_SCANNED, scan_result=NOT_SCANNED)
    return stored.scan_status


def _error(stored: StoredFile, reason: str) -> str:
    transition(stored, field="scan_status", to=ScanStatus.ERROR, expected=[ScanStatus.SCANNING],
               detail=reason, scan_result=reason[:255])
    return ScanStatus.ERROR


def _record(stored: StoredFile, verdict: ScanVerdict, engine: str) -> str:
    now = timezone.now()
    if verdict.clean:
        transition(stored, field="scan_status", to=ScanStatus.CLEAN,
                   expected=[ScanStatus.SCANNING], detail=f"{engine}: clean",
                   scanned_at=now, scan_result="")
        return ScanStatus.CLEAN
    transition(stored, field="scan_status", to=ScanStatus.INFECTED,
               expected=[ScanStatus.SCANNING], detail=f"{engine}: {verdict.signature}",
               scanned_at=now, scan_result=verdict.signature[:255], is_quarantined=True)
    return ScanStatus.INFECTED


class ReasonRequired(DomainError):
    status_code = 400
    code = "reason_required"
    default_message = "Say why: a reason is required for this decision."


def scan_release(*, stored: StoredFile, actor: Any, reason: str) -> StoredFile:
    """An admin's decision that a quarantined (or unscannable) file is safe.

    Sets CLEAN and lifts the quarantine, recording who and why, then queues the
    processing the file skipped while it was held.
    """
    from apps.processing.pipeline import enqueue

    reason = (reason or "").strip()
    if not reason:
        raise ReasonRequired()
    moved = transition(stored, field="scan_status", to=ScanStatus.CLEAN,
                       expected=[*QUARANTINED, ScanStatus.ERROR, ScanStatus.PENDING],
                       detail=f"released: {reason}", actor=actor, is_quarantined=False,
                       scan_result=f"released by {actor}: {reason}"[:255])
    if not moved:
        raise ConflictError("This file is not held by the scanner.")
    enqueue(stored)
    return stored


def scan_again(*, stored: StoredFile, actor: Any) -> bool:
    """An admin's request to judge a file afresh (new signatures since): back to PENDING,
    recorded, and queued for the scanner; not served until it is judged again. A file
    being scanned right now is left alone (False). A quarantine stays until a release."""
    from apps.processing.tasks import scan

    moved = transition(stored, field="scan_status", to=ScanStatus.PENDING,
                       expected=[s for s in ScanStatus.values if s != ScanStatus.SCANNING],
                       detail="re-scan requested", actor=actor)
    if moved:
        send_on_commit(scan, kwargs={"stored_file_id": str(stored.pk)})
    return moved


def scan_quarantine(*, stored: StoredFile, actor: Any, reason: str) -> StoredFile:
    """An admin's decision to hide a file (FLAGGED): no URL serves it from now on."""
    reason = (reason or "").strip()
    if not reason:
        raise ReasonRequired()
    moved = transition(stored, field="scan_status", to=ScanStatus.FLAGGED,
                       expected=[s for s in ScanStatus.values if s != ScanStatus.FLAGGED],
                       detail=f"quarantined: {reason}", actor=actor, is_quarantined=True,
                       scan_result=f"flagged by {actor}: {reason}"[:255])
    if not moved:
        raise ConflictError("This file is already quarantined.")
    return stored
