"""Operators' views of stored files (the full console comes with its own issue)."""

from django.contrib import admin

from apps.storage.models import BlobTombstone, QuotaLedger, StoredFile, Variant


class VariantInline(admin.TabularInline):
    model = Variant
    extra = 0
    readonly_fields = ("kind", "spec", "format", "width", "height", "size", "key")
    can_delete = False


@admin.register(StoredFile)
class StoredFileAdmin(admin.ModelAdmin):
    list_display = ("original_name", "kind", "mime_type", "size", "scan_status",
                    "is_quarantined", "processing_state", "created_at")
    list_filter = ("kind", "scan_status", "is_quarantined", "processing_state")
    search_fields = ("original_name", "sha256", "key")
    readonly_fields = ("key", "sha256", "size", "mime_type", "kind", "created_at")
    raw_id_fields = ("owner_user", "owner_workspace")
    date_hierarchy = "created_at"
    inlines = [VariantInline]


@admin.register(QuotaLedger)
class QuotaLedgerAdmin(admin.ModelAdmin):
    list_display = ("__str__", "bucket", "limit_bytes", "used_bytes", "reserved_bytes",
                    "file_count")
    list_filter = ("bucket",)
    search_fields = ("owner_user__username", "owner_workspace__name")
    raw_id_fields = ("owner_user", "owner_workspace")
    readonly_fields = ("used_bytes", "reserved_bytes", "file_count", "image_count",
                       "video_count", "gif_count", "document_count", "other_count")


@admin.register(BlobTombstone)
class BlobTombstoneAdmin(admin.ModelAdmin):
    list_display = ("key", "created_at", "attempts", "last_error")
