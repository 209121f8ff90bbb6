"""Writes of the media library. Every object handed in was found through a selector
scoped to the caller's workspace; ids in bodies (categories, bulk ids) are checked
against the same workspace here, so a foreign id changes nothing."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.db.models import F, Max, QuerySet
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from apps.accounts.models import User, Workspace
from apps.core.ids import parse_uuid
from apps.processing.previews import enqueue_link_preview
from apps.storage.blobs import blob_store
from media_library.errors import CategoryNotFound
from media_library.kinds import KINDS, LINKS, Kind
from media_library.models import Category, LibraryObject, MediaItem, SavedLink, Template
from media_library.selectors import category_get

# -- categories -----------------------------------------------------------------------


def category_create(*, workspace: Workspace, data: dict[str, Any]) -> Category:
    """A new category goes after the last of its type."""
    with transaction.atomic():
        # one creator at a time per workspace, so two creates never share a displayOrder
        Workspace.objects.select_for_update().filter(pk=workspace.pk).first()
        last = (Category.objects.filter(workspace=workspace, type=data["type"])
                .aggregate(m=Max("display_order"))["m"])
        return Category.objects.create(workspace=workspace,
                                       display_order=0 if last is None else last + 1, **data)


def category_update(*, category: Category, data: dict[str, Any]) -> Category:
    for name, value in data.items():
        setattr(category, name, value)
    category.save()
    return category


def category_delete(*, category: Category) -> None:
    """Its objects stay, uncategorised (the foreign keys are SET NULL)."""
    category.delete()


def category_reorder(*, workspace: Workspace, type_value: str, ids: Sequence[str]) -> None:
    """``ids`` must be exactly the workspace's categories of ``type_value``, each once."""
    parsed = [parse_uuid(value) for value in ids]
    existing = set(Category.objects.filter(workspace=workspace, type=type_value)
                   .values_list("id", flat=True))
    problems = []
    if any(p is None for p in parsed):
        problems.append("each value in categoryIds must be a UUID")
    elif len(set(parsed)) != len(parsed):
        problems.append("categoryIds must not contain duplicates")
    elif set(parsed) != existing:
        problems.append(f"categoryIds must list every category of type {type_value} "
                        "of this workspace, and only those")
    if problems:
        raise ValidationError(problems)
    with transaction.atomic():
        rows = {c.id: c for c in Category.objects.select_for_update()
                .filter(workspace=workspace, type=type_value).order_by("id")}
        for order, pk in enumerate(parsed):
            row = rows[pk]  # type: ignore[index]
            if row.display_order != order:
                row.display_order = order
                row.save(update_fields=["display_order", "updated_at"])


# -- library objects ------------------------------------------------------------------


def checked_category(kind: Kind, workspace: Workspace, data: dict[str, Any],
                     object_type: str | None) -> Category | None:
    """The category of ``data["category_id"]``: this workspace's, of the object's type
    (when known), else CategoryNotFound / ValidationError."""
    if not data.get("category_id"):
        return None
    found = category_get(workspace=workspace, category_id=data["category_id"])
    if found is None:
        raise CategoryNotFound()
    wanted = kind.category_type or object_type
    if wanted and found.type != wanted:
        raise ValidationError([f"categoryId must be a category of type {wanted}"])
    return found


def object_create(kind: Kind, *, workspace: Workspace, user: User,
                  data: dict[str, Any]) -> LibraryObject:
    checked_category(kind, workspace, data, data.get("type"))
    row = kind.model.objects.create(workspace=workspace, **{kind.creator_field: user}, **data)
    if kind is LINKS:
        enqueue_link_preview(label="media_library.SavedLink", pk=row.pk)
    return row


def object_update(kind: Kind, *, row: LibraryObject, data: dict[str, Any]) -> LibraryObject:
    checked_category(kind, row.workspace, data, getattr(row, "type", None))
    url_changed = kind is LINKS and "url" in data and data["url"] != row.url  # type: ignore[attr-defined]
    for name, value in data.items():
        setattr(row, name, value)
    if url_changed:
        row.preview = None  # type: ignore[attr-defined]
    row.save()
    if url_changed:
        enqueue_link_preview(label="media_library.SavedLink", pk=row.pk)
    return row


