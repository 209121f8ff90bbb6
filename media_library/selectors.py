"""Reads of the media library, every one scoped to one workspace.

Lists filter on ``(workspace, is_deleted)`` first, the leading columns of every index
(models.py); ``search`` is a case-insensitive substring match (``ILIKE``, served by the
trigram GIN indexes), ``tags`` an AND over the tag array (``@>``, its GIN index).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from django.db import connection
from django.db.models import F, Q, QuerySet

from apps.accounts.models import Workspace
from apps.core.compiled import Statement, compiled
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


def _binned(kind: Kind, type_filtered: bool) -> Callable[..., QuerySet[Any]]:
    """The factory of a section's binned rows (of one type when ``type_filtered``)."""
    def build(workspace_id: uuid.UUID, type_value: str | None = None) -> QuerySet[Any]:
        rows = kind.model.objects.filter(workspace_id=workspace_id, is_deleted=True)
        if type_filtered and kind.type_field:
            rows = rows.filter(**{kind.type_field: type_value})
        return rows
    return build


def bin_sections(kinds: list[Kind], *, workspace: Workspace, limit: int, offset: int,
                 type_value: str | None = None
                 ) -> list[tuple[list[SimpleNamespace], int]]:
    """Sections of the recycle bin, most recently deleted first, with their totals.

    The bin is read whole on every visit, so its statements are compiled once per shape
    (apps.core.compiled) and its rows come as records of the fields (with the category's
    ``category_name``), not model instances. The totals that a page cannot tell (a full
    page, or one past the start) are counted in one statement for all sections.
    """
    values: dict[str, Any] = {"workspace_id": workspace.pk}
    if type_value:
        values["type_value"] = type_value
    pages = []
    for kind in kinds:
        filtered = bool(type_value and kind.type_field)
        key = ("media_library.bin_page", kind.key, filtered, limit, offset)
        pages.append(compiled(key, _bin_page(kind, filtered, limit, offset),
                              **_given(values, filtered)).records())
    unknown = [i for i, page in enumerate(pages) if len(page) == limit or (offset and not page)]
    totals = [len(page) + offset for page in pages]
    if unknown:
        counted = _count_all([_bin_ids(kinds[i], values, type_value) for i in unknown])
        for i, total in zip(unknown, counted, strict=True):
            totals[i] = total
    return list(zip(pages, totals, strict=True))


def _bin_page(kind: Kind, filtered: bool, limit: int, offset: int
              ) -> Callable[..., QuerySet[Any]]:
    build = _binned(kind, filtered)
    fields = [f.attname for f in kind.model._meta.concrete_fields]

    def page(**given: Any) -> QuerySet[Any]:
        return (build(**given).annotate(category_name=F("category__name"))
                .order_by("-deleted_at", "-id")
                .values(*fields, "category_name")[offset:offset + limit])
    return page


def _given(values: dict[str, Any], filtered: bool) -> dict[str, Any]:
    return values if filtered else {"workspace_id": values["workspace_id"]}


def _bin_ids(kind: Kind, values: dict[str, Any], type_value: str | None) -> Statement:
    filtered = bool(type_value and kind.type_field)
    build = _binned(kind, filtered)
    return compiled(("media_library.bin_ids", kind.key, filtered),
                    lambda **given: build(**given).values("pk"), **_given(values, filtered))


def _count_all(statements: list[Statement]) -> list[int]:
    """``SELECT (SELECT count(*) FROM (q1)), (SELECT count(*) FROM (q2)), …``."""
    parts: list[str] = []
    params: list[Any] = []
    for statement in statements:
        # the ORM's own SQL with its parameters kept apart: nothing of the request inlined
        parts.append(f"(SELECT count(*) FROM ({statement.sql}) AS q)")  # noqa: S608
        params.extend(statement.params)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(parts)}", params)
        return [int(n) for n in cursor.fetchone()]
