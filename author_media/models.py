"""The spec's ``MediaFile`` and ``StorageUsage`` (tables ``media_files``, ``storage_usage``),
plus what the spec leaves implicit: persisted folders and upload sessions.

A MediaFile holds its bytes through a ``StoredFile`` (apps/storage); the spec's scan,
processing and image columns are kept in step with it by the signal receivers in
``sync.py``, so lists filter on plain indexed columns of this table.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import Q
from django.utils import timezone

from apps.core.ids import uuid7
from apps.storage.models import ScanStatus


class StorageProvider(models.TextChoices):
    S3 = "S3"
    GCS = "GCS"
    AZURE_BLOB = "AZURE_BLOB"
    CLOUDFLARE_R2 = "CLOUDFLARE_R2"
    BUNNY_CDN = "BUNNY_CDN"
    LOCAL = "LOCAL"


MediaScanStatus = ScanStatus  # the spec's enum, shared with the platform's scanner


class MediaFile(models.Model):
    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="media_files")
    site_id = models.CharField(max_length=100, null=True, blank=True)

    filename = models.CharField(max_length=255)
    original_filename = models.CharField(max_length=255)
    mime_type = models.CharField(max_length=100)
    file_size = models.BigIntegerField()

    storage_provider = models.CharField(max_length=16, choices=StorageProvider.choices,
                                        default=StorageProvider.S3)
    storage_path = models.CharField(max_length=500)
    storage_region = models.CharField(max_length=50, null=True, blank=True)

    public_url = models.CharField(max_length=2048)
    cdn_url = models.CharField(max_length=2048, null=True, blank=True)

    width = models.IntegerField(null=True, blank=True)
    height = models.IntegerField(null=True, blank=True)
    aspect_ratio = models.FloatField(null=True, blank=True)
    color_profile = models.CharField(max_length=100, null=True, blank=True)
    dominant_color = models.CharField(max_length=7, null=True, blank=True)

    thumbnail_url = models.CharField(max_length=2048, null=True, blank=True)
    placeholder_url = models.CharField(max_length=2048, null=True, blank=True)

    is_processed = models.BooleanField(default=False)
    processed_at = models.DateTimeField(null=True, blank=True)
    processing_error = models.TextField(null=True, blank=True)

    is_optimized = models.BooleanField(default=False)
    original_size = models.BigIntegerField(null=True, blank=True)
    optimized_size = models.BigIntegerField(null=True, blank=True)
    compression_ratio = models.FloatField(null=True, blank=True)

    alt_text = models.CharField(max_length=500, null=True, blank=True)
    caption = models.TextField(null=True, blank=True)

    usage_count = models.IntegerField(default=0)
    last_used_at = models.DateTimeField(null=True, blank=True)

    scan_status = models.CharField(max_length=10, choices=ScanStatus.choices,
                                   default=ScanStatus.PENDING)
    scanned_at = models.DateTimeField(null=True, blank=True)
    scan_result = models.TextField(null=True, blank=True)
    is_quarantined = models.BooleanField(default=False)

    folder = models.CharField(max_length=500, null=True, blank=True)
    tags = ArrayField(models.CharField(max_length=50), default=list, blank=True)

    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    # beyond the spec: the bytes, their digest (dedup), and what this upload duplicated
    stored_file = models.OneToOneField("storage.StoredFile", null=True, blank=True,
                                       on_delete=models.SET_NULL, related_name="media_file")
    sha256 = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        db_table = "media_files"
        indexes = [
            models.Index(fields=["user", "folder"], name="media_files_user_folder"),
            models.Index(fields=["site_id"], name="media_files_site"),
            models.Index(fields=["scan_status"], name="media_files_scan_status"),
            models.Index(fields=["deleted_at"], name="media_files_deleted_at"),
            # the library's list: one user's live files, newest first
            models.Index(fields=["user", "-created_at", "-id"], name="media_files_user_live",
                         condition=Q(deleted_at__isnull=True)),
            models.Index(fields=["user", "sha256"], name="media_files_user_sha",
                         condition=Q(deleted_at__isnull=True)),
            GinIndex(fields=["tags"], name="media_files_tags"),
            models.Index(fields=["scan_status", "-created_at"], name="media_files_quarantine",
                         condition=Q(is_quarantined=True)),
        ]

    def __str__(self) -> str:
        return f"{self.original_filename} ({self.pk})"


class MediaFolder(models.Model):
    """A folder an author made (``a/b/c``), so an empty folder persists; every ancestor
    of a folder exists too."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="media_folders")
    path = models.CharField(max_length=500)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "media_folders"
        constraints = [models.UniqueConstraint(fields=["user", "path"],
                                               name="media_folder_user_path")]

    def __str__(self) -> str:
        return self.path


