"""Reads of the library, always scoped by user; the list is hand-written SQL because it
is the hot path (see docs/user_library.md, "Performance").

A page is found by an index-only scan over ``library_user_created`` (or the per-type
index) — the covering index holds ``stored_file_id``, so skipping ``offset`` rows never
touches the heap — and only the page's rows are then joined to their files. Quarantined
files are hidden: an anti-join against the user's quarantined files (a partial index of
a handful of rows). ``total`` comes from the maintained counters of the user's
"library" quota ledger, less the quarantined ones: exact, and O(1) in the library's size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.db import connection

from apps.processing.embeddings import clip_enabled
from apps.processing.models import Embedding
from apps.storage.models import MediaKind, ProcessingState, ScanStatus, StoredFile
from user_library.conf import QUOTA_BUCKET
from user_library.models import MediaType

_KINDS: dict[str | None, tuple[str, ...] | None] = {
    None: None, MediaType.IMAGE: (MediaKind.IMAGE, MediaKind.GIF),
    MediaType.VIDEO: (MediaKind.VIDEO,)}

ROW_COLUMNS = (
    "li.id, li.user_id, li.media_type, li.source, li.created_at, li.metadata::text,"
    " sf.id, sf.key, sf.size, sf.mime_type, sf.original_name, sf.scan_status,"
    " sf.processing_state, sf.sha256, sf.width, sf.height, sf.duration")

# As NOT IN over a subquery, PostgreSQL hashes the user's few quarantined ids once and
# probes the hash as a filter of the index-only scan ("hashed SubPlan"); NOT EXISTS was
# planned as a nested-loop anti-join comparing every skipped row with each of them (deep
# page SQL 30 ms -> 11 ms at offset 90,000). The same rows: neither id can be NULL.
_NOT_QUARANTINED = (
    "li.stored_file_id NOT IN (SELECT q.id FROM storage_storedfile q WHERE q.is_quarantined"
    " AND q.owner_user_id = %(user)s AND q.quota_bucket = %(bucket)s)")

# Built from the constants above only (no input reaches the text: values are parameters).
_PAGE_SQL = f"""
SELECT {ROW_COLUMNS}
FROM (SELECT li.id, li.created_at FROM library_items li
      WHERE li.user_id = %(user)s {{type_filter}} AND {_NOT_QUARANTINED}
      ORDER BY li.created_at DESC, li.id DESC LIMIT %(limit)s OFFSET %(offset)s) page
JOIN library_items li ON li.id = page.id
JOIN storage_storedfile sf ON sf.id = li.stored_file_id
ORDER BY page.created_at DESC, page.id DESC"""  # noqa: S608
PAGE_SQL = {None: _PAGE_SQL.format(type_filter=""),
            "typed": _PAGE_SQL.format(type_filter="AND li.media_type = %(type)s")}

ONE_SQL = f"""
SELECT {ROW_COLUMNS}
FROM library_items li JOIN storage_storedfile sf ON sf.id = li.stored_file_id
WHERE li.id = %(id)s AND li.user_id = %(user)s AND NOT sf.is_quarantined"""  # noqa: S608

COUNTS_SQL = """
SELECT l.file_count, l.image_count + l.gif_count, l.video_count, l.used_bytes, l.limit_bytes,
       (SELECT count(*) FROM storage_storedfile q WHERE q.is_quarantined
        AND q.owner_user_id = %(user)s AND q.quota_bucket = %(bucket)s
        AND q.kind = ANY(%(kinds)s))
FROM storage_quotaledger l WHERE l.owner_user_id = %(user)s AND l.bucket = %(bucket)s"""

VARIANTS_SQL = """
SELECT v.stored_file_id, v.id, v.spec, v.format, v.key, v.mime_type, v.kind, v.spec_hash,
       v.source_sha256, v.width, v.height
