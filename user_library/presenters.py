"""Items as the API shows them, rendered straight from selector rows (no ORM objects, no
serializer: the list is the hot path, and a ModelSerializer costs more than the query).

Beyond the spec's fields every item has ``user_id`` and ``storage_path`` (the spec's
``LibraryItem`` type), and these additive fields (docs/user_library.md):
``status`` (``pending`` until the virus scan clears it, then ``processing``, ``ready``
or ``failed``), ``mime_type``, ``width``/``height`` and ``duration_seconds`` once probed,
and ``thumbnail_url``/``preview_url`` (signed, WebP) once the variants exist.
``signed_url`` is null while the file is not yet cleared by the scanner.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import orjson

from apps.processing.variants import configured_specs
from apps.storage.blobs import blob_store, variant_download_name
from apps.storage.models import ProcessingState, ScanStatus
from user_library.conf import user_library_settings
from user_library.selectors import variant_rows

_STATUS = {ProcessingState.PENDING: "processing", ProcessingState.PROCESSING: "processing",
           ProcessingState.READY: "ready", ProcessingState.FAILED: "failed"}


def _timestamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class ItemPresenter:
    """Renders rows of ``selectors.ROW_COLUMNS``; one per request (its URLs share an expiry)."""

    def __init__(self) -> None:
        self._sign = blob_store.url_signer(ttl=int(user_library_settings.SIGNED_URL_TTL))
        specs = configured_specs()
        self._format = str(user_library_settings.VARIANT_FORMAT)
        self._fields = {str(user_library_settings.THUMBNAIL_SPEC): "thumbnail_url",
                        str(user_library_settings.PREVIEW_SPEC): "preview_url"}
        self._hashes = {name: specs[name].hash for name in self._fields if name in specs}

    def items(self, rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
        cleared = [row[6] for row in rows if row[11] == ScanStatus.CLEAN]
        variants = self._variant_urls(cleared, {row[6]: row for row in rows})
        return [self._item(row, variants.get(row[6], {})) for row in rows]

    def item(self, row: tuple[Any, ...]) -> dict[str, Any]:
        return self.items([row])[0]

    def _item(self, row: tuple[Any, ...], urls: dict[str, str]) -> dict[str, Any]:
        (item_id, user_id, media_type, source, created_at, metadata, file_id, key, size,
         mime_type, original_name, scan_status, state, _sha, width, height, duration) = row
        cleared = scan_status == ScanStatus.CLEAN
        return {
            "id": str(item_id), "user_id": str(user_id), "media_type": media_type,
            "source": source, "created_at": _timestamp(created_at), "file_size": size,
            "storage_path": key,
            "signed_url": self._sign(file_id=file_id, variant_id=None, key=key,
                                     mime_type=mime_type, filename=original_name)
            if cleared else None,
            "metadata": orjson.Fragment(metadata),
            "status": _STATUS[state] if cleared else "pending",
            "mime_type": mime_type, "width": width, "height": height,
            "duration_seconds": duration,
            "thumbnail_url": urls.get("thumbnail_url"), "preview_url": urls.get("preview_url"),
        }

    def _variant_urls(self, file_ids: list[UUID],
                      rows: dict[UUID, tuple[Any, ...]]) -> dict[UUID, dict[str, str]]:
        out: dict[UUID, dict[str, str]] = {}
        for (file_id, variant_id, spec, fmt, key, mime_type, kind, spec_hash, source_sha,
             *_size) in variant_rows(file_ids=file_ids, specs=list(self._hashes),
                                     format=self._format):
            if spec_hash != self._hashes[spec] or source_sha != rows[file_id][13]:
                continue  # stale: made from other bytes or an older definition
            out.setdefault(file_id, {})[self._fields[spec]] = self._sign(
                file_id=file_id, variant_id=variant_id, key=key, mime_type=mime_type,
                filename=variant_download_name(rows[file_id][10], kind, fmt))
        return out
