"""The workspace media library: categories and four kinds of library objects.

Media items, templates, text snippets and saved links share one shape (``LibraryObject``):
a workspace, an optional category, a name, tags, a star, a use counter and a soft
delete (``is_deleted`` + ``deleted_at``: the recycle bin, purged after 30 days). Every
list is scoped to one workspace and to live or binned rows, so each index starts with
``(workspace, is_deleted)``; substring search uses trigram GIN indexes (pg_trgm), tag
filters the GIN index of the tag array.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.models import F
from django.utils import timezone

from apps.core.ids import uuid7


class CategoryType(models.TextChoices):
    IMAGE = "image", "Image"
    VIDEO = "video", "Video"
    GIF = "gif", "GIF"
    DOCUMENT = "document", "Document"
    TEMPLATE = "template", "Template"
    TEXT_SNIPPET = "text_snippet", "Text snippet"
    LINK = "link", "Link"


class ItemType(models.TextChoices):
    IMAGE = "image", "Image"
    VIDEO = "video", "Video"
    GIF = "gif", "GIF"
    DOCUMENT = "document", "Document"


class TemplateType(models.TextChoices):
    POST = "post", "Post"
    STORY = "story", "Story"
    REEL = "reel", "Reel"
    CAROUSEL = "carousel", "Carousel"


class SnippetType(models.TextChoices):
    CAPTION = "caption", "Caption"
    HASHTAG = "hashtag", "Hashtag"
    CTA = "cta", "Call to action"


class Category(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE,
                                  related_name="media_categories")
    name = models.CharField(max_length=100)
    description = models.TextField(null=True, blank=True)
    type = models.CharField(max_length=20, choices=CategoryType.choices)
    color = models.CharField(max_length=20, null=True, blank=True)
    icon = models.CharField(max_length=50, null=True, blank=True)
    display_order = models.IntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "media_library_categories"
        verbose_name_plural = "categories"
        indexes = [models.Index(fields=["workspace", "type", "display_order"],
                                name="ml_category_order")]

    def __str__(self) -> str:
        return f"{self.type}: {self.name}"


def _object_indexes(prefix: str, search: tuple[str, ...]) -> list[models.Index]:
    """The indexes every library object table has: newest first and by use within a
    workspace's live (or binned) rows, tags, trigram search, the bin's age."""
    return [
        models.Index(fields=["workspace", "is_deleted", "-created_at", "-id"],
                     name=f"{prefix}_ws_created"),
        models.Index(fields=["workspace", "is_deleted", "-usage_count", "-id"],
                     name=f"{prefix}_ws_usage"),
        models.Index(F("workspace"), F("is_deleted"), F("last_used_at").desc(nulls_last=True),
                     F("id").desc(), name=f"{prefix}_ws_last_used"),
        models.Index(fields=["workspace", "is_deleted", "name", "id"], name=f"{prefix}_ws_name"),
        models.Index(fields=["workspace", "-deleted_at", "-id"],
                     condition=models.Q(is_deleted=True), name=f"{prefix}_ws_binned"),
        models.Index(fields=["deleted_at"], condition=models.Q(is_deleted=True),
                     name=f"{prefix}_binned"),
        GinIndex(fields=["tags"], name=f"{prefix}_tags"),
        *(GinIndex(OpClass(field, name="gin_trgm_ops"), name=f"{prefix}_{field}_trgm")
          for field in search),
    ]


class LibraryObject(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE,
                                  related_name="+")
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    name = models.CharField(max_length=255)
    tags = ArrayField(models.TextField(), default=list, blank=True)
    is_starred = models.BooleanField(default=False)
    usage_count = models.IntegerField(default=0)
    last_used_at = models.DateTimeField(null=True, blank=True)
    is_deleted = models.BooleanField(default=False)
    deleted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects: models.Manager[Any] = models.Manager()

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.name


class MediaItem(LibraryObject):
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    type = models.CharField(max_length=10, choices=ItemType.choices)
    description = models.TextField(null=True, blank=True)
    file_url = models.TextField()
    thumbnail_url = models.TextField(null=True, blank=True)
    mime_type = models.CharField(max_length=100, null=True, blank=True)
    file_size = models.BigIntegerField(null=True, blank=True)
    width = models.IntegerField(null=True, blank=True)
    height = models.IntegerField(null=True, blank=True)
    duration = models.IntegerField(null=True, blank=True)
    cloudinary_public_id = models.CharField(max_length=255, null=True, blank=True)
    cloudinary_asset_id = models.CharField(max_length=255, null=True, blank=True)
    # the file, when it was uploaded here (POST .../items/upload): removed with the item
    stored_file = models.ForeignKey("storage.StoredFile", null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")

    class Meta:
        db_table = "media_library_items"
        indexes = [*_object_indexes("ml_item", ("name", "description")),
                   models.Index(fields=["workspace", "is_deleted", "type", "-created_at"],
                                name="ml_item_ws_type")]


class Template(LibraryObject):
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    description = models.TextField(null=True, blank=True)
    template_type = models.CharField(max_length=10, choices=TemplateType.choices)
    platforms = ArrayField(models.TextField(), default=list, blank=True)
    content = models.JSONField(default=dict)
    thumbnail_url = models.TextField(null=True, blank=True)

    class Meta:
        db_table = "media_library_templates"
        indexes = _object_indexes("ml_template", ("name", "description"))


class TextSnippet(LibraryObject):
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    snippet_type = models.CharField(max_length=10, choices=SnippetType.choices)
    content = models.TextField()

    class Meta:
        db_table = "media_library_snippets"
        indexes = _object_indexes("ml_snippet", ("name", "content"))


class SavedLink(LibraryObject):
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    url = models.TextField()
    description = models.TextField(null=True, blank=True)
    # the Open Graph preview, written by the worker (apps.processing.previews):
    # {"status": "ok", "title", "description", "image", "site_name", ..., "fetched_at"},
    # {"status": "error", "code", "message", "fetched_at"}, or null while pending
    preview = models.JSONField(null=True, blank=True)

    class Meta:
        db_table = "media_library_links"
        indexes = _object_indexes("ml_link", ("name", "url", "description"))
