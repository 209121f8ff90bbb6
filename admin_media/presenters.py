"""Media as the spec shows them: camelCase, ISO-8601 UTC timestamps with milliseconds."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from admin_media.models import Media
from admin_media.selectors import COLUMNS


def _timestamp(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def media(row: Mapping[str, Any]) -> dict[str, Any]:
    """``row``: a ``values()`` dict of selectors.COLUMNS (or :func:`row_of`)."""
    return {
        "id": row["id"], "supabaseId": row["supabase_id"], "recordId": row["record_id"],
        "taskId": row["task_id"], "url": row["url"], "type": row["type"],
        "mediaType": row["media_type"], "aspectRatio": row["aspect_ratio"],
        "uploadSource": row["upload_source"], "category": row["category"],
        "meta": row["meta"], "isDelete": row["is_delete"],
        "createdAt": _timestamp(row["created_at"]), "updatedAt": _timestamp(row["updated_at"]),
    }


def row_of(instance: Media) -> dict[str, Any]:
    return {name: getattr(instance, name) for name in COLUMNS}
