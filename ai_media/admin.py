"""The AI-tagged feed in the admin: media with their tags and whether they have an
embedding, the maintained tag counts (read-only: the upserts keep them). Deleting goes
through ai_media.services.media_delete, so the counts move with it."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import Exists, OuterRef, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString

from ai_media import services
from ai_media.models import EMBEDDING_DIMENSIONS, Media, MediaEmbedding, MediaTag, TagCount
from apps.core.admin import ReadOnlyAdmin


class MediaTagInline(admin.TabularInline):
    model = MediaTag
    extra = 0
    fields = ("tag_category", "tag_value")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # tags come with an upsert, which keeps the counts


@admin.register(Media)
class AiMediaAdmin(admin.ModelAdmin):
    list_display = ("preview", "id", "media_type", "title", "tags", "has_embedding",
                    "created_at")
    list_display_links = ("preview", "id")
    list_filter = ("media_type", "created_at")
    search_fields = ("=id", "title")
    date_hierarchy = "created_at"
    show_full_result_count = False
    readonly_fields = ("preview_large", "tag_values", "embedding_error", "created_at",
                       "owner")
    inlines = [MediaTagInline]
    actions = ["delete_with_counts"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Media]:
        embedded = MediaEmbedding.objects.filter(media=OuterRef("pk"))
        return super().get_queryset(request).annotate(embedded=Exists(embedded))

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        found = super().get_actions(request)
        found.pop("delete_selected", None)
        return found

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        services.media_delete(media_id=obj.pk)

    @admin.display(description="")
    def preview(self, obj: Media) -> SafeString | str:
        url = obj.thumbnail_url or (obj.media_url if obj.media_type == "image" else "")
        return format_html('<img src="{}" alt="" loading="lazy" class="admin-thumb" '
                           'style="max-width:64px;max-height:64px">', url) if url else "—"

    @admin.display(description="preview")
    def preview_large(self, obj: Media) -> SafeString | str:
        url = obj.thumbnail_url or obj.media_url
        return format_html('<img src="{}" alt="" style="max-width:320px">', url) if url \
            else "—"

    @admin.display(description="tags")
    def tags(self, obj: Media) -> str:
        return ", ".join(obj.tag_values[:8]) + (" …" if len(obj.tag_values) > 8 else "")

    @admin.display(description="embedding", boolean=True)
    def has_embedding(self, obj: Any) -> bool:
        return bool(getattr(obj, "embedded", False))

    @admin.action(description="Delete (tags and counts with them)")
    def delete_with_counts(self, request: HttpRequest, queryset: QuerySet[Media]) -> None:
        deleted = sum(services.media_delete(media_id=pk)
                      for pk in queryset.values_list("pk", flat=True))
        self.message_user(request, f"Deleted {deleted} media.", messages.SUCCESS)


@admin.register(TagCount)
class TagCountAdmin(ReadOnlyAdmin):
    list_display = ("tag_category", "tag_value", "count")
    list_filter = ("tag_category",)
    search_fields = ("tag_value",)
    ordering = ("tag_category", "-count")


@admin.register(MediaTag)
class MediaTagAdmin(ReadOnlyAdmin):
    """Every tag row; an exact value search ("=") uses the (category, value) index."""

    list_display = ("media", "tag_category", "tag_value")
    list_filter = ("tag_category",)
    search_fields = ("=tag_value", "=media__id")
    show_full_result_count = False  # millions of rows: no COUNT(*) per page


@admin.register(MediaEmbedding)
class MediaEmbeddingAdmin(ReadOnlyAdmin):
    """Which items have a vector (the 512 numbers themselves are not shown)."""

    list_display = ("media", "dimensions")
    fields = ("media", "dimensions")
    readonly_fields = fields
    search_fields = ("=media__id",)
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[MediaEmbedding]:
        return super().get_queryset(request).defer("embedding")

    @admin.display(description="dimensions")
    def dimensions(self, obj: MediaEmbedding) -> int:
        return EMBEDDING_DIMENSIONS