class StorageUsage(models.Model):
    id = models.BigAutoField(primary_key=True)
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="storage_usage")

    total_bytes = models.BigIntegerField(default=0)
    image_bytes = models.BigIntegerField(default=0)
    document_bytes = models.BigIntegerField(default=0)
    video_bytes = models.BigIntegerField(default=0)
    other_bytes = models.BigIntegerField(default=0)

    total_files = models.IntegerField(default=0)
    image_files = models.IntegerField(default=0)
    document_files = models.IntegerField(default=0)
    video_files = models.IntegerField(default=0)

    bandwidth_used_bytes = models.BigIntegerField(default=0)
    bandwidth_reset_at = models.DateTimeField()

    storage_limit_bytes = models.BigIntegerField()
    bandwidth_limit_bytes = models.BigIntegerField()

    storage_warning_at = models.DateTimeField(null=True, blank=True)
    bandwidth_warning_at = models.DateTimeField(null=True, blank=True)

    calculated_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    # beyond the spec: the tier the limits came from (settings AUTHOR_MEDIA["TIERS"]);
    # an operator may set the limits by hand in the admin (tier "custom")
    tier = models.CharField(max_length=32, default="free")

    class Meta:
        db_table = "storage_usage"
        verbose_name_plural = "storage usage"

    def __str__(self) -> str:
        return f"storage of {self.user_id}"


class UploadProtocol(models.TextChoices):
    PRESIGNED = "presigned"
    MULTIPART = "multipart"
    TUS = "tus"


class UploadState(models.TextChoices):
    OPEN = "open"
    COMPLETED = "completed"
    ABORTED = "aborted"
    EXPIRED = "expired"


class UploadSession(models.Model):
    """An upload in flight (presigned, multipart or tus): what was declared, where the
    bytes go, the quota held for them, and how far they got."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="upload_sessions")
    protocol = models.CharField(max_length=10, choices=UploadProtocol.choices)
    state = models.CharField(max_length=10, choices=UploadState.choices,
                             default=UploadState.OPEN)
    key = models.CharField(max_length=512, unique=True)
    filename = models.CharField(max_length=255)
    mime_type = models.CharField(max_length=100, blank=True)
    size = models.BigIntegerField()
    offset = models.BigIntegerField(default=0)  # tus: bytes received so far
    fields = models.JSONField(default=dict, blank=True)  # folder, siteId, altText, ...
    reservation = models.ForeignKey("storage.QuotaReservation", null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    s3_upload_id = models.CharField(max_length=1024, blank=True)
    parts = models.JSONField(default=dict, blank=True)  # multipart: {number: {etag, size}}
    media_file = models.ForeignKey(MediaFile, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "media_upload_sessions"
        indexes = [models.Index(fields=["state", "expires_at"], name="upload_session_expiry")]

    def __str__(self) -> str:
        return f"{self.protocol} upload {self.pk}"


class OperationState(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class MediaOperation(models.Model):
    """An image operation asked for through the API (optimize, resize, crop): its
    state while the worker runs it, and the variant it made. The same operation with the
    same parameters on the same bytes is one row: asking again returns it."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    media_file = models.ForeignKey(MediaFile, on_delete=models.CASCADE,
                                   related_name="operations")
    operation = models.CharField(max_length=10)  # optimize | resize | crop
    params = models.JSONField(default=dict, blank=True)
    spec = models.CharField(max_length=100)  # the variant's spec name
    source_sha256 = models.CharField(max_length=64)
    state = models.CharField(max_length=10, choices=OperationState.choices,
                             default=OperationState.QUEUED)
    error = models.TextField(blank=True)
    variant = models.ForeignKey("storage.Variant", null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "media_operations"
        constraints = [models.UniqueConstraint(
            fields=["media_file", "spec", "source_sha256"], name="media_operation_once")]

    def __str__(self) -> str:
        return f"{self.operation} of {self.media_file_id}"
