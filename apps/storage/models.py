"""Stored files, their variants, per-owner quota ledgers and deletion tombstones."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from apps.core.ids import uuid7


class MediaKind(models.TextChoices):
    IMAGE = "image", "Image"
    VIDEO = "video", "Video"
    GIF = "gif", "GIF"
    DOCUMENT = "document", "Document"
    OTHER = "other", "Other"


class ScanStatus(models.TextChoices):
    """The author_media spec's MediaScanStatus."""

    PENDING = "PENDING", "Pending"
    SCANNING = "SCANNING", "Scanning"
    CLEAN = "CLEAN", "Clean"
    FLAGGED = "FLAGGED", "Flagged"
    INFECTED = "INFECTED", "Infected"
    BLOCKED = "BLOCKED", "Blocked"
    ERROR = "ERROR", "Error"


class ProcessingState(models.TextChoices):
    PENDING = "pending", "Pending"
    PROCESSING = "processing", "Processing"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


_ONE_OWNER = (Q(owner_user__isnull=False, owner_workspace__isnull=True)
              | Q(owner_user__isnull=True, owner_workspace__isnull=False))


class StoredFile(models.Model):
    """One file in storage. Its key is random; the client's name is only a label."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    key = models.CharField(max_length=512, unique=True)
    original_name = models.CharField(max_length=255)
    size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64, db_index=True)
    mime_type = models.CharField(max_length=100)
    kind = models.CharField(max_length=10, choices=MediaKind.choices)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    duration = models.FloatField(null=True, blank=True, help_text="Seconds, for video.")
    frame_count = models.PositiveIntegerField(null=True, blank=True)
    dominant_color = models.CharField(max_length=7, blank=True)
    blurhash = models.CharField(max_length=100, blank=True)
    meta = models.JSONField(default=dict, blank=True)
    scan_status = models.CharField(max_length=10, choices=ScanStatus.choices,
                                   default=ScanStatus.PENDING)
    scanned_at = models.DateTimeField(null=True, blank=True)
    scan_result = models.CharField(max_length=255, blank=True)
    is_quarantined = models.BooleanField(default=False)
    quota_bucket = models.CharField(max_length=32, blank=True, default="",
                                    help_text="The owner's quota this file is charged to.")
    processing_state = models.CharField(max_length=12, choices=ProcessingState.choices,
                                        default=ProcessingState.PENDING)
    processing_error = models.CharField(max_length=500, blank=True)
    state_changed_at = models.DateTimeField(default=timezone.now)
    owner_user = models.ForeignKey("accounts.User", null=True, blank=True,
                                   on_delete=models.CASCADE, related_name="stored_files")
    owner_workspace = models.ForeignKey("accounts.Workspace", null=True, blank=True,
                                        on_delete=models.CASCADE, related_name="stored_files")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=_ONE_OWNER, name="storedfile_one_owner")]
        indexes = [
            models.Index(fields=["owner_user", "-created_at"], name="storedfile_user_created"),
            models.Index(fields=["owner_workspace", "-created_at"], name="storedfile_ws_created"),
            models.Index(fields=["processing_state", "state_changed_at"],
                         name="storedfile_state_changed",
                         condition=Q(processing_state__in=["pending", "processing"])),
            models.Index(fields=["scan_status", "state_changed_at"],
                         name="storedfile_scan_changed",
                         condition=Q(scan_status__in=["PENDING", "SCANNING", "ERROR"])),
            # quarantined files are few: counting an owner's is cheap, for exact totals
            models.Index(fields=["owner_user", "quota_bucket", "kind"],
                         name="storedfile_user_quarantined",
                         condition=Q(is_quarantined=True)),
        ]

    def __str__(self) -> str:
        return f"{self.original_name} ({self.key})"

    @property
    def owner(self) -> object:
        return self.owner_user if self.owner_user_id else self.owner_workspace


class VariantKind(models.TextChoices):
    THUMBNAIL = "thumbnail", "Thumbnail"
    PREVIEW = "preview", "Preview"
    WEBP = "webp", "WebP"
    AVIF = "avif", "AVIF"
    RESIZED = "resized", "Resized"
    CROPPED = "cropped", "Cropped"
    OPTIMIZED = "optimized", "Optimized"
    POSTER = "poster", "Video poster"


class Variant(models.Model):
    """A derived file (thumbnail, format conversion, poster frame) of a StoredFile."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    stored_file = models.ForeignKey(StoredFile, on_delete=models.CASCADE, related_name="variants")
    kind = models.CharField(max_length=12, choices=VariantKind.choices)
    spec = models.CharField(max_length=100, help_text="The spec's name, e.g. 'thumb-256'.")
    spec_hash = models.CharField(max_length=16, blank=True,
                                 help_text="Hash of the spec's definition when it was made.")
    source_sha256 = models.CharField(max_length=64, blank=True,
                                     help_text="SHA-256 of the original it was made from.")
    format = models.CharField(max_length=10)
    mime_type = models.CharField(max_length=100)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    size = models.BigIntegerField()
    key = models.CharField(max_length=512, unique=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["stored_file", "spec", "format"],
                                    name="variant_unique_spec_format"),
        ]

    def __str__(self) -> str:
        return f"{self.spec} of {self.stored_file_id}"


