"""Operators' views of quota ledgers and tombstones. Stored files are in
apps/processing/admin.py, where their actions (release, re-scan, regenerate) live."""

from django.contrib import admin

from apps.storage.models import BlobTombstone, QuotaLedger


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
