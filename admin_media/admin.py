"""The operators' view of the console's media in the Django admin."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.db.models import QuerySet
from django.http import HttpRequest

from admin_media import services, validation
from admin_media.errors import InvalidRequest
from admin_media.models import Media
from apps.storage import admin_display


class CategoryActionForm(ActionForm):
    category = forms.CharField(required=False, max_length=2000,
                               widget=forms.TextInput(attrs={"placeholder": "a, b, c"}))


@admin.register(Media)
class MediaAdmin(admin_display.StoredFileThumbnailAdmin):
    list_display = ("preview", "id", "media_type", "type", "supabase_id", "record_id",
                    "aspect_ratio", "is_delete", "created_at")
    list_filter = ("media_type", "is_delete", "upload_source")
    search_fields = ("=id", "=supabase_id", "=record_id", "=task_id")
    readonly_fields = ("preview_large", "stored_file", "created_at", "updated_at")
    list_select_related = ("stored_file",)
    ordering = ("-created_at", "-id")
    show_full_result_count = False  # a COUNT over millions of rows on every page
    list_per_page = 50
    action_form = CategoryActionForm
    actions = ["set_categories", "soft_delete"]

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        found = super().get_actions(request)
        found.pop("delete_selected", None)  # the console deletes softly, as the API
        return found

    @admin.action(description="Set categories (the field next to the menu)")
    def set_categories(self, request: HttpRequest, queryset: QuerySet[Media]) -> None:
        raw = str(request.POST.get("category", ""))
        try:
            categories = validation.categories([c for c in raw.split(",") if c.strip()])
        except InvalidRequest as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return
        ids = list(queryset.values_list("pk", flat=True))
        updated = services.media_set_categories(media_ids=ids, categories=categories)
        self.message_user(request, f"Set categories {categories} on {len(updated)} media.",
                          messages.SUCCESS)

    @admin.action(description="Delete (soft: isDelete, the file stays)")
    def soft_delete(self, request: HttpRequest, queryset: QuerySet[Media]) -> None:
        deleted = services.media_soft_delete(media_ids=list(queryset.values_list("pk",
                                                                                 flat=True)))
        self.message_user(request, f"Deleted {len(deleted)} media.", messages.SUCCESS)
