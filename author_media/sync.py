"""Keeping ``media_files`` and ``storage_usage`` in step with the platform.

- Scan and processing moves of a file (``apps.processing.signals.file_transitioned``)
  are mirrored onto its MediaFile: ``scanStatus``, ``scannedAt``, ``scanResult``,
  ``isQuarantined``, ``isProcessed``, ``processedAt``, ``processingError``.
- The last pipeline step (``author_media.file_facts``) copies the probe's facts and the
  variant URLs (``thumbnailUrl``, ``placeholderUrl``) once they exist.
- Every change of what a user stores in the ``author_media`` bucket
  (``apps.storage.signals.usage_changed``: a file stored, rewritten, deleted; a variant
  made or dropped) moves their StorageUsage by the same amounts, in the same
  transaction: the usage always equals the sum of their live bytes, variants included.
- Bytes served (``bytes_served``) count against the month's bandwidth.
"""

from __future__ import annotations

from typing import Any

from django.db.models import F
from django.utils import timezone

from apps.processing.variants import variant_for
from apps.storage.models import MediaKind, ProcessingState, StoredFile, Variant
from author_media import usage
from author_media.conf import QUOTA_BUCKET, author_media_settings
from author_media.links import content_url
from author_media.models import MediaFile

_BYTES_FIELD = {MediaKind.IMAGE: "image_bytes", MediaKind.GIF: "image_bytes",
                MediaKind.VIDEO: "video_bytes", MediaKind.DOCUMENT: "document_bytes",
                MediaKind.OTHER: "other_bytes"}
_FILES_FIELD = {MediaKind.IMAGE: "image_files", MediaKind.GIF: "image_files",
                MediaKind.VIDEO: "video_files", MediaKind.DOCUMENT: "document_files"}


def on_transition(sender: Any, *, stored_file: StoredFile, field: str, to_state: str,
                  **_: Any) -> None:
    rows = MediaFile.objects.filter(stored_file_id=stored_file.pk)
    if field == "scan_status":
        rows.update(scan_status=to_state, scanned_at=stored_file.scanned_at,
                    scan_result=stored_file.scan_result or None,
                    is_quarantined=stored_file.is_quarantined)
    elif to_state == ProcessingState.READY:
        rows.update(is_processed=True, processed_at=timezone.now(), processing_error=None)
    elif to_state == ProcessingState.FAILED:
        rows.update(is_processed=False, processing_error=stored_file.processing_error)


def copy_file_facts(stored: StoredFile) -> None:
    """The ``author_media.file_facts`` step: dimensions, colour and variant URLs."""
    width, height = stored.width, stored.height
    fields: dict[str, Any] = {
        "width": width, "height": height,
        "aspect_ratio": round(width / height, 6) if width and height else None,
        "dominant_color": stored.dominant_color or None,
        "color_profile": stored.meta.get("color_profile") or stored.meta.get("icc_profile"),
        "mime_type": stored.mime_type, "file_size": stored.size,
    }
    fmt = str(author_media_settings.VARIANT_FORMAT)
    for name, setting in (("thumbnail_url", "THUMBNAIL_SPEC"),
                          ("placeholder_url", "PLACEHOLDER_SPEC")):
        found = variant_for(stored, str(getattr(author_media_settings, setting)), fmt)
        fields[name] = None
        if found is not None:
            fields[name] = content_url_of(stored, found)
    MediaFile.objects.filter(stored_file_id=stored.pk).update(**fields)


def content_url_of(stored: StoredFile, variant: Variant) -> str | None:
    media = MediaFile.objects.filter(stored_file_id=stored.pk).only("pk").first()
    return content_url(media.pk, variant=variant.spec) if media else None


def on_usage_changed(sender: Any, *, stored_file: StoredFile, file_bytes: int,
                     variant_bytes: int, files: int, **_: Any) -> None:
    if stored_file.quota_bucket != QUOTA_BUCKET or stored_file.owner_user_id is None:
        return
    kind = MediaKind(stored_file.kind)
    delta = file_bytes + variant_bytes
    changes: dict[str, Any] = {"total_bytes": F("total_bytes") + delta,
                               _BYTES_FIELD[kind]: F(_BYTES_FIELD[kind]) + delta}
    if files:
        changes["total_files"] = F("total_files") + files
        if kind in _FILES_FIELD:
            changes[_FILES_FIELD[kind]] = F(_FILES_FIELD[kind]) + files
    usage.usage_for(stored_file.owner_user_id)  # the row exists
    usage.StorageUsage.objects.filter(user_id=stored_file.owner_user_id).update(**changes)
    usage.refresh_warnings(user_id=stored_file.owner_user_id, bandwidth=False)


def on_bytes_served(sender: Any, *, stored_file: StoredFile, nbytes: int, **_: Any) -> None:
    if stored_file.quota_bucket != QUOTA_BUCKET or stored_file.owner_user_id is None:
        return
    usage.bandwidth_add(user_id=stored_file.owner_user_id, nbytes=nbytes)
