"""Items as the spec shows them, from selector rows (``selectors.ITEM_COLUMNS``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def timestamp(value: datetime) -> str:
    """``2026-02-18T12:00:00Z`` as the spec shows it; milliseconds only when there are some."""
    spec = "milliseconds" if value.microsecond else "seconds"
    return value.astimezone(UTC).isoformat(timespec=spec).replace("+00:00", "Z")


def item(row: tuple[Any, ...]) -> dict[str, Any]:
    media_id, media_type, thumbnail_url, media_url, title, created_at = row[:6]
    return {"id": media_id, "media_type": media_type, "thumbnail_url": thumbnail_url,
            "media_url": media_url, "title": title, "created_at": timestamp(created_at)}


def with_tag_list(row: tuple[Any, ...], tags: list[tuple[str, str]]) -> dict[str, Any]:
    """A feed/search item: ``media_tags`` as ``[{tag_category, tag_value}]``."""
    return {**item(row), "media_tags": [{"tag_category": c, "tag_value": v} for c, v in tags]}


def with_tag_groups(row: tuple[Any, ...], tags: list[tuple[str, str]]) -> dict[str, Any]:
    """A single item: ``tags`` grouped by category."""
    grouped: dict[str, list[str]] = {}
    for category, value in tags:
        grouped.setdefault(category, []).append(value)
    return {**item(row), "tags": grouped}


def with_similarity(row: tuple[Any, ...]) -> dict[str, Any]:
    return {**item(row), "similarity": round(float(row[6]), 6)}
