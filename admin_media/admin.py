"""The operators' view of the console's media in the Django admin."""

from __future__ import annotations

from django.contrib import admin

from admin_media.models import Media


@admin.register(Media)
class MediaAdmin(admin.ModelAdmin):
    list_display = ("id", "media_type", "type", "supabase_id", "record_id", "aspect_ratio",
                    "is_delete", "created_at")
    list_filter = ("media_type", "is_delete", "upload_source")
    search_fields = ("=id", "=supabase_id", "=record_id", "=task_id")
    readonly_fields = ("stored_file", "created_at", "updated_at")
    ordering = ("-created_at", "-id")
    show_full_result_count = False  # a COUNT over millions of rows on every page
    list_per_page = 50
