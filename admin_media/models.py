"""The spec's ``Media`` model, and two tables PostgreSQL keeps beside it for speed.

The console lists live media newest first, filtered by any of ``type``, ``mediaType``,
``category``, ``supabaseId``, ``recordId`` (and, beyond the spec, ``aspectRatio`` and a
``createdAt`` range), with a ``total`` and page numbers to page 5,000 and beyond, over
millions of rows. What serves that:

- partial B-tree indexes on live rows (``WHERE NOT is_delete``), one per filter column,
  each ending in ``(created_at DESC, id DESC)``, so a page of one filter is an index
  scan in the list's order; and a GIN index on ``category`` for ``@>``;
- ``MediaCategoryEntry``: one row per (category, live media), ordered like the list,
  so a deep page of one category (alone, or with a media type, a MIME type or a user) is
  a walk of one index, not a sort of every row of the category (GIN answers *which*
  rows, never in what order);
- ``MediaTally``: live rows counted per (media type, MIME type, aspect ratio) and per
  category within those, so the ``total`` of any mix of those filters is a sum over a
  few hundred counters instead of a COUNT over millions of rows.

Both are written by statement-level triggers (migration 0002) over the transition
tables of every INSERT, UPDATE and DELETE, so the ORM, COPY and raw SQL all keep them
exact, in the writing transaction.
"""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import Q
from django.utils import timezone

from apps.core.ids import uuid7

LIVE = Q(is_delete=False)


def new_media_id() -> str:
    return str(uuid7())  # time-ordered: new rows land at the right edge of the index


class MediaType(models.TextChoices):
    IMAGE = "image", "Image"
    VIDEO = "video", "Video"


def _live_index(column: str, name: str) -> models.Index:
    return models.Index(fields=[column, "-created_at", "-id"], condition=LIVE, name=name)


class Media(models.Model):
    id = models.TextField(primary_key=True, default=new_media_id)
    supabase_id = models.TextField(null=True, blank=True)  # noqa: DJ001 (the spec: null)
    record_id = models.TextField(null=True, blank=True)  # noqa: DJ001
    task_id = models.TextField(null=True, blank=True)  # noqa: DJ001
    url = models.TextField()
    type = models.TextField(help_text="MIME type, e.g. image/jpeg")
    media_type = models.TextField(choices=MediaType.choices)
    aspect_ratio = models.TextField(null=True, blank=True)  # noqa: DJ001
    upload_source = models.TextField(null=True, blank=True)  # noqa: DJ001
    category = ArrayField(models.TextField(), default=list, blank=True)
    meta = models.JSONField(default=dict, blank=True)
    is_delete = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    # beyond the spec: the platform's stored file of a media ingested by upload
    stored_file = models.ForeignKey("storage.StoredFile", null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")

    class Meta:
        db_table = "admin_media"
        verbose_name_plural = "media"
        indexes = [
            models.Index(fields=["-created_at", "-id"], condition=LIVE, name="am_live_created"),
            _live_index("media_type", "am_live_media_type"),
            _live_index("type", "am_live_mime"),
            _live_index("supabase_id", "am_live_user"),
            _live_index("record_id", "am_live_record"),
            _live_index("aspect_ratio", "am_live_aspect"),
            GinIndex(fields=["category"], condition=LIVE, name="am_live_category"),
        ]

    def __str__(self) -> str:
        return f"{self.media_type} {self.id}"


class MediaCategoryEntry(models.Model):
    """One live media under one of its categories (kept by the triggers), with the
    columns a category is most often combined with, each indexed after the category in
    list order: a category with a media type, a MIME type or a user is one index walk
    (its page and its count), however deep the page."""

    pk = models.CompositePrimaryKey("category", "created_at", "media_id")
    category = models.TextField()
    created_at = models.DateTimeField()
    media_id = models.TextField()
    media_type = models.TextField()
    mime_type = models.TextField()
    supabase_id = models.TextField(null=True)  # noqa: DJ001 (the media's: null when none)

    class Meta:
        db_table = "admin_media_category_entries"
        indexes = [
            models.Index(fields=["category", "media_type", "-created_at", "-media_id"],
                         name="am_entry_media_type"),
            # media_type included: a MIME type with its media type stays index-only
            models.Index(fields=["category", "mime_type", "-created_at", "-media_id"],
                         include=["media_type"], name="am_entry_mime_mt"),
            models.Index(fields=["category", "supabase_id", "-created_at", "-media_id"],
                         name="am_entry_user"),
        ]

    def __str__(self) -> str:
        return f"{self.category}: {self.media_id}"


class MediaTally(models.Model):
    """Live media per (media type, MIME type, aspect ratio); ``category`` '' counts every
    such media, another value those under that category (kept by the triggers)."""

    pk = models.CompositePrimaryKey("category", "media_type", "mime_type", "aspect_ratio")
    category = models.TextField()
    media_type = models.TextField()
    mime_type = models.TextField()
    aspect_ratio = models.TextField()  # '' for none
    count = models.BigIntegerField()

    class Meta:
        db_table = "admin_media_tallies"

    def __str__(self) -> str:
        return f"{self.category or '*'} {self.media_type} {self.mime_type}: {self.count}"
