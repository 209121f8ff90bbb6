"""Workspace libraries in the admin: categories and the four kinds of objects, with the
recycle bin's operations (move to bin, restore, delete for good) and bulk tags as
actions, each through media_library.services, each reporting what it did. Uploaded
items show their thumbnail (signed URL) in lists and on their page."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.storage import admin_display
from media_library import services
from media_library.kinds import KINDS, Kind
from media_library.models import Category, MediaItem, SavedLink, Template, TextSnippet


class TagsActionForm(ActionForm):
    tags = forms.CharField(required=False, max_length=500,
                           widget=forms.TextInput(attrs={"placeholder": "tag1, tag2"}))


def _report(admin_view: admin.ModelAdmin, request: HttpRequest, verb: str, count: int) -> None:
    admin_view.message_user(request, f"{verb} {count} object(s).", messages.SUCCESS)


class LibraryObjectAdmin(admin.ModelAdmin):
    list_display = ["name", "workspace", "category", "tags", "is_starred", "usage_count",
                    "is_deleted", "created_at"]
    list_filter = ["is_deleted", "is_starred", "created_at"]
    search_fields = ("=id", "name", "=workspace__id")
    date_hierarchy = "created_at"
    list_select_related = ["workspace", "category"]
    raw_id_fields = ["workspace", "category"]
    readonly_fields = ["usage_count", "last_used_at", "deleted_at", "created_at",
                       "updated_at"]
    show_full_result_count = False
    action_form = TagsActionForm
    actions = ["move_to_bin", "restore", "delete_for_good", "add_tags", "remove_tags"]

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        found = super().get_actions(request)
        found.pop("delete_selected", None)  # deleting goes through the service (files too)
        return found

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        services.object_permanent_delete(row=obj)

    @admin.action(description="Move to the recycle bin")
    def move_to_bin(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        rows = list(queryset.filter(is_deleted=False))
        for row in rows:
            services.object_soft_delete(row=row)
        _report(self, request, "Moved to the bin", len(rows))

    @admin.action(description="Restore from the recycle bin")
    def restore(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        rows = list(queryset.filter(is_deleted=True))
        for row in rows:
            services.object_restore(row=row)
        _report(self, request, "Restored", len(rows))

    @admin.action(description="Delete for good (with uploaded files)")
    def delete_for_good(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        rows = list(queryset)
        for row in rows:
            services.object_permanent_delete(row=row)
        _report(self, request, "Deleted for good", len(rows))

    def _tags(self, request: HttpRequest) -> list[str]:
        raw = str(request.POST.get("tags", ""))
        return list(dict.fromkeys(t.strip() for t in raw.split(",") if t.strip()))

    @admin.action(description="Add tags (the field next to the menu)")
    def add_tags(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        tags, changed = self._tags(request), 0
        for row in queryset:
            merged = list(dict.fromkeys([*row.tags, *tags]))
            if merged != row.tags:
                services.object_update(self.kind, row=row, data={"tags": merged})
                changed += 1
        _report(self, request, f"Tagged ({', '.join(tags) or 'nothing'})", changed)

    @admin.action(description="Remove tags (the field next to the menu)")
    def remove_tags(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        tags, changed = set(self._tags(request)), 0
        for row in queryset:
            kept = [t for t in row.tags if t not in tags]
            if kept != row.tags:
                services.object_update(self.kind, row=row, data={"tags": kept})
                changed += 1
        _report(self, request, "Untagged", changed)

    @property
    def kind(self) -> Kind:
        return next(k for k in KINDS.values() if k.model is self.model)


@admin.register(MediaItem)
class MediaItemAdmin(admin_display.StoredFileThumbnailAdmin, LibraryObjectAdmin):
    list_display = ["preview", "name", "type", "workspace", "category", "tags",
                    "size_human", "is_deleted", "created_at"]
    list_display_links = ("preview", "name")
    list_filter = ["type", "is_deleted", "is_starred", "created_at"]
    list_select_related = ["workspace", "category", "stored_file"]
    raw_id_fields = ["workspace", "category", "uploaded_by", "stored_file"]
    readonly_fields = ["preview_large", *LibraryObjectAdmin.readonly_fields]

    @admin.display(description="size", ordering="file_size")
    def size_human(self, obj: MediaItem) -> str:
        return admin_display.human_size(obj.file_size)


@admin.register(Template)
class TemplateAdmin(LibraryObjectAdmin):
    list_filter = ["template_type", *LibraryObjectAdmin.list_filter]


@admin.register(TextSnippet)
class TextSnippetAdmin(LibraryObjectAdmin):
    list_filter = ["snippet_type", *LibraryObjectAdmin.list_filter]


@admin.register(SavedLink)
class SavedLinkAdmin(LibraryObjectAdmin):
    list_display = ["name", "url", "workspace", "category", "tags", "is_deleted",
                    "created_at"]


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "type", "workspace", "display_order", "color", "created_at"]
    list_filter = ["type"]
    search_fields = ("name", "=workspace__id")
    list_select_related = ["workspace",]
    raw_id_fields = ["workspace",]
    ordering = ("workspace", "type", "display_order")
