"""The platform's URLs of uploaded items: ``fileUrl`` and ``thumbnailUrl``, signed.

One query for a whole page (the files with their thumbnail variant), and only when the
page holds uploaded items; items that point at an external ``fileUrl`` cost nothing.
A file the scanner has not cleared (or that is quarantined) has no URL yet, and
``fileStatus`` says why; the thumbnail is the configured spec's variant, once made from
these very bytes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from uuid import UUID

from django.db.models import Prefetch

from apps.processing.variants import configured_specs, is_fresh
from apps.storage.blobs import blob_store, download_name, is_servable
from apps.storage.models import ProcessingState, ScanStatus, StoredFile, Variant
from media_library.conf import media_library_settings

_STATUS = {ProcessingState.PENDING: "processing", ProcessingState.PROCESSING: "processing",
           ProcessingState.READY: "ready", ProcessingState.FAILED: "failed"}
_REFUSED = (ScanStatus.FLAGGED, ScanStatus.INFECTED, ScanStatus.BLOCKED)


def uploaded_urls(rows: Iterable[Any]) -> dict[UUID, dict[str, Any]]:
    """``{item id: {"fileUrl", "thumbnailUrl", "fileStatus"}}`` for the uploaded items
    among ``rows`` (model instances or records of their fields)."""
    holders = {row.stored_file_id: row.id for row in rows
               if getattr(row, "stored_file_id", None)}
    if not holders:
        return {}
    spec_name = str(media_library_settings.THUMBNAIL_SPEC)
    spec = configured_specs().get(spec_name)
    thumbs = Variant.objects.filter(spec=spec_name,
                                    format=str(media_library_settings.VARIANT_FORMAT))
    files = (StoredFile.objects.filter(pk__in=list(holders))
             .prefetch_related(Prefetch("variants", queryset=thumbs, to_attr="thumbs")))
    sign = blob_store.url_signer(ttl=int(media_library_settings.SIGNED_URL_TTL))
    out: dict[UUID, dict[str, Any]] = {}
    for stored in files:
        urls: dict[str, Any] = {"fileUrl": None, "thumbnailUrl": None,
                                "fileStatus": _status(stored)}
        if is_servable(stored):
            urls["fileUrl"] = sign(file_id=stored.pk, variant_id=None, key=stored.key,
                                   mime_type=stored.mime_type, filename=stored.original_name)
            for variant in stored.thumbs:
                if spec is not None and is_fresh(variant, stored, spec):
                    urls["thumbnailUrl"] = sign(
                        file_id=stored.pk, variant_id=variant.pk, key=variant.key,
                        mime_type=variant.mime_type, filename=download_name(stored, variant))
        out[holders[stored.pk]] = urls
    return out


def _status(stored: StoredFile) -> str:
    """``blocked`` (infected, flagged or quarantined: never served), ``pending`` (awaiting
    the virus scan), then the processing state."""
    if stored.is_quarantined or stored.scan_status in _REFUSED:
        return "blocked"
    if not is_servable(stored):
        return "pending"
    return _STATUS[ProcessingState(stored.processing_state)]