FROM storage_variant v
WHERE v.stored_file_id = ANY(%(files)s) AND v.spec = ANY(%(specs)s) AND v.format = %(format)s"""


EMBEDDING_MODEL_SQL = (
    f"SELECT e.model FROM {Embedding._meta.db_table} e"  # noqa: S608 (a table name)
    " WHERE e.stored_file_id = %(file)s")

# Exact nearest neighbours among the user's own embedded items: the query vector comes
# from a row, not a constant, so no HNSW index can serve the ORDER BY; PostgreSQL reads
# the user's items by ``library_user_created`` and each embedding by its primary key.
# A per-user set is small, and an exact answer is what a user expects of their library.
# Only vectors of the same model are comparable; quarantined items stay hidden.
SIMILAR_SQL = f"""
SELECT {ROW_COLUMNS}, e.vector <=> q.vector AS distance
FROM {Embedding._meta.db_table} q
JOIN library_items li ON li.user_id = %(user)s AND li.id <> %(id)s
JOIN storage_storedfile sf ON sf.id = li.stored_file_id AND NOT sf.is_quarantined
JOIN {Embedding._meta.db_table} e ON e.stored_file_id = li.stored_file_id AND e.model = q.model
WHERE q.stored_file_id = %(file)s
ORDER BY distance, li.id
LIMIT %(limit)s"""  # noqa: S608


@dataclass(frozen=True)
class Counts:
    items: int
    images: int
    videos: int
    used_bytes: int
    limit_bytes: int | None  # None: the default limit


def library_counts(*, user_id: Any, media_type: str | None = None) -> tuple[Counts, int]:
    """The ledger's counters and how many of ``media_type`` (all if None) are hidden."""
    kinds = list(_KINDS[media_type] or [k for k in MediaKind.values])
    with connection.cursor() as cursor:
        cursor.execute(COUNTS_SQL, {"user": user_id, "bucket": QUOTA_BUCKET, "kinds": kinds})
        row = cursor.fetchone()
    if row is None:
        return Counts(0, 0, 0, 0, None), 0
    return Counts(*row[:5]), int(row[5])


def library_item_total(*, user_id: Any, media_type: str | None) -> int:
    counts, hidden = library_counts(user_id=user_id, media_type=media_type)
    shown: int = {None: counts.items, MediaType.IMAGE: counts.images,
             MediaType.VIDEO: counts.videos}[media_type]  # type: ignore[index]
    return max(0, shown - hidden)


def library_item_rows(*, user_id: Any, media_type: str | None, limit: int,
                      offset: int) -> list[tuple[Any, ...]]:
    """One page of the user's visible items, newest first, as ``ROW_COLUMNS`` tuples."""
    params = {"user": user_id, "bucket": QUOTA_BUCKET, "limit": limit, "offset": offset,
              "type": media_type}
    with connection.cursor() as cursor:
        cursor.execute(PAGE_SQL["typed" if media_type else None], params)
        return cursor.fetchall()


def library_item_row(*, user_id: Any, item_id: UUID) -> tuple[Any, ...] | None:
    with connection.cursor() as cursor:
        cursor.execute(ONE_SQL, {"id": item_id, "user": user_id})
        row: tuple[Any, ...] | None = cursor.fetchone()
        return row


def variant_rows(*, file_ids: list[UUID], specs: list[str],
                 format: str) -> list[tuple[Any, ...]]:
    if not file_ids:
        return []
    with connection.cursor() as cursor:
        cursor.execute(VARIANTS_SQL, {"files": file_ids, "specs": specs, "format": format})
        return cursor.fetchall()


def library_item_similar(*, user_id: Any, item_id: UUID, file_id: UUID, limit: int,
                         ) -> list[tuple[tuple[Any, ...], float]] | None:
    """The user's other items nearest to ``item_id`` by the cosine distance of their CLIP
    embeddings, as (``ROW_COLUMNS`` row, similarity in [0, 1]), most similar first;
    None when the item itself has no embedding (nothing to compare with).

    The caller has checked that ``item_id`` (holding ``file_id``) is the user's.
    """
    with connection.cursor() as cursor:
        cursor.execute(EMBEDDING_MODEL_SQL, {"file": file_id})
        if cursor.fetchone() is None:
            return None
        cursor.execute(SIMILAR_SQL, {"user": user_id, "id": item_id, "file": file_id,
                                     "limit": limit})
        rows = cursor.fetchall()
    return [(row[:-1], min(1.0, max(0.0, 1.0 - float(row[-1])))) for row in rows]


def library_item_embedding_state(row: tuple[Any, ...]) -> str:
    """Why an item (a ``ROW_COLUMNS`` row) has no embedding: ``pending`` while one may
    still come (not scanned or processed yet, or queued for the embeddings worker), else
    ``unavailable`` (a video, no CLIP model configured, a failed or refused file, or an
    image processed while CLIP was off: nothing will embed it by itself)."""
    media_type, file_id, scan_status, state = row[2], row[6], row[11], row[12]
    if media_type != MediaType.IMAGE or not clip_enabled():
        return "unavailable"
    if scan_status not in (ScanStatus.CLEAN, ScanStatus.PENDING, ScanStatus.SCANNING,
                           ScanStatus.ERROR) or state == ProcessingState.FAILED:
        return "unavailable"
    if state == ProcessingState.READY:
        skipped = (StoredFile.objects.filter(pk=file_id)
                   .values_list("meta__embedding", flat=True).first())
        if skipped == "disabled":
            return "unavailable"
    return "pending"
