"""Operators' view of the author's files: files (permanent delete through the blob
store, so bytes, variants, usage and quota go together), storage usage with tier and
limits (a change here is what the upload-time quota enforces), folders, uploads in
flight and image operations (read-only)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.core.admin import ReadOnlyAdmin
from apps.storage import admin_display
from author_media import services, usage
from author_media.conf import author_media_settings
from author_media.models import (
    MediaFile,
    MediaFolder,
    MediaOperation,
    StorageUsage,
    UploadSession,
)

CUSTOM_TIER = "custom"


@admin.register(MediaFile)
class MediaFileAdmin(admin_display.StoredFileThumbnailAdmin):
    list_display = ("preview", "id", "original_filename", "user", "mime_type", "size_human",
                    "folder", "scan_status", "is_quarantined", "is_processed", "created_at",
                    "deleted_at")
    list_display_links = ("preview", "id")
    list_filter = ("scan_status", "is_quarantined", "is_processed", "storage_provider")
    search_fields = ("=id", "original_filename", "user__username", "sha256")
    list_select_related = ("user", "stored_file")
    raw_id_fields = ("user", "stored_file")
    show_full_result_count = False

    @admin.display(description="size", ordering="file_size")
    def size_human(self, obj: MediaFile) -> str:
        return admin_display.human_size(obj.file_size)
    readonly_fields = [f.name for f in MediaFile._meta.fields
                       if f.name not in ("alt_text", "caption", "folder", "tags")]
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # files come from the upload endpoints, with their bytes

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        services.media_file_purge(obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for media in queryset.select_related("stored_file"):
            services.media_file_purge(media)


class StorageUsageForm(forms.ModelForm):
    tier = forms.ChoiceField()

    class Meta:
        model = StorageUsage
        fields = ("tier", "storage_limit_bytes", "bandwidth_limit_bytes")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        names = [*author_media_settings.TIERS, CUSTOM_TIER]
        tier_field = self.fields["tier"]
        assert isinstance(tier_field, forms.ChoiceField)
        tier_field.choices = [(n, n) for n in names]
        self.fields["tier"].help_text = ("A tier sets both limits; choose 'custom' to keep "
                                         "the limits typed here.")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        tier = data.get("tier")
        if tier and tier != CUSTOM_TIER:
            limits = usage.tier_limits(tier)
            data["storage_limit_bytes"] = limits["storage"]
            data["bandwidth_limit_bytes"] = limits["bandwidth"]
        return data


@admin.register(StorageUsage)
class StorageUsageAdmin(admin.ModelAdmin):
    form = StorageUsageForm
    list_display = ("user", "tier", "total_bytes", "storage_limit_bytes", "total_files",
                    "bandwidth_used_bytes", "bandwidth_limit_bytes", "storage_warning_at",
                    "bandwidth_warning_at")
    list_filter = ("tier",)
    search_fields = ("user__username",)
    list_select_related = ("user",)
    readonly_fields = ("user", "total_bytes", "image_bytes", "document_bytes", "video_bytes",
                       "other_bytes", "total_files", "image_files", "document_files",
                       "video_files", "bandwidth_used_bytes", "bandwidth_reset_at",
                       "storage_warning_at", "bandwidth_warning_at", "calculated_at",
                       "updated_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # made with the user's first upload

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        usage.sync_quota_limit(obj)
        usage.refresh_warnings(user_id=obj.user_id)

    actions = ["recalculate"]

    @admin.action(description="Recalculate from the files (fix any drift)")
    def recalculate(self, request: HttpRequest, queryset: QuerySet[StorageUsage]) -> None:
        drifted = []
        rows = list(queryset.select_related("user"))
        for row in rows:
            found = usage.usage_recalculate(user_id=row.user_id, fix=True)
            if found:
                drifted.append(f"{row.user}: " + ", ".join(
                    f"{name} {old}→{new}" for name, (old, new) in found.items()))
        self.message_user(request, f"Recalculated {len(rows)} user(s); "
                          f"{len(drifted)} had drifted and were corrected.", messages.SUCCESS)
        for line in drifted[:10]:
            self.message_user(request, line, messages.WARNING)


@admin.register(MediaFolder)
class MediaFolderAdmin(admin.ModelAdmin):
    list_display = ("path", "user", "created_at")
    search_fields = ("path", "user__username")
    list_select_related = ("user",)
    raw_id_fields = ("user",)


class _ReadOnly(ReadOnlyAdmin):
    deletable = True


@admin.register(UploadSession)
class UploadSessionAdmin(_ReadOnly):
    list_display = ("id", "user", "protocol", "state", "filename", "size", "offset",
                    "created_at", "expires_at")
    list_filter = ("protocol", "state")
    search_fields = ("=id", "filename", "user__username")
    list_select_related = ("user",)


@admin.register(MediaOperation)
class MediaOperationAdmin(_ReadOnly):
    list_display = ("id", "media_file", "operation", "state", "created_at", "finished_at")
    list_filter = ("operation", "state")
    list_select_related = ("media_file",)
