"""The worker side of the image operations (optimize, resize, crop): ``author_media.operation``
(routed to the ``media`` queue by config/settings.py).

The task is idempotent, as every platform task: it loads the operation, does nothing when
it already finished, and otherwise renders through the engines
(``apps.processing.variants``) and records the outcome. Failures are sorted by whether a
retry can help: bad input (a DomainError, or a PermanentError such as an image the decoder
refuses) fails the operation at once with the reason; a transient failure (database,
storage) is retried with backoff by the task base, and fails the operation only when
the retries are spent; anything unexpected fails it with a generic message and is logged.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Task
from django.db import transaction
from django.utils import timezone

from apps.core.errors import DomainError
from apps.processing.errors import TRANSIENT_EXCEPTIONS, PermanentError
from apps.processing.taskbase import platform_task
from apps.processing.variants import image_crop, image_optimize, image_resize
from apps.storage.blobs import is_servable
from apps.storage.models import Variant
from author_media.models import MediaFile, MediaOperation, OperationState

logger = logging.getLogger(__name__)

DONE_STATES = (OperationState.SUCCEEDED, OperationState.FAILED)


def _finish(operation: MediaOperation, state: str, *, error: str = "",
            variant: Variant | None = None) -> None:
    MediaOperation.objects.filter(pk=operation.pk).update(
        state=state, error=error[:2000], variant=variant, finished_at=timezone.now())


def _unrunnable(operation: MediaOperation) -> str | None:
    """Why the operation can no longer run on the bytes it was asked for, if so."""
    media = operation.media_file
    stored = media.stored_file
    if media.deleted_at is not None or stored is None:
        return "The file was deleted before the operation ran."
    if stored.sha256 != operation.source_sha256:
        return "The file's content changed before the operation ran; ask again."
    if not is_servable(stored):
        return "The file is no longer cleared for processing."
    return None


def _execute(operation: MediaOperation) -> None:
    """Render, then record the result (and, for optimize, the file's new figures)."""
    media = operation.media_file
    stored = media.stored_file
    assert stored is not None  # checked by _unrunnable
    params: dict[str, Any] = operation.params
    if operation.operation == "optimize":
        result = image_optimize(stored=stored)
        with transaction.atomic():
            MediaFile.objects.filter(pk=media.pk).update(
                is_optimized=True, original_size=result.original_size,
                optimized_size=result.optimized_size, compression_ratio=result.ratio,
                updated_at=timezone.now())
            _finish(operation, OperationState.SUCCEEDED, variant=result.variant)
        return
    if operation.operation == "resize":
        variant = image_resize(stored=stored, width=params.get("width"),
                               height=params.get("height"),
                               fit=params.get("fit", "contain"), format=params.get("format"))
    elif operation.operation == "crop":
        variant = image_crop(stored=stored, x=params["x"], y=params["y"],
                             width=params["width"], height=params["height"],
                             aspect=params.get("aspect"), format=params.get("format"))
    else:
        raise PermanentError(f"Unknown operation {operation.operation!r}.")
    _finish(operation, OperationState.SUCCEEDED, variant=variant)


def operation_run(operation_id: str, *, final_attempt: bool = True) -> str:
    """Run one operation; returns its state afterwards (or ``gone``). Raises a transient
    error for the task base to retry, unless ``final_attempt``."""
    operation = (MediaOperation.objects.select_related("media_file__stored_file")
                 .filter(pk=operation_id).first())
    if operation is None:
        return "gone"  # the file was purged meanwhile
    if operation.state in DONE_STATES:
        return str(operation.state)
    reason = _unrunnable(operation)
    if reason is not None:
        _finish(operation, OperationState.FAILED, error=reason)
        return OperationState.FAILED
    MediaOperation.objects.filter(pk=operation.pk).update(state=OperationState.RUNNING)
    try:
        _execute(operation)
    except (DomainError, PermanentError) as exc:
        _finish(operation, OperationState.FAILED, error=str(exc))
        return OperationState.FAILED
    except TRANSIENT_EXCEPTIONS:
        if not final_attempt:
            raise  # retried with backoff; the operation stays "running" meanwhile
        logger.warning("operation %s: transient failures outlasted the retries",
                       operation_id, exc_info=True)
        _finish(operation, OperationState.FAILED,
                error="A service the operation needs was unavailable; ask again later.")
        return OperationState.FAILED
    except Exception:
        logger.exception("operation %s failed unexpectedly", operation_id)
        _finish(operation, OperationState.FAILED, error="The image could not be processed.")
        return OperationState.FAILED
    return OperationState.SUCCEEDED


@platform_task("author_media.operation", bind=True)
def media_operation_run(self: Task, *, operation_id: str) -> str:
    return operation_run(operation_id,
                         final_attempt=self.request.retries >= (self.max_retries or 0))
