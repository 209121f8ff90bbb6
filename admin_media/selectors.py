"""Reads of the console: a page of live media, newest first, with its total.

How each read stays cheap at millions of rows (models.py has the indexes and tables):

- the page is found by ids first (``id IN (SELECT id … ORDER BY created_at DESC, id DESC
  LIMIT n OFFSET o)``): for one filter that inner walk is an index-only scan of the
  filter's partial index, so page 5,000 skips 50,000 index entries, not heap rows; the
  outer query reads the page's rows alone;
- a ``category`` page (alone, or with ``mediaType``, ``type`` or ``supabaseId``) walks
  ``admin_media_category_entries`` in list order; with other filters the GIN index on
  ``category`` joins the plan;
- ``total`` for any mix of ``type``, ``mediaType``, ``aspectRatio`` and ``category`` is a
  sum over ``admin_media_tallies``; a category with a user counts the category's entries
  of that user (an index-only count); with ``supabaseId``, ``recordId`` or a
  ``createdAt`` range otherwise it is an exact COUNT, which those filters' indexes bound
  to the rows they match.

Every statement is compiled once per shape (apps.core.compiled): the key is which filters
are given and the page's slice.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet, Sum

from admin_media.models import Media, MediaCategoryEntry, MediaTally
from admin_media.validation import ListQuery
from apps.core.compiled import compiled

COLUMNS = [f.attname for f in Media._meta.concrete_fields if f.attname != "stored_file_id"]
ORDER = ("-created_at", "-id")
# the filters the tallies count by: ListQuery attribute -> MediaTally column
TALLIED = {"mime_type": "mime_type", "media_type": "media_type", "aspect_ratio": "aspect_ratio"}
# every filter: ListQuery attribute -> Media lookup
LOOKUPS = {"mime_type": "type", "media_type": "media_type", "supabase_id": "supabase_id",
           "record_id": "record_id", "aspect_ratio": "aspect_ratio",
           "category": "category__contains", "created_from": "created_at__gte",
           "created_to": "created_at__lte"}


def _given(query: ListQuery) -> dict[str, Any]:
    return {name: getattr(query, name) for name in LOOKUPS if getattr(query, name) is not None}


def _live(**given: Any) -> QuerySet[Media]:
    rows = Media.objects.filter(is_delete=False)
    for name, value in given.items():
        rows = rows.filter(**{LOOKUPS[name]: [value] if name == "category" else value})
    return rows


# ListQuery attribute -> MediaCategoryEntry column, for the filters the entries carry
ENTRY_COLUMNS = {"category": "category", "media_type": "media_type",
                 "mime_type": "mime_type", "supabase_id": "supabase_id"}
# the mixes an entries index serves in list order (models.MediaCategoryEntry.Meta)
_ENTRY_MIXES = ({"category"}, {"category", "media_type"}, {"category", "mime_type"},
                {"category", "mime_type", "media_type"}, {"category", "supabase_id"})


def _by_category(given: dict[str, Any]) -> bool:
    """A page (and a count) the category entries serve: a category alone, or with a
    media type, a MIME type or a user."""
    return set(given) in _ENTRY_MIXES


def _entries(**values: Any) -> QuerySet[MediaCategoryEntry]:
    return MediaCategoryEntry.objects.filter(
        **{ENTRY_COLUMNS[name]: value for name, value in values.items()})


def media_total(query: ListQuery) -> int:
    given = _given(query)
    if set(given) <= {*TALLIED, "category"}:
        def tallies(**values: Any) -> QuerySet[Any]:
            rows = MediaTally.objects.filter(category=values.pop("category", ""))
            for name, value in values.items():
                rows = rows.filter(**{TALLIED[name]: value})
            return rows.values("category").annotate(total=Sum("count")).values("total")

        found = compiled(("admin_media.total.tallies", *sorted(given)), tallies,
                         **given).dicts()
        return int(found[0]["total"]) if found else 0
    if _by_category(given):  # an index-only count of the category's entries
        return compiled(("admin_media.total.entries", *sorted(given)),
                        lambda **values: _entries(**values).values("media_id"),
                        **given).count()
    return compiled(("admin_media.total.count", *sorted(given)),
                    lambda **values: _live(**values).values("id"), **given).count()


def media_page(query: ListQuery) -> list[dict[str, Any]]:
    """The page's rows as ``values()`` dicts of COLUMNS, newest first."""
    given = _given(query)
    start, stop = query.offset, query.offset + query.page_size
    by_category = _by_category(given)

    def page(**values: Any) -> QuerySet[Any]:
        if by_category:
            ids: QuerySet[Any] = (_entries(**values).order_by("-created_at", "-media_id")
                                  .values("media_id")[start:stop])
        else:
            ids = _live(**values).order_by(*ORDER).values("id")[start:stop]
        return Media.objects.filter(id__in=ids).order_by(*ORDER).values(*COLUMNS)

    key = ("admin_media.page", by_category, *sorted(given), start, stop)
    return compiled(key, page, **given).dicts()


def media_get_live(media_id: str) -> Media | None:
    return Media.objects.filter(pk=media_id, is_delete=False).first()


