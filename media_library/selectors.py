"""Reads of the media library, every one scoped to one workspace.

Lists filter on ``(workspace, is_deleted)`` first, the leading columns of every index
(models.py); ``search`` is a case-insensitive substring match (``ILIKE``, served by the
trigram GIN indexes), ``tags`` an AND over the tag array (``@>``, its GIN index).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import F, Q, QuerySet

from apps.accounts.models import Workspace
from apps.core.ids import parse_uuid
from media_library.kinds import Kind
from media_library.models import Category, LibraryObject

SORT_FIELDS = {"createdAt": "created_at", "name": "name", "usageCount": "usage_count",
               "lastUsedAt": "last_used_at"}


@dataclass
class ListQuery:
    limit: int = 50
    offset: int = 0
    type_value: str | None = None
    category_id: uuid.UUID | None = None
    is_starred: bool | None = None
    is_deleted: bool = False
    search: str | None = None
    tags: list[str] = field(default_factory=list)
    platform: str | None = None
    sort_by: str = "createdAt"
    sort_order: str = "desc"


def category_list(*, workspace: Workspace, type_value: str | None = None) -> QuerySet[Category]:
    rows = Category.objects.filter(workspace=workspace)
    if type_value:
        rows = rows.filter(type=type_value)
    return rows.order_by("type", "display_order", "created_at", "id")


def category_get(*, workspace: Workspace, category_id: object) -> Category | None:
    pk = parse_uuid(category_id)
    if pk is None:
        return None
    return Category.objects.filter(workspace=workspace, pk=pk).first()


def object_get(kind: Kind, *, workspace: Workspace, object_id: object) -> LibraryObject:
    """The object of this workspace (live or binned), or the kind's NotFound."""
    pk = parse_uuid(object_id)
    found = (kind.model.objects.select_related("category")
             .filter(workspace=workspace, pk=pk).first() if pk is not None else None)
    if found is None:
        raise kind.not_found()
    return found


def object_filter(kind: Kind, *, workspace: Workspace, query: ListQuery) -> QuerySet[Any]:
    rows = kind.model.objects.filter(workspace=workspace, is_deleted=query.is_deleted)
    if query.type_value and kind.type_field:
        rows = rows.filter(**{kind.type_field: query.type_value})
    if query.category_id:
        rows = rows.filter(category_id=query.category_id)
    if query.is_starred is not None:
        rows = rows.filter(is_starred=query.is_starred)
    if query.search:
        needle = query.search
        match = Q()
        for name in kind.search_fields:
            match |= Q(**{f"{name}__ilike_contains": needle})  # the trigram indexes
        rows = rows.filter(match)
    if query.tags:
        rows = rows.filter(tags__contains=query.tags)
    if query.platform:
        rows = rows.filter(platforms__contains=[query.platform])
    return rows


def object_page(kind: Kind, *, workspace: Workspace, query: ListQuery
                ) -> tuple[list[LibraryObject], int]:
    """One page in the asked order (ties by id; never-used last for lastUsedAt) and the
    total of matching rows."""
    rows = object_filter(kind, workspace=workspace, query=query)
    column = SORT_FIELDS[query.sort_by]
    descending = query.sort_order == "desc"
    # The orders are the indexes' (models._object_indexes), so a page is an index scan.
    # Only last_used_at holds NULLs; PostgreSQL puts them last in ASC already, and the
    # DESC index is NULLS LAST.
    order: Any = f"-{column}" if descending else column
    if column == "last_used_at" and descending:
        order = F(column).desc(nulls_last=True)
    page = list(rows.select_related("category")
                .order_by(order, "-id" if descending else "id")
                [query.offset:query.offset + query.limit])
    total = rows.count() if page or query.offset else 0
    return page, total


def recent_items(kind: Kind, *, workspace: Workspace, limit: int) -> list[LibraryObject]:
    """Live objects by last use (then newest: ids are time-ordered uuid7s): what the
    composer offers first."""
    return list(kind.model.objects.select_related("category")
                .filter(workspace=workspace, is_deleted=False)
                .order_by(F("last_used_at").desc(nulls_last=True), "-id")
                [:limit])


def _binned(kind: Kind, workspace: Workspace, type_value: str | None) -> QuerySet[Any]:
    rows = kind.model.objects.filter(workspace=workspace, is_deleted=True)
    if type_value and kind.type_field:
        rows = rows.filter(**{kind.type_field: type_value})
    return rows


def bin_sections(kinds: list[Kind], *, workspace: Workspace, limit: int, offset: int,
                 type_value: str | None = None
                 ) -> list[tuple[list[LibraryObject], int]]:
    """Sections of the recycle bin, most recently deleted first, with their totals.

    A page's category comes as ``category_name`` (no Category objects to build), and
    the totals that a page cannot tell (a full page, or one past the start) are counted
    in one statement for all sections: one round trip instead of one per section.
    """
    pages = [list(_binned(kind, workspace, type_value)
                  .annotate(category_name=F("category__name"))
                  .order_by("-deleted_at", "-id")[offset:offset + limit]) for kind in kinds]
    unknown = [i for i, page in enumerate(pages) if len(page) == limit or (offset and not page)]
    totals = [len(page) + offset for page in pages]
    if unknown:
        counted = _count_all([_binned(kinds[i], workspace, type_value) for i in unknown])
        for i, total in zip(unknown, counted, strict=True):
            totals[i] = total
    return list(zip(pages, totals, strict=True))


def _count_all(querysets: list[QuerySet[Any]]) -> list[int]:
    """``SELECT (SELECT count(*) FROM (q1)), (SELECT count(*) FROM (q2)), …``."""
    parts: list[str] = []
    params: list[Any] = []
    for queryset in querysets:
        sql, part_params = queryset.values("pk").query.sql_with_params()
        # the ORM's own SQL with its parameters kept apart: nothing of the request inlined
        parts.append(f"(SELECT count(*) FROM ({sql}) AS q)")  # noqa: S608
        params.extend(part_params)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(parts)}", params)
        return [int(n) for n in cursor.fetchone()]
