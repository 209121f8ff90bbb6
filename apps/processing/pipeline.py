"""The ingest pipeline of a StoredFile: state, transitions, and running its steps.

State lives on the StoredFile (``processing_state``); every change is one conditional
UPDATE (``WHERE processing_state = <expected>``) recorded as a StoredFileTransition, so
two workers that received the same message cannot both advance the file. A step that
already ran (listed in ``meta["steps_done"]``) is skipped on a re-run.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.processing import registry
from apps.processing.dispatch import send_on_commit
from apps.processing.errors import PermanentError
from apps.processing.models import StoredFileTransition
from apps.processing.signals import file_transitioned
from apps.storage.models import ProcessingState, ScanStatus, StoredFile

logger = logging.getLogger(__name__)


def transition(stored: StoredFile, *, field: str, to: str, expected: Sequence[str] | None = None,
               detail: str = "", actor: Any = None, **extra: object) -> bool:
    """Move a file's ``field`` to ``to`` if it is in ``expected``; record it. True if moved.

    ``actor`` is the user who decided it (admin release/quarantine); None for the worker.
    """
    now = timezone.now()
    with transaction.atomic():
        current = (StoredFile.objects.select_for_update().filter(pk=stored.pk)
                   .values_list(field, flat=True).first())
        if current is None or (expected is not None and current not in expected):
            return False
        StoredFile.objects.filter(pk=stored.pk).update(
            **{field: to, "state_changed_at": now}, **extra)
        StoredFileTransition.objects.create(stored_file_id=stored.pk, field=field,
                                            from_state=current, to_state=to,
                                            detail=detail[:500], actor=actor, at=now)
    setattr(stored, field, to)
    stored.state_changed_at = now
    for name, value in extra.items():
        setattr(stored, name, value)
    file_transitioned.send(sender=StoredFile, stored_file=stored, field=field,
                           from_state=current, to_state=to)
    return True


def enqueue(stored: StoredFile, *, steps: Sequence[str] | None = None) -> None:
    """Queue the file's next stage once the current transaction commits (the row is
    visible then): the scan, or the processing steps once it is clean."""
    from apps.processing.tasks import run_pipeline, scan

    kwargs: dict[str, Any] = {"stored_file_id": str(stored.pk)}
    if steps is not None:
        kwargs["steps"] = list(steps)
    send_on_commit(run_pipeline if stored.scan_status == ScanStatus.CLEAN else scan,
                   kwargs=kwargs)


def run(stored: StoredFile, steps: Sequence[str]) -> str:
    """Run the steps not yet done; return the final processing state.

    Files the scanner has not cleared are never processed (a decoder is attack surface).
    """
    if stored.processing_state in (ProcessingState.READY, ProcessingState.FAILED):
        return stored.processing_state
    if stored.scan_status != ScanStatus.CLEAN or stored.is_quarantined:
        return stored.processing_state
    if stored.meta.get("steps") != list(steps):  # a re-queue (sweeper) runs the same steps
        stored.meta = {**stored.meta, "steps": list(steps)}
        StoredFile.objects.filter(pk=stored.pk).update(meta=stored.meta)
    transition(stored, field="processing_state", to=ProcessingState.PROCESSING,
               expected=[ProcessingState.PENDING, ProcessingState.PROCESSING])
    done = list(stored.meta.get("steps_done", []))
    for name in steps:
        if name in done:
            continue
        try:
            registry.step(name).func(stored)
        except PermanentError as exc:
            transition(stored, field="processing_state", to=ProcessingState.FAILED,
                       detail=f"{name}: {exc}", processing_error=f"{name}: {exc}"[:500])
            return ProcessingState.FAILED
        done.append(name)
        stored.meta = {**stored.meta, "steps_done": done}
        StoredFile.objects.filter(pk=stored.pk).update(meta=stored.meta)
    transition(stored, field="processing_state", to=ProcessingState.READY,
               expected=[ProcessingState.PROCESSING])
    return ProcessingState.READY
