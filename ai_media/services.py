"""Writes of ai_media: upserting items (single or bulk), deleting them.

An upsert replaces the item whole, as the spec's bulk import does: its fields, its tags
(``media_tags`` rows and the denormalised ``media.tag_values``) and its embedding (an item
sent without ``clip_embedding`` loses the old one and gets one computed by the worker
from its URL, when a CLIP model is configured). ``media_tag_counts`` changes by the
difference between the old and the new tags, in the same transaction.

Bulk requests are written in batches of 50 (the spec), each in one transaction; if a
batch fails in the database, its items are retried one by one so that one bad item is
reported and never sinks the others. Rows are locked in id order and tag counters in
(category, value) order, so concurrent imports cannot deadlock.

Every write names its ``Writer``: an API key of a user changes only the items that
user wrote (``media.owner``); another writer's id is refused (an item error, a 403
for the single form, a 404 for a delete), so one tenant's key cannot overwrite or
delete another's items. The API secret, an admin-scoped key and the import command
(``PLATFORM``) may change any item.
"""

from __future__ import annotations

import functools
import logging
import os
import struct
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import numpy as np
import orjson
import psycopg
from django.db import DatabaseError, DataError, connection, transaction
from django.utils import timezone

from ai_media.models import EMBEDDING_DIMENSIONS, Media, MediaTag, new_media_id
from ai_media.validation import ItemInvalid, MediaInput, media_input
from apps.core.errors import PermissionDeniedError

logger = logging.getLogger(__name__)

BATCH_SIZE = 50  # the spec: "Items are processed in batches of 50"
# A batch is written set-based: the media rows by one INSERT ... ON CONFLICT over a JSON
# array, the tag and vector rows by COPY (FORMAT BINARY) (the vectors as pgvector's binary
# format straight from the float32 array: no decimal text either way), after the
# batch's old tag and vector rows are deleted. The ORM's bulk_create spent most of a
# batch formatting 512 floats per vector as text and adapting every field of every row.
# The media rows in id order (so concurrent batches lock rows in one order and cannot
# deadlock). An update keeps the stored created_at unless the item sets one (the
# ``given`` JSON object: id -> created_at), so no prior locking SELECT is needed; the row
# says whether it was inserted (xmax 0: no earlier version of it) or updated. A writer
# bound to its own items updates only the rows it owns: a row of another owner is left
# alone and not returned, which is how the caller learns it was refused.
_UPSERT_MEDIA = """INSERT INTO "media" (id, media_type, thumbnail_url, media_url, title,
                     created_at, tag_values, embedding_error, owner_id)
SELECT d.id, d.media_type, d.thumbnail_url, d.media_url, d.title,
       coalesce(d.created_at, %(now)s), d.tag_values, '', %(owner)s::uuid
FROM json_to_recordset(%(items)s::json) AS d(id text, media_type text, thumbnail_url text,
                                             media_url text, title text,
                                             created_at timestamptz, tag_values text[])
ORDER BY d.id
ON CONFLICT (id) DO UPDATE SET media_type = EXCLUDED.media_type,
    thumbnail_url = EXCLUDED.thumbnail_url, media_url = EXCLUDED.media_url, title = EXCLUDED.title,
    created_at = coalesce((%(given)s::jsonb ->> EXCLUDED.id)::timestamptz, "media".created_at),
    tag_values = EXCLUDED.tag_values, embedding_error = EXCLUDED.embedding_error
WHERE %(any_item)s::boolean OR "media".owner_id = %(owner)s::uuid
RETURNING id, xmax = 0"""
# Only updated items can have old tags and a vector: an inserted row had no earlier
# version, so nothing could reference it. Their old tags come back for the counts.
_DELETE_OLD = """
WITH vectors AS (DELETE FROM media_embeddings WHERE media_id = ANY(%(ids)s::text[]))
DELETE FROM media_tags WHERE media_id = ANY(%(ids)s::text[]) RETURNING tag_category, tag_value"""
# The counts move by new minus old tags, last in the transaction (so a concurrent batch
# waits on a counter row only for the commit), in the (category, value) order the rows
# come in (sorted), so that concurrent writers cannot deadlock
_COUNT_DELTA = """
INSERT INTO media_tag_counts (tag_category, tag_value, count)
SELECT t->>0, t->>1, (t->>2)::bigint FROM json_array_elements(%s::json) WITH ORDINALITY AS d(t, n)
ORDER BY n
ON CONFLICT (tag_category, tag_value) DO UPDATE SET count = media_tag_counts.count + EXCLUDED.count
"""
_COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
_COPY_TRAILER = struct.pack(">h", -1)
_TAG_ROW_HEAD = struct.pack(">hi", 4, 16)  # 4 fields; the first a 16-byte uuid
_VECTOR_SIZE = struct.pack(">iHH", 4 + 4 * EMBEDDING_DIMENSIONS, EMBEDDING_DIMENSIONS, 0)
_NUL_REFUSED = "PostgreSQL text fields cannot contain NUL (0x00) bytes"  # psycopg's words
OWNED_ELSEWHERE = "id belongs to an item another writer owns"


