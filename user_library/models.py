"""The user's library: one row per generated image or video, holding its StoredFile.

The bytes, their size, type, scan status and variants live on the StoredFile (the
platform's one record of a file); this row adds what the library knows: whose it is,
which generator made it and the generation's metadata. Deleting the StoredFile (the
only way an item is deleted, see services) cascades here, so an item never points at
nothing.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from apps.core.ids import uuid7


class MediaType(models.TextChoices):
    IMAGE = "image", "Image"
    VIDEO = "video", "Video"


class Source(models.TextChoices):
    PRODUCT_ENHANCE = "product-enhance", "Product enhance"
    FASHION_MOTION = "fashion-motion", "Fashion motion"
    GENERATE = "generate", "Generate"
    ANGLES = "angles", "Angles"


class LibraryItem(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="library_items")
    stored_file = models.OneToOneField("storage.StoredFile", on_delete=models.CASCADE,
                                       related_name="library_item")
    media_type = models.CharField(max_length=5, choices=MediaType.choices)
    source = models.CharField(max_length=20, choices=Source.choices)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        db_table = "library_items"  # the spec's table name
        # Newest first, per user and per user and type; stored_file_id is included so a
        # page at any offset is an index-only scan (the rows are fetched for the page only).
        indexes = [
            models.Index(fields=["user", "-created_at", "-id"], include=["stored_file"],
                         name="library_user_created"),
            models.Index(fields=["user", "media_type", "-created_at", "-id"],
                         include=["stored_file"], name="library_user_type_created"),
        ]

    def __str__(self) -> str:
        return f"{self.media_type} {self.id} of {self.user_id}"

    @property
    def storage_path(self) -> str:
        return str(self.stored_file.key)
