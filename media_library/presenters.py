"""Objects as the spec shows them: camelCase, ISO-8601 UTC timestamps, ``category`` as
``{id, name}`` (or null). Uploaded items get signed URLs of the platform's storage for
``fileUrl`` and ``thumbnailUrl`` (the stored columns stay empty: a signed URL expires)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from media_library.file_urls import uploaded_urls
from media_library.models import (
    Category,
    LibraryObject,
    MediaItem,
    SavedLink,
    Template,
    TextSnippet,
)


def timestamp(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def category(row: Category) -> dict[str, Any]:
    return {"id": str(row.id), "workspaceId": str(row.workspace_id), "name": row.name,
            "description": row.description, "type": row.type, "color": row.color,
            "icon": row.icon, "displayOrder": row.display_order,
            "createdAt": timestamp(row.created_at), "updatedAt": timestamp(row.updated_at)}


def category_brief(row: Category) -> dict[str, Any]:
    return {"id": str(row.id), "name": row.name, "displayOrder": row.display_order,
            "color": row.color, "icon": row.icon}


def _common(row: LibraryObject) -> dict[str, Any]:
    return {
        "id": str(row.id), "workspaceId": str(row.workspace_id), "name": row.name,
        "categoryId": str(row.category_id) if row.category_id else None,
        "category": ({"id": str(row.category_id), "name": _category_name(row)}
                     if row.category_id else None),
        "tags": row.tags, "isStarred": row.is_starred, "usageCount": row.usage_count,
        "lastUsedAt": timestamp(row.last_used_at), "isDeleted": row.is_deleted,
        "deletedAt": timestamp(row.deleted_at), "createdAt": timestamp(row.created_at),
        "updatedAt": timestamp(row.updated_at),
    }


def media_item(row: MediaItem, urls: dict[str, Any] | None = None) -> dict[str, Any]:
    """``urls``: the signed ``fileUrl``/``thumbnailUrl`` and ``fileStatus`` of an uploaded
    item (file_urls.py); an item with an external URL shows its stored columns."""
    urls = urls or {}
    return {
        **_common(row), "uploadedById": str(row.uploaded_by_id) if row.uploaded_by_id else None,
        "type": row.type, "description": row.description,
        "fileUrl": urls.get("fileUrl", row.file_url),
        "thumbnailUrl": urls.get("thumbnailUrl", row.thumbnail_url),
        "mimeType": row.mime_type, "fileSize": row.file_size, "width": row.width,
        "height": row.height, "duration": row.duration,
        "cloudinaryPublicId": row.cloudinary_public_id,
        "cloudinaryAssetId": row.cloudinary_asset_id,
        "storedFileId": str(row.stored_file_id) if row.stored_file_id else None,
        # beyond the spec: where an uploaded file stands (null for an external fileUrl)
        "fileStatus": urls.get("fileStatus"),
    }


def template(row: Template) -> dict[str, Any]:
    return {**_common(row), "createdById": _user(row.created_by_id),
            "description": row.description, "templateType": row.template_type,
            "platforms": row.platforms, "content": row.content,
            "thumbnailUrl": row.thumbnail_url}


def snippet(row: TextSnippet) -> dict[str, Any]:
    return {**_common(row), "createdById": _user(row.created_by_id),
            "snippetType": row.snippet_type, "content": row.content}


def link(row: SavedLink) -> dict[str, Any]:
    preview = row.preview or {}
    ok = preview.get("status") == "ok"
    return {
        **_common(row), "createdById": _user(row.created_by_id), "url": row.url,
        "description": row.description,
        "previewTitle": preview.get("title") if ok else None,
        "previewDescription": preview.get("description") if ok else None,
        "previewImageUrl": preview.get("image") if ok else None,
        "previewSiteName": preview.get("site_name") if ok else None,
        # beyond the spec: where the preview stands (pending, ready, failed)
        "previewStatus": "pending" if not preview else "ready" if ok else "failed",
        "previewError": None if ok or not preview else preview.get("message"),
        "previewFetchedAt": preview.get("fetched_at"),
    }


def _category_name(row: LibraryObject) -> str | None:
    """From a list's ``category_name`` annotation, else the (selected) category."""
    name = getattr(row, "category_name", _UNSET)
    if name is _UNSET:
        return row.category.name if row.category else None
    return name if isinstance(name, str) else None


_UNSET = object()


def _user(user_id: Any) -> str | None:
    return str(user_id) if user_id else None


PRESENTERS = {MediaItem: media_item, Template: template, TextSnippet: snippet, SavedLink: link}


def library_objects(rows: Sequence[Any], model: type[LibraryObject] | None = None
                    ) -> list[dict[str, Any]]:
    """A page of objects; uploaded items' URLs are signed in one query for the page.

    ``rows``: model instances, or records of their fields (selectors' compiled reads)
    whose ``model`` is given.
    """
    urls = uploaded_urls(rows)
    out = []
    for row in rows:
        present = PRESENTERS[model or type(row)]
        out.append(media_item(row, urls.get(row.id)) if present is media_item
                   else present(row))  # type: ignore[operator]
    return out


def library_object(row: LibraryObject) -> dict[str, Any]:
    return library_objects([row])[0]
