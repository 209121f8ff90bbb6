"""The spec's schema (``media``, ``media_tags``, ``media_embeddings``) plus what speed
needs without changing the contract:

- ``media.tag_values``: the item's distinct tag values, denormalised from ``media_tags``
  (written by the same service, in the same transaction) with a GIN index, so an AND
  filter over values is one ``tag_values @> ARRAY[...]`` index lookup, not a join per tag;
- ``media_tag_counts``: maintained per-(category, value) counts for
  ``/api/tag-categories``, changed by the deltas of every upsert and delete, instead of a
  GROUP BY over millions of tag rows;
- ``media.owner``: who wrote an item first through the API (null for the import command
  and for items whose writer is gone). An API key changes only its own user's items;
  changing anyone's takes the API secret or an admin-scoped key (services.py). Without
  it, any registered user's write key could overwrite or delete every item.

The vector column is stored PLAIN (migration 0001): a 512-d vector is 2,056 bytes,
above the TOAST threshold, and out-of-line storage slows COPY and exact scans.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.utils import timezone
from pgvector.django import HnswIndex, VectorField

from apps.core.ids import short_id

EMBEDDING_DIMENSIONS = 512
ID_LENGTH = 12  # nanoid-style: 72 random bits from a 64-symbol URL-safe alphabet


def new_media_id() -> str:
    return short_id(ID_LENGTH)


class MediaType(models.TextChoices):
    IMAGE = "image", "Image"
    VIDEO = "video", "Video"


class Media(models.Model):
    id = models.TextField(primary_key=True, default=new_media_id)
    media_type = models.TextField(choices=MediaType.choices)
    thumbnail_url = models.TextField(null=True, blank=True)  # noqa: DJ001 (the spec: null)
    media_url = models.TextField()
    title = models.TextField(null=True, blank=True)  # noqa: DJ001 (the spec: null)
    created_at = models.DateTimeField(default=timezone.now)
    tag_values = ArrayField(models.TextField(), default=list, blank=True)
    # Set when the worker could not compute an embedding from media_url (kept so the
    # backfill does not retry a dead URL forever; cleared when the URL changes).
    embedding_error = models.TextField(blank=True, default="")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")

    class Meta:
        db_table = "media"
        verbose_name_plural = "media"
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="media_created"),
            models.Index(fields=["media_type", "-created_at", "-id"], name="media_type_created"),
            GinIndex(fields=["tag_values"], name="media_tag_values"),
        ]

    def __str__(self) -> str:
        return f"{self.media_type} {self.id}"


class MediaTag(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    media = models.ForeignKey(Media, on_delete=models.CASCADE, related_name="media_tags",
                              db_column="media_id")
    tag_category = models.TextField()
    tag_value = models.TextField()

    class Meta:
        db_table = "media_tags"
        constraints = [models.UniqueConstraint(fields=["media", "tag_category", "tag_value"],
                                               name="media_tags_unique")]

    def __str__(self) -> str:
        return f"{self.tag_category}:{self.tag_value}"


class MediaEmbedding(models.Model):
    media = models.OneToOneField(Media, on_delete=models.CASCADE, primary_key=True,
                                 related_name="embedding", db_column="media_id")
    embedding = VectorField(dimensions=EMBEDDING_DIMENSIONS)

    class Meta:
        db_table = "media_embeddings"
        indexes = [HnswIndex(fields=["embedding"], name="media_embedding_hnsw", m=16,
                             ef_construction=64, opclasses=["vector_cosine_ops"])]

    def __str__(self) -> str:
        return f"embedding of {self.media_id}"


class TagCount(models.Model):
    """How many live media carry (category, value); rows at 0 are skipped on read."""

    tag_category = models.TextField()
    tag_value = models.TextField()
    count = models.BigIntegerField(default=0)

    class Meta:
        db_table = "media_tag_counts"
        # No CHECK (count >= 0): PostgreSQL checks the row an INSERT ... ON CONFLICT
        # proposes (a negative delta) before it turns into the UPDATE of the counter.
        constraints = [models.UniqueConstraint(fields=["tag_category", "tag_value"],
                                               name="media_tag_counts_unique")]

    def __str__(self) -> str:
        return f"{self.tag_category}:{self.tag_value} x{self.count}"
