"""Image operations on an author's file (optimize, resize, crop): the request side.

``POST /v1/media/<id>/{optimize,resize,crop}`` lands here. The file must be the caller's
(``selectors.media_get``), an image the scanner cleared and the probe measured; the
engines (``apps.processing.variants``) then validate the parameters against it and name
the variant they would make, without decoding anything. The operation is keyed by that
name plus its format (``resize-800x600-contain.webp``, ``crop-0-0-100x100.png``,
``optimized``) and by the original's SHA-256: one ``MediaOperation`` row per key (a
unique constraint), so asking again for the same result — whatever the spelling of the
request — returns the same operation instead of rendering twice, and a replaced
original gets operations of its own.

The worker side is ``operation_tasks``: the task is queued after commit, so it never
looks for a row that is not there yet. Bad input raises before any row exists.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from rest_framework.exceptions import ValidationError

from apps.processing.dispatch import send_on_commit
from apps.processing.variants import (
    OPTIMIZED_SPEC,
    RASTER_KINDS,
    InvalidOperation,
    crop_spec,
    fresh_variants,
    resize_spec,
)
from apps.storage.models import ProcessingState, ScanStatus, StoredFile, Variant
from author_media import operation_tasks
from author_media.errors import (
    ImageUnreadable,
    MediaNotCleared,
    MediaNotProcessed,
    NotAnImage,
    OperationNotFound,
)
from author_media.models import MediaFile, MediaOperation, OperationState

OPERATIONS = ("optimize", "resize", "crop")
PENDING_STATES = (OperationState.QUEUED, OperationState.RUNNING)


@dataclass(frozen=True)
class Requested:
    """What a request for an operation found or started. ``done``: its result exists
    (200); otherwise the operation is queued or running (202)."""

    operation: MediaOperation
    variant: Variant | None
    done: bool


def ready_image(media: MediaFile) -> StoredFile:
    """The file's bytes, when an operation may decode them: an image (else 422), cleared
    by the scanner and not quarantined (else 409), measured by the probe (409 while it
    runs, 422 when it could not read the image)."""
    stored = media.stored_file
    if stored is None:
        raise MediaNotProcessed("The file's bytes are not available.")
    if stored.kind not in RASTER_KINDS:
        raise NotAnImage(f"Only images can be optimized, resized or cropped; this file is "
                         f"{stored.mime_type}.", extra={"mimeType": stored.mime_type})
    if stored.is_quarantined or stored.scan_status != ScanStatus.CLEAN:
        state = "QUARANTINED" if stored.is_quarantined else stored.scan_status
        raise MediaNotCleared(f"The file has not been cleared by the virus scan "
                              f"(scanStatus {state}); only cleared files are processed.",
                              extra={"scanStatus": stored.scan_status,
                                     "isQuarantined": stored.is_quarantined})
    if stored.processing_state == ProcessingState.FAILED:
        raise ImageUnreadable(f"The image could not be read: {stored.processing_error}"
                              if stored.processing_error else None)
    if not stored.width or not stored.height:
        raise MediaNotProcessed()
    return stored


def _crop_box_errors(stored: StoredFile, params: dict[str, Any]) -> dict[str, list[str]]:
    """Field by field, what puts the box outside the image (the engine says it too, but
    without naming the field)."""
    errors: dict[str, list[str]] = {}
    for start, length, size, axis in (("x", "width", stored.width, "width"),
                                      ("y", "height", stored.height, "height")):
        if params[start] >= size:
            errors[start] = [f"Must be less than the image {axis} ({size})."]
        elif params[start] + params[length] > size:
            errors[length] = [f"{start} + {length} must not exceed the image {axis} ({size})."]
    return errors


def operation_key(operation: str, stored: StoredFile, params: dict[str, Any]) -> str:
    """The name of the variant the operation makes, with its format: the idempotency key.
    Raises ValidationError (400) for parameters the image cannot take."""
    if operation == "optimize":
        return OPTIMIZED_SPEC  # one per original; its format is the original's
    try:
        if operation == "resize":
            spec = resize_spec(stored=stored, width=params.get("width"),
                               height=params.get("height"), fit=params.get("fit", "contain"),
                               format=params.get("format"))
        elif operation == "crop":
            errors = _crop_box_errors(stored, params)
            if errors:
                raise ValidationError(errors)
            spec = crop_spec(stored=stored, x=params["x"], y=params["y"],
                             width=params["width"], height=params["height"],
                             aspect=params.get("aspect"), format=params.get("format"))
        else:
            raise ValueError(f"unknown operation {operation!r}")
    except InvalidOperation as exc:  # e.g. the derived dimension of a resize is too large
        given = [k for k in ("width", "height") if params.get(k) is not None]
        field = given[0] if operation == "resize" and len(given) == 1 else "non_field_errors"
        raise ValidationError({field: [exc.message]}) from None
    return f"{spec.name}.{spec.formats[0].name}"


def result_variant(operation: MediaOperation, stored: StoredFile) -> Variant | None:
    """The variant a succeeded operation made, while it still exists for these bytes."""
    if operation.variant_id is None:
        return None
    return Variant.objects.filter(pk=operation.variant_id, stored_file=stored,
                                  source_sha256=stored.sha256).first()


def _has_result(operation: MediaOperation, media: MediaFile, stored: StoredFile
                ) -> tuple[bool, Variant | None]:
    if operation.state != OperationState.SUCCEEDED:
        return False, None
    variant = result_variant(operation, stored)
    if variant is not None:
        return True, variant
    # optimize may succeed without a variant: the original was already as small as it gets
    already_optimal = (operation.operation == "optimize" and media.is_optimized
                       and media.optimized_size == media.original_size)
    return already_optimal, None


def operation_request(*, media: MediaFile, operation: str, params: dict[str, Any]
                      ) -> Requested:
    """Find or start ``operation`` with ``params`` (already checked by the serializer)."""
    stored = ready_image(media)
    key = operation_key(operation, stored, params)
    with transaction.atomic():
        found, created = MediaOperation.objects.get_or_create(
            media_file=media, spec=key, source_sha256=stored.sha256,
            defaults={"operation": operation, "params": params})
        if not created:
            done, variant = _has_result(found, media, stored)
            if done:
                return Requested(found, variant, done=True)
            if found.state in PENDING_STATES:
                return Requested(found, None, done=False)
            # failed earlier, or its variant is gone: run again (whoever flips it queues)
            flipped = MediaOperation.objects.filter(pk=found.pk, state=found.state).update(
                state=OperationState.QUEUED, error="", variant=None, finished_at=None)
            found.refresh_from_db()
            if not flipped:
                return Requested(found, None, done=False)
        operation_id = str(found.pk)
        send_on_commit(operation_tasks.media_operation_run,
                       kwargs={"operation_id": operation_id})
    return Requested(found, None, done=False)


def operation_get(*, media: MediaFile, operation_id: str) -> MediaOperation:
    """One of the file's operations (the caller already owns ``media``)."""
    try:
        pk = uuid.UUID(str(operation_id))
    except ValueError:
        raise OperationNotFound() from None
    found = MediaOperation.objects.filter(pk=pk, media_file=media).first()
    if found is None:
        raise OperationNotFound()
    return found


def operation_variant(operation: MediaOperation, media: MediaFile) -> Variant | None:
    """The variant to show beside an operation (only a succeeded one has one)."""
    stored = media.stored_file
    if stored is None or operation.state != OperationState.SUCCEEDED:
        return None
    return result_variant(operation, stored)


def variants_list(*, media: MediaFile) -> list[Variant]:
    """The file's variants made from its current bytes (configured specs at their current
    definition, and the results of operations), oldest first."""
    stored = media.stored_file
    if stored is None:
        return []
    return sorted(fresh_variants(stored), key=lambda v: (v.created_at, v.spec, v.format))