class QuotaLedger(models.Model):
    """Bytes and files held by one owner (a user or a workspace).

    ``used_bytes`` always equals the sum of the owner's live StoredFile sizes: it changes
    in the same transaction that inserts or deletes a StoredFile, by conditional UPDATEs.
    ``reserved_bytes`` holds space for uploads in flight (QuotaReservation rows).
    """

    owner_user = models.ForeignKey("accounts.User", null=True, blank=True,
                                   on_delete=models.CASCADE, related_name="quotas")
    owner_workspace = models.ForeignKey("accounts.Workspace", null=True, blank=True,
                                        on_delete=models.CASCADE, related_name="quotas")
    bucket = models.CharField(
        max_length=32, blank=True, default="",
        help_text="Which quota of the owner: empty for the platform's, or a feature app's "
                  "own (e.g. 'library'), each with its own limit and counts.")
    limit_bytes = models.BigIntegerField(null=True, blank=True,
                                         help_text="Empty: the platform default.")
    used_bytes = models.BigIntegerField(default=0)
    reserved_bytes = models.BigIntegerField(default=0)
    file_count = models.IntegerField(default=0)
    image_count = models.IntegerField(default=0)
    video_count = models.IntegerField(default=0)
    gif_count = models.IntegerField(default=0)
    document_count = models.IntegerField(default=0)
    other_count = models.IntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=_ONE_OWNER, name="quota_one_owner"),
            models.CheckConstraint(condition=Q(used_bytes__gte=0, reserved_bytes__gte=0,
                                               file_count__gte=0),
                                   name="quota_non_negative"),
            models.UniqueConstraint(fields=["owner_user", "bucket"], name="quota_user_bucket",
                                    condition=Q(owner_user__isnull=False)),
            models.UniqueConstraint(fields=["owner_workspace", "bucket"],
                                    name="quota_workspace_bucket",
                                    condition=Q(owner_workspace__isnull=False)),
        ]

    def __str__(self) -> str:
        owner = self.owner_user_id or self.owner_workspace_id
        return f"{self.bucket} quota of {owner}" if self.bucket else f"quota of {owner}"


class QuotaReservation(models.Model):
    """Space held for an upload in flight; released when consumed, cancelled or expired."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    ledger = models.ForeignKey(QuotaLedger, on_delete=models.CASCADE, related_name="reservations")
    bytes = models.BigIntegerField()
    expires_at = models.DateTimeField(db_index=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    def __str__(self) -> str:
        return f"{self.bytes} bytes until {self.expires_at:%Y-%m-%d %H:%M}"


class BlobTombstone(models.Model):
    """A storage key whose row is gone and whose bytes are being (or must be) deleted.

    Written in the transaction that deletes the StoredFile, removed once storage confirms
    the deletion; the sweeper retries what is left. So a storage outage never leaves an
    orphan file without a record, nor a row pointing at nothing. Bytes about to be written
    get one too, due later, which the transaction recording them withdraws: a process
    killed in between leaves bytes the sweeper removes once the tombstone is due.
    """

    key = models.CharField(max_length=512, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    # When the bytes may go: now for a deleted row's; ORPHAN_TTL ahead for bytes being
    # written (see BlobStore._announce), so only a write that never committed is swept.
    due_at = models.DateTimeField(default=timezone.now, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)

    def __str__(self) -> str:
        return self.key