@dataclass(frozen=True)
class Writer:
    """Who writes: ``owner_id`` is recorded on the items it creates; unless
    ``any_item``, it may update or delete only the items it owns."""

    owner_id: UUID | None
    any_item: bool


PLATFORM = Writer(owner_id=None, any_item=True)  # the import command; the API secret
# The writer of the upsert in progress, set by media_upsert_many and media_create: the
# batch writer keeps its one-argument shape (a batch is its items), which its retry
# loop and the tests' spies on it rely on.
_WRITER: ContextVar[Writer] = ContextVar("ai_media_writer", default=PLATFORM)


class MediaOwnedElsewhere(PermissionDeniedError):
    default_message = "This item belongs to another writer."


@dataclass(frozen=True)
class ItemError:
    index: int
    id: str | None
    error: str

    def as_dict(self) -> dict[str, object]:
        return {"index": self.index, "id": self.id, "error": self.error}


@dataclass
class BulkResult:
    inserted: int = 0  # items written (created or updated): the spec's count
    created: int = 0
    updated: int = 0
    errors: list[ItemError] | None = None
    needs_embedding: list[str] | None = None


def _apply_count_deltas(cursor: Any, deltas: Counter[tuple[str, str]]) -> None:
    """Move the counts by ``deltas``, in (category, value) order."""
    changes = sorted((c, v, n) for (c, v), n in deltas.items() if n)
    if changes:  # as one JSON text: psycopg adapts a list element by element
        cursor.execute(_COUNT_DELTA, [orjson.dumps(changes).decode()])


@functools.lru_cache(maxsize=65536)  # tag categories and values repeat across items
def _copy_text(value: str) -> bytes:
    data = value.encode()
    return struct.pack(">i", len(data)) + data


def _copy(cursor: psycopg.Cursor[Any], table: str, columns: str, rows: list[bytes]) -> None:
    """COPY ``rows`` (binary format) on Django's connection, in its transaction."""
    with cursor.copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.write(b"".join([_COPY_SIGNATURE, *rows, _COPY_TRAILER]))


def _uuid4_bytes(count: int) -> Iterator[bytes]:
    """``count`` random version-4 UUIDs as 16 bytes each, made in one go (a column
    default would be volatile, and a volatile default makes COPY insert row by row)."""
    raw = np.frombuffer(os.urandom(16 * count), dtype=np.uint8).reshape(count, 16).copy()
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40  # version 4
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80  # RFC 4122 variant
    data = raw.tobytes()
    return (data[i:i + 16] for i in range(0, len(data), 16))


def _refuse_nul(items: Sequence[MediaInput]) -> None:
    """A NUL in a text value fails as it failed as a bound parameter (a DataError)."""
    for item in items:
        texts = (item.media_url, item.thumbnail_url or "", item.title or "",
                 *(part for tag in item.tags for part in tag))
        if any("\x00" in text for text in texts):
            raise DataError(_NUL_REFUSED)


def _write_batch(items: Sequence[MediaInput]) -> tuple[int, int, list[str], set[str]]:
    """Upsert ``items`` (distinct ids, all set) in one transaction, as the current
    writer (``_WRITER``); (created, updated, ids that need an embedding computed, ids
    refused: another writer's items)."""
    writer = _WRITER.get()
    assert all(item.id for item in items)
    _refuse_nul(items)
    # A server-binding psycopg cursor on Django's connection (in its transaction): the
    # batch's JSON goes as a parameter, not escaped into the SQL text. Not prepared: a
    # generic plan made while the tables are small would keep scanning them whole.
    with transaction.atomic(), connection.wrap_database_errors, \
            psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(_UPSERT_MEDIA, {
            "now": timezone.now(), "owner": writer.owner_id, "any_item": writer.any_item,
            "given": orjson.dumps({item.id: item.created_at.isoformat()
                                   for item in items if item.created_at}).decode(),
            "items": orjson.dumps([
                {"id": item.id, "media_type": item.media_type,
                 "thumbnail_url": item.thumbnail_url, "media_url": item.media_url,
                 "title": item.title, "tag_values": item.tag_values,
                 "created_at": item.created_at and item.created_at.isoformat()}
                for item in items]).decode()})
        written = cursor.fetchall()
        updated = [media_id for media_id, inserted in written if not inserted]
        refused = {str(item.id) for item in items} - {media_id for media_id, _ in written}
        items = [item for item in items if str(item.id) not in refused]
        old_tags: list[tuple[str, str]] = []
        if updated:
            cursor.execute(_DELETE_OLD, {"ids": updated})
            old_tags = cursor.fetchall()
        uuids = _uuid4_bytes(sum(len(item.tags) for item in items))
        tag_rows = [_TAG_ROW_HEAD + next(uuids) + ref + _copy_text(c) + _copy_text(v)
                    for item in items for ref in (_copy_text(str(item.id)),)
                    for c, v in item.tags]
        if tag_rows:
            _copy(cursor, "media_tags", "id, media_id, tag_category, tag_value", tag_rows)
        vector_rows = [b"\x00\x02" + _copy_text(str(item.id)) + _VECTOR_SIZE
                       + item.embedding.astype(">f4", copy=False).tobytes()
                       for item in items if item.embedding is not None]
        if vector_rows:
            _copy(cursor, "media_embeddings", "media_id, embedding", vector_rows)
        deltas = Counter(tag for item in items for tag in item.tags)
        deltas.subtract(old_tags)
        _apply_count_deltas(cursor, deltas)
    without = [str(item.id) for item in items if item.embedding is None]
    return len(items) - len(updated), len(updated), without, refused