def object_soft_delete(*, row: LibraryObject) -> None:
    if not row.is_deleted:
        row.is_deleted, row.deleted_at = True, timezone.now()
        row.save(update_fields=["is_deleted", "deleted_at", "updated_at"])


def object_restore(*, row: LibraryObject) -> LibraryObject:
    """Back from the bin; a category deleted meanwhile left it uncategorised."""
    if row.is_deleted:
        row.is_deleted, row.deleted_at = False, None
        row.save(update_fields=["is_deleted", "deleted_at", "updated_at"])
    return row


def object_permanent_delete(*, row: LibraryObject) -> None:
    """The row, and the stored file of an uploaded item (its bytes are tombstoned, so a
    storage failure is retried later and never keeps the row)."""
    with transaction.atomic():
        stored = row.stored_file if isinstance(row, MediaItem) else None
        row.delete()
        if stored is not None:
            blob_store.delete(stored)


def object_use(*, row: LibraryObject) -> LibraryObject:
    type(row).objects.filter(pk=row.pk).update(usage_count=F("usage_count") + 1,
                                               last_used_at=timezone.now())
    row.refresh_from_db()
    return row


def link_refresh_preview(*, row: SavedLink) -> SavedLink:
    SavedLink.objects.filter(pk=row.pk).update(preview=None)
    row.preview = None
    enqueue_link_preview(label="media_library.SavedLink", pk=row.pk)
    return row


def template_clone(*, row: Template, user: User, name: str | None) -> Template:
    """A deep copy: new id, not starred, unused, live, created by the caller."""
    return Template.objects.create(
        workspace=row.workspace, category=row.category, name=name or f"Copy of {row.name}"[:255],
        description=row.description, template_type=row.template_type,
        platforms=list(row.platforms), content=copy.deepcopy(row.content),
        thumbnail_url=row.thumbnail_url, tags=list(row.tags), created_by=user)


# -- bulk and the bin -------------------------------------------------------------------


def items_bulk(*, workspace: Workspace, ids: list[uuid.UUID], action: str,
               category_id: uuid.UUID | None = None) -> int:
    """Apply ``action`` to those of ``ids`` that are this workspace's items; the count of
    items it actually changed (already starred, already binned... are not counted)."""
    rows = MediaItem.objects.filter(workspace=workspace, pk__in=ids)
    now = timezone.now()
    if action == "delete":
        return rows.filter(is_deleted=False).update(is_deleted=True, deleted_at=now,
                                                    updated_at=now)
    if action == "restore":
        return rows.filter(is_deleted=True).update(is_deleted=False, deleted_at=None,
                                                   updated_at=now)
    if action in ("star", "unstar"):
        starred = action == "star"
        return rows.exclude(is_starred=starred).update(is_starred=starred, updated_at=now)
    if action == "move":
        return _bulk_move(workspace, rows, category_id, now)
    assert action == "permanentDelete"
    return purge_rows(rows)


def _bulk_move(workspace: Workspace, rows: QuerySet[MediaItem], category_id: uuid.UUID | None,
               now: Any) -> int:
    found = category_get(workspace=workspace, category_id=category_id)
    if found is None:
        raise CategoryNotFound()
    mismatched = sorted(set(rows.exclude(type=found.type).values_list("type", flat=True)))
    if mismatched:
        raise ValidationError([f"categoryId must be a category of the items' type: the "
                               f"category is {found.type}, items are {', '.join(mismatched)}"])
    return rows.exclude(category_id=found.pk).update(category_id=found.pk, updated_at=now)


def purge_rows(rows: QuerySet[Any], chunk: int = 200) -> int:
    """Permanently delete ``rows`` chunk by chunk; uploaded items' files go with them."""
    deleted = 0
    while True:
        with transaction.atomic():
            batch = list(rows.select_for_update(skip_locked=True).order_by("pk")[:chunk])
            if not batch:
                return deleted
            for row in batch:
                object_permanent_delete(row=row)
            deleted += len(batch)


def bin_empty(*, workspace: Workspace) -> int:
    counts = [purge_rows(kind.model.objects.filter(workspace=workspace, is_deleted=True))
              for kind in KINDS.values()]
    return sum(counts)

