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
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import DatabaseError, DataError, connection, transaction
from django.utils import timezone

from ai_media.models import Media, MediaEmbedding, MediaTag, new_media_id
from ai_media.validation import ItemInvalid, MediaInput, media_input

logger = logging.getLogger(__name__)

BATCH_SIZE = 50  # the spec: "Items are processed in batches of 50"
_MEDIA_FIELDS = ["media_type", "thumbnail_url", "media_url", "title", "created_at",
                 "tag_values", "embedding_error"]
_COUNT_DELTAS = """
INSERT INTO media_tag_counts (tag_category, tag_value, count)
SELECT * FROM unnest(%s::text[], %s::text[], %s::bigint[]) AS d(c, v, n) ORDER BY c, v
ON CONFLICT (tag_category, tag_value) DO UPDATE SET count = media_tag_counts.count + EXCLUDED.count
"""


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


def _apply_count_deltas(deltas: Counter[tuple[str, str]]) -> None:
    changes = sorted((key, n) for key, n in deltas.items() if n)
    if not changes:
        return
    with connection.cursor() as cursor:
        cursor.execute(_COUNT_DELTAS, [[c for (c, _), _ in changes], [v for (_, v), _ in changes],
                                       [n for _, n in changes]])


def _write_batch(items: Sequence[MediaInput]) -> tuple[int, int, list[str]]:
    """Upsert ``items`` (distinct ids, all set) in one transaction; (created, updated,
    ids that need an embedding computed)."""
    ids = [str(item.id) for item in items]
    assert all(item.id for item in items)
    with transaction.atomic():
        existing = dict(Media.objects.select_for_update().filter(id__in=ids).order_by("id")
                        .values_list("id", "created_at"))
        old_tags = Counter(MediaTag.objects.filter(media_id__in=list(existing))
                           .values_list("tag_category", "tag_value"))
        now = timezone.now()
        Media.objects.bulk_create(
            [Media(id=item.id, media_type=item.media_type, thumbnail_url=item.thumbnail_url,
                   media_url=item.media_url, title=item.title,
                   created_at=item.created_at or existing.get(item.id) or now,  # type: ignore[arg-type]
                   tag_values=item.tag_values, embedding_error="") for item in items],
            update_conflicts=True, unique_fields=["id"], update_fields=_MEDIA_FIELDS)
        MediaTag.objects.filter(media_id__in=list(existing)).delete()
        MediaTag.objects.bulk_create([MediaTag(media_id=str(item.id), tag_category=c, tag_value=v)
                                      for item in items for c, v in item.tags])
        new_tags = Counter(tag for item in items for tag in item.tags)
        new_tags.subtract(old_tags)
        _apply_count_deltas(new_tags)
        with_vectors = [item for item in items if item.embedding is not None]
        MediaEmbedding.objects.bulk_create(
            [MediaEmbedding(media_id=str(item.id), embedding=item.embedding)
             for item in with_vectors],
            update_conflicts=True, unique_fields=["media"], update_fields=["embedding"])
        without = [str(item.id) for item in items if item.embedding is None]
        MediaEmbedding.objects.filter(media_id__in=without).delete()
    created = sum(1 for item_id in ids if item_id not in existing)
    return created, len(ids) - created, [i for i in without if i]


def media_upsert_many(raw_items: Iterable[object], *, batch_size: int = BATCH_SIZE,
                      ) -> BulkResult:
    """Validate and upsert many items; bad ones are reported by index, the rest written."""
    result = BulkResult(errors=[], needs_embedding=[])
    assert result.errors is not None and result.needs_embedding is not None
    batch: list[tuple[int, MediaInput]] = []
    seen: dict[str, int] = {}

    def flush() -> None:
        if batch:
            _flush(batch, result)
            batch.clear()

    for index, raw in enumerate(raw_items):
        try:
            item = media_input(raw)
        except ItemInvalid as exc:
            result.errors.append(ItemError(index, _raw_id(raw), str(exc)))
            continue
        item.id = item.id or new_media_id()
        if item.id in seen:
            result.errors.append(ItemError(index, item.id,
                                           f"id repeats the item at index {seen[item.id]}"))
            continue
        seen[item.id] = index
        batch.append((index, item))
        if len(batch) >= batch_size:
            flush()
    flush()
    result.inserted = result.created + result.updated
    _queue_embeddings(result.needs_embedding)
    return result


def _flush(batch: list[tuple[int, MediaInput]], result: BulkResult) -> None:
    assert result.errors is not None and result.needs_embedding is not None
    try:
        created, updated, todo = _write_batch([item for _, item in batch])
    except DatabaseError:
        logger.warning("a batch of %d media failed; retrying its items one by one", len(batch),
                       exc_info=True)
        for index, item in batch:
            try:
                created, updated, todo = _write_batch([item])
            except DatabaseError as exc:
                result.errors.append(ItemError(index, item.id, _database_reason(exc)))
                continue
            result.created, result.updated = result.created + created, result.updated + updated
            result.needs_embedding.extend(todo)
        return
    result.created, result.updated = result.created + created, result.updated + updated
    result.needs_embedding.extend(todo)


def _database_reason(exc: DatabaseError) -> str:
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"could not be stored: {first[:200]}"


def _raw_id(raw: object) -> str | None:
    value = raw.get("id") if isinstance(raw, dict) else None
    return value if isinstance(value, str) else None


def media_create(raw: object) -> Media:
    """The single-item form: ItemInvalid for a bad item, else the stored Media."""
    item = media_input(raw)
    item.id = item.id or new_media_id()
    try:
        _created, _updated, todo = _write_batch([item])
    except DataError as exc:  # a value PostgreSQL refuses (a NUL byte): the caller's fault
        raise ItemInvalid(_database_reason(exc)) from None
    _queue_embeddings(todo)
    return Media.objects.get(pk=item.id)


def media_delete(*, media_id: str) -> bool:
    """Delete an item, its tags and embedding; its tag counts go down. False if absent."""
    with transaction.atomic():
        locked = Media.objects.select_for_update().filter(pk=media_id).first()
        if locked is None:
            return False
        old = Counter(MediaTag.objects.filter(media_id=media_id)
                      .values_list("tag_category", "tag_value"))
        locked.delete()
        _apply_count_deltas(Counter({key: -n for key, n in old.items()}))
    return True


def _queue_embeddings(media_ids: list[str]) -> None:
    if media_ids:
        from ai_media.embedding import enqueue_media_embeddings

        enqueue_media_embeddings(media_ids)
