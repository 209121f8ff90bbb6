"""Reads of ai_media, as hand-written SQL: the feed, tag search, one item, tag counts.

Feed and search pages are keyset pages over ``(created_at DESC, id DESC)``: the cursor
holds the last row's pair, and the next page is a row comparison the
``media_created``/``media_type_created`` indexes range-scan, so page 1,000 costs what
page 1 costs and rows inserted meanwhile neither repeat nor vanish. Tag filters (AND)
are ``tag_values @> ARRAY[...]`` on the GIN index.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import connection

ITEM_COLUMNS = "m.id, m.media_type, m.thumbnail_url, m.media_url, m.title, m.created_at"
KNOWN_CATEGORIES = ("hair", "ethnicity", "style", "body", "setting", "clothing", "pose",
                    "expression", "scene", "content", "age_style")


def filter_clauses(media_type: str | None, tags: Sequence[str]) -> tuple[list[str], dict[str, Any]]:
    where: list[str] = []
    params: dict[str, Any] = {}
    if media_type:
        where.append("m.media_type = %(type)s")
        params["type"] = media_type
    if tags:
        where.append("m.tag_values @> %(tags)s::text[]")
        params["tags"] = list(tags)
    return where, params


def media_page(*, media_type: str | None, tags: Sequence[str], after: tuple[datetime, str] | None,
               limit: int) -> list[tuple[Any, ...]]:
    """``limit + 1`` rows at most (the extra one says whether there is a next page)."""
    where, params = filter_clauses(media_type, tags)
    if after is not None:
        where.append("(m.created_at, m.id) < (%(after_at)s, %(after_id)s)")
        params.update(after_at=after[0], after_id=after[1])
    params["limit"] = limit + 1
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    sql = (f"SELECT {ITEM_COLUMNS} FROM media m {clause} "  # noqa: S608 (constant fragments)
           "ORDER BY m.created_at DESC, m.id DESC LIMIT %(limit)s")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def media_match_count(*, media_type: str | None, tags: Sequence[str]) -> int:
    """Items carrying all ``tags`` (of ``media_type`` when given): ``totalMatches``.

    Counting over the GIN index visits every matching row, ~0.2 s for a tag on a fifth of
    a million items, so the maintained counts answer where they are exact: a tag no item
    carries makes 0, and one tag without a type filter is its count in
    ``media_tag_counts`` (when the value is under one category only: an item can hold a
    (category, value) pair once, so that count is the number of items). Otherwise, SQL.
    """
    known = _maintained_match_count(tags, typed=media_type is not None)
    if known is not None:
        return known
    where, params = filter_clauses(media_type, tags)
    sql = f"SELECT count(*) FROM media m WHERE {' AND '.join(where)}"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return int(cursor.fetchone()[0])


def _maintained_match_count(tags: Sequence[str], *, typed: bool) -> int | None:
    """``media_match_count`` from ``media_tag_counts`` where that is exact, else None."""
    if not tags:
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT tag_value, count(*) FILTER (WHERE count > 0), sum(count) "
                       "FROM media_tag_counts WHERE tag_value = ANY(%s) GROUP BY tag_value",
                       [list(tags)])
        counts = {value: (int(categories), int(total))
                  for value, categories, total in cursor.fetchall()}
    if any(counts.get(tag, (0, 0))[1] <= 0 for tag in tags):
        return 0
    if len(tags) == 1 and not typed and counts[tags[0]][0] == 1:
        return counts[tags[0]][1]
    return None


def media_tags_of(media_ids: Sequence[str]) -> dict[str, list[tuple[str, str]]]:
    """(category, value) pairs per item, in a stable order."""
    if not media_ids:
        return {}
    out: dict[str, list[tuple[str, str]]] = {media_id: [] for media_id in media_ids}
    with connection.cursor() as cursor:
        cursor.execute("SELECT media_id, tag_category, tag_value FROM media_tags "
                       "WHERE media_id = ANY(%s) ORDER BY media_id, tag_category, tag_value",
                       [list(media_ids)])
        for media_id, category, value in cursor.fetchall():
            out[media_id].append((category, value))
    return out


def media_row(media_id: str) -> tuple[Any, ...] | None:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {ITEM_COLUMNS} FROM media m WHERE m.id = %s",  # noqa: S608
                       [media_id])
        row: tuple[Any, ...] | None = cursor.fetchone()
        return row


def tag_categories() -> list[dict[str, Any]]:
    """Known categories first (the spec's order), then any others by name; values by
    count desc (then by value, for a stable order); zero counts left out."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT tag_category, tag_value, count FROM media_tag_counts "
                       "WHERE count > 0 ORDER BY tag_category, count DESC, tag_value")
        rows = cursor.fetchall()
    grouped: dict[str, list[dict[str, Any]]] = {}
    for category, value, count in rows:
        grouped.setdefault(category, []).append({"value": value, "count": count})
    rank = {name: i for i, name in enumerate(KNOWN_CATEGORIES)}
    names = sorted(grouped, key=lambda n: (rank.get(n, len(rank)), n))
    return [{"name": name, "values": grouped[name]} for name in names]


def tag_count_upper_bound(tags: Sequence[str]) -> int | None:
    """At most this many items carry all ``tags`` (the rarest one's count, from the
    maintained counts); None without tags."""
    if not tags:
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT tag_value, sum(count) FROM media_tag_counts "
                       "WHERE tag_value = ANY(%s) GROUP BY tag_value", [list(tags)])
        counts = dict(cursor.fetchall())
    return min(int(counts.get(tag, 0)) for tag in tags)
