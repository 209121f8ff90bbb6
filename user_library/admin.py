"""Operators' view of library items. Deleting here goes through the blob store (row,
file, variants and quota together), never a bare row delete. Per-user limits are set
on the user's "library" ledger (Storage > Quota ledgers, bucket "library")."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.storage import admin_display
from apps.storage.blobs import blob_store
from user_library.models import LibraryItem


@admin.register(LibraryItem)
class LibraryItemAdmin(admin_display.StoredFileThumbnailAdmin):
    list_display = ("preview", "id", "user", "media_type", "source", "size_human",
                    "scan_status", "created_at")
    list_display_links = ("preview", "id")
    list_filter = ("media_type", "source", "stored_file__scan_status")
    search_fields = ("=id", "=user__username")
    raw_id_fields = ("user", "stored_file")
    readonly_fields = ("preview_large", "user", "stored_file", "media_type", "created_at")
    date_hierarchy = "created_at"
    list_select_related = ("user", "stored_file")
    show_full_result_count = False

    @admin.display(description="size")
    def size_human(self, obj: LibraryItem) -> str:
        return admin_display.human_size(obj.stored_file.size)

    @admin.display(description="scan")
    def scan_status(self, obj: LibraryItem) -> str:
        return obj.stored_file.get_scan_status_display()

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # items come from the API/saveToLibrary, with their bytes

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        blob_store.delete(obj.stored_file)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for item in queryset.select_related("stored_file"):
            blob_store.delete(item.stored_file)