def media_upsert_many(raw_items: Iterable[object], *, batch_size: int = BATCH_SIZE,
                      writer: Writer = PLATFORM) -> BulkResult:
    """Validate and upsert many items; bad ones (and other writers' ids) are reported by
    index, the rest written.

    ``raw_items`` are JSON-like dicts, or MediaInput an importer has already checked."""
    result = BulkResult(errors=[], needs_embedding=[])
    assert result.errors is not None and result.needs_embedding is not None
    batch: list[tuple[int, MediaInput]] = []
    seen: dict[str, int] = {}
    as_writer = _WRITER.set(writer)

    def flush() -> None:
        if batch:
            _flush(batch, result)
            batch.clear()

    try:
        for index, raw in enumerate(raw_items):
            try:  # an importer may have checked its items already (MediaInput)
                item = raw if isinstance(raw, MediaInput) else media_input(raw)
            except ItemInvalid as exc:
                result.errors.append(ItemError(index, _raw_id(raw), str(exc)))
                continue
            item.id = item.id or new_media_id()
            if item.id in seen:
                result.errors.append(ItemError(
                    index, item.id, f"id repeats the item at index {seen[item.id]}"))
                continue
            seen[item.id] = index
            batch.append((index, item))
            if len(batch) >= batch_size:
                flush()
        flush()
    finally:
        _WRITER.reset(as_writer)
    result.inserted = result.created + result.updated
    _queue_embeddings(result.needs_embedding)
    return result


def _flush(batch: list[tuple[int, MediaInput]], result: BulkResult) -> None:
    assert result.errors is not None and result.needs_embedding is not None
    try:
        created, updated, todo, refused = _write_batch([item for _, item in batch])
    except DatabaseError:
        logger.warning("a batch of %d media failed; retrying its items one by one", len(batch),
                       exc_info=True)
        for index, item in batch:
            try:
                created, updated, todo, refused = _write_batch([item])
            except DatabaseError as exc:
                result.errors.append(ItemError(index, item.id, _database_reason(exc)))
                continue
            _count(result, created, updated, todo)
            _refuse(result, [(index, item)], refused)
        return
    _count(result, created, updated, todo)
    _refuse(result, batch, refused)


def _count(result: BulkResult, created: int, updated: int, todo: list[str]) -> None:
    assert result.needs_embedding is not None
    result.created, result.updated = result.created + created, result.updated + updated
    result.needs_embedding.extend(todo)


def _refuse(result: BulkResult, batch: list[tuple[int, MediaInput]], refused: set[str]) -> None:
    assert result.errors is not None
    result.errors.extend(ItemError(index, item.id, OWNED_ELSEWHERE) for index, item in batch
                         if str(item.id) in refused)


def _database_reason(exc: DatabaseError) -> str:
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"could not be stored: {first[:200]}"


def _raw_id(raw: object) -> str | None:
    value = raw.get("id") if isinstance(raw, dict) else None
    return value if isinstance(value, str) else None


def media_create(raw: object, *, writer: Writer = PLATFORM) -> Media:
    """The single-item form: ItemInvalid for a bad item, MediaOwnedElsewhere for another
    writer's id, else the stored Media."""
    item = media_input(raw)
    item.id = item.id or new_media_id()
    as_writer = _WRITER.set(writer)
    try:
        _created, _updated, todo, refused = _write_batch([item])
    except DataError as exc:  # a value PostgreSQL refuses (a NUL byte): the caller's fault
        raise ItemInvalid(_database_reason(exc)) from None
    finally:
        _WRITER.reset(as_writer)
    if refused:
        raise MediaOwnedElsewhere()
    _queue_embeddings(todo)
    return Media.objects.get(pk=item.id)


def media_delete(*, media_id: str, writer: Writer = PLATFORM) -> bool:
    """Delete an item, its tags and embedding; its tag counts go down. False if absent
    (or, for a writer bound to its own items, another writer's: no existence leak)."""
    with transaction.atomic():
        rows = Media.objects.select_for_update().filter(pk=media_id)
        if not writer.any_item:
            rows = rows.filter(owner_id=writer.owner_id)
        locked = rows.first()
        if locked is None:
            return False
        old = Counter(MediaTag.objects.filter(media_id=media_id)
                      .values_list("tag_category", "tag_value"))
        locked.delete()
        with connection.cursor() as cursor:
            _apply_count_deltas(cursor, Counter({key: -n for key, n in old.items()}))
    return True


def _queue_embeddings(media_ids: list[str]) -> None:
    if media_ids:
        from ai_media.embedding import enqueue_media_embeddings

        enqueue_media_embeddings(media_ids)
