"""Stored files in the admin, with the scanner's and the pipeline's decisions as actions.

Each action goes through the service the API uses (scan_release, scan_quarantine,
scan_again, the regenerate task) and reports what it did per file: a release or a
quarantine needs a reason (the field next to the action menu), recorded with the
operator in the file's transitions (the audit log).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.safestring import SafeString

from apps.core.admin import ReadOnlyAdmin
from apps.core.errors import DomainError
from apps.processing import scanning
from apps.processing.models import Embedding, PurgeRun, StoredFileTransition
from apps.processing.tasks import regenerate_variants
from apps.storage import admin_display
from apps.storage.models import StoredFile, Variant


class ReasonActionForm(ActionForm):
    reason = forms.CharField(required=False, max_length=200,
                             widget=forms.TextInput(attrs={"placeholder": "reason"}))


class VariantInline(admin.TabularInline):
    model = Variant
    extra = 0
    fields = ("kind", "spec", "format", "width", "height", "size", "key", "created_at")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class TransitionInline(admin.TabularInline):
    model = StoredFileTransition
    extra = 0
    fields = ("at", "field", "from_state", "to_state", "actor", "detail")
    readonly_fields = fields
    can_delete = False
    ordering = ("-at",)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(StoredFile)
class StoredFileAdmin(admin.ModelAdmin):
    list_display = ("preview", "original_name", "kind", "mime_type", "size_human",
                    "dimensions", "scan_status", "is_quarantined", "processing_state",
                    "owner", "created_at")
    list_display_links = ("preview", "original_name")
    list_filter = ("kind", "scan_status", "is_quarantined", "processing_state",
                   "quota_bucket")
    search_fields = ("=id", "=sha256", "original_name", "=owner_user__username")
    date_hierarchy = "created_at"
    list_select_related = ("owner_user", "owner_workspace")
    list_per_page = 50
    show_full_result_count = False
    raw_id_fields = ("owner_user", "owner_workspace")
    readonly_fields = ("preview_large", "key", "sha256", "size_human", "dimensions",
                       "mime_type", "kind", "variants_list", "scan_status", "scan_result",
                       "scanned_at", "is_quarantined", "processing_state",
                       "processing_error", "created_at")
    exclude = ("size",)
    inlines = [VariantInline, TransitionInline]
    action_form = ReasonActionForm
    actions = ["release_from_quarantine", "quarantine", "scan_again",
               "regenerate_variants"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[StoredFile]:
        return super().get_queryset(request).prefetch_related("variants")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # files arrive through the APIs' uploads, with their bytes

    @admin.display(description="")
    def preview(self, obj: StoredFile) -> SafeString | str:
        return admin_display.thumbnail(obj)

    @admin.display(description="preview")
    def preview_large(self, obj: StoredFile) -> SafeString | str:
        return admin_display.thumbnail(obj, size=320)

    @admin.display(description="size", ordering="size")
    def size_human(self, obj: StoredFile) -> str:
        return admin_display.human_size(obj.size)

    @admin.display(description="dimensions")
    def dimensions(self, obj: StoredFile) -> str:
        return admin_display.dimensions(obj)

    @admin.display(description="variants")
    def variants_list(self, obj: StoredFile) -> SafeString | str:
        return admin_display.variant_links(obj)

    @admin.display(description="owner")
    def owner(self, obj: StoredFile) -> str:
        return str(obj.owner_user or obj.owner_workspace or "—")

    def _reason(self, request: HttpRequest) -> str:
        return str(request.POST.get("reason", "")).strip()

    def _each(self, request: HttpRequest, queryset: QuerySet[StoredFile], verb: str,
              act: Any) -> None:
        done, refused = 0, []
        for stored in queryset:
            try:
                if act(stored) is False:
                    refused.append(f"{stored.original_name}: nothing to do")
                    continue
            except DomainError as exc:
                refused.append(f"{stored.original_name}: {exc.message}")
                continue
            done += 1
        self.message_user(request, f"{verb} {done} file(s).", messages.SUCCESS)
        if refused:
            self.message_user(request, "Not changed: " + "; ".join(refused[:10]),
                              messages.WARNING)

    @admin.action(description="Release from quarantine (reason required)")
    def release_from_quarantine(self, request: HttpRequest,
                                queryset: QuerySet[StoredFile]) -> None:
        reason = self._reason(request)
        self._each(request, queryset, "Released", lambda stored: scanning.scan_release(
            stored=stored, actor=request.user, reason=reason))

    @admin.action(description="Quarantine (reason required)")
    def quarantine(self, request: HttpRequest, queryset: QuerySet[StoredFile]) -> None:
        reason = self._reason(request)
        self._each(request, queryset, "Quarantined", lambda stored: scanning.scan_quarantine(
            stored=stored, actor=request.user, reason=reason))

    @admin.action(description="Scan again")
    def scan_again(self, request: HttpRequest, queryset: QuerySet[StoredFile]) -> None:
        self._each(request, queryset, "Queued for scanning",
                   lambda stored: scanning.scan_again(stored=stored, actor=request.user))

    @admin.action(description="Regenerate variants")
    def regenerate_variants(self, request: HttpRequest,
                            queryset: QuerySet[StoredFile]) -> None:
        self._each(request, queryset, "Queued variant regeneration for",
                   lambda stored: regenerate_variants.delay(stored_file_id=str(stored.pk),
                                                            force=True))


@admin.register(PurgeRun)
class PurgeRunAdmin(ReadOnlyAdmin):
    deletable = True  # a run's record: old ones may be cleared
    list_display = ("started_at", "finished_at", "purged", "failed")
    ordering = ("-started_at",)


@admin.register(StoredFileTransition)
class StoredFileTransitionAdmin(ReadOnlyAdmin):
    """The audit log of scan and processing states: who released what, and why."""

    list_display = ("at", "stored_file", "field", "from_state", "to_state", "actor", "detail")
    list_filter = ("field", "to_state")
    search_fields = ("=stored_file__id", "actor__username")
    list_select_related = ("stored_file", "actor")
    date_hierarchy = "at"
    ordering = ("-at",)
    show_full_result_count = False


@admin.register(Embedding)
class EmbeddingAdmin(ReadOnlyAdmin):
    """Which stored files have a CLIP vector, and from which model."""

    list_display = ("stored_file", "model", "created_at")
    fields = ("stored_file", "model", "created_at")
    list_filter = ("model",)
    search_fields = ("=stored_file__id",)
    list_select_related = ("stored_file",)
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Embedding]:
        return super().get_queryset(request).defer("vector")
