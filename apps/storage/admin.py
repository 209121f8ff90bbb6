"""Operators' views of quota ledgers, reservations, variants and tombstones. Stored
files are in apps/processing/admin.py, where their actions (release, re-scan,
regenerate) live."""

from __future__ import annotations

from django.contrib import admin
from django.utils import timezone
from django.utils.safestring import SafeString

from apps.core.admin import ReadOnlyAdmin
from apps.storage import admin_display
from apps.storage.models import BlobTombstone, QuotaLedger, QuotaReservation, Variant


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


@admin.register(QuotaReservation)
class QuotaReservationAdmin(ReadOnlyAdmin):
    """Bytes held for uploads in flight; an expired one is released by the sweeper."""

    list_display = ("ledger", "size", "created_at", "expires_at", "expired")
    list_select_related = ("ledger", "ledger__owner_user", "ledger__owner_workspace")
    ordering = ("-created_at",)

    @admin.display(description="bytes", ordering="bytes")
    def size(self, obj: QuotaReservation) -> str:
        return admin_display.human_size(obj.bytes)

    @admin.display(boolean=True)
    def expired(self, obj: QuotaReservation) -> bool:
        return obj.expires_at <= timezone.now()


@admin.register(Variant)
class VariantAdmin(ReadOnlyAdmin):
    """Every rendition, with a link to it (a signed URL); made by the pipeline only."""

    list_display = ("stored_file", "kind", "spec", "format", "dims", "size_display", "link",
                    "created_at")
    list_filter = ("kind", "format", "spec")
    search_fields = ("=stored_file__id", "=key")
    list_select_related = ("stored_file",)
    show_full_result_count = False

    @admin.display(description="dimensions")
    def dims(self, obj: Variant) -> str:
        return admin_display.dimensions_of(obj)

    @admin.display(description="size", ordering="size")
    def size_display(self, obj: Variant) -> str:
        return admin_display.human_size(obj.size)

    @admin.display(description="open")
    def link(self, obj: Variant) -> SafeString | str:
        return admin_display.variant_link(obj)
