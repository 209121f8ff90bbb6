"""Operators' views of accounts: users, workspaces with their members, API keys.

A key is created here through the same service as the API (``api_key_create``): the
secret is shown once, in the confirmation message, and only its hash is stored. Keys
are revoked, not deleted, so their use stays on record.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from apps.accounts.models import ApiKey, Membership, Role, Scope, User, Workspace
from apps.accounts.services import api_key_create
from apps.core.admin import ReadOnlyAdmin
from apps.core.errors import DomainError


@admin.register(User)
class PlatformUserAdmin(UserAdmin):
    list_display = ("username", "email", "is_staff", "is_active", "date_joined")


class MembershipFormSet(BaseInlineFormSet):
    """The workspace API's rule holds here too: a workspace keeps at least one owner."""

    def clean(self) -> None:
        super().clean()
        kept = [form.cleaned_data for form in self.forms
                if form.cleaned_data and not form.cleaned_data.get("DELETE")]
        if self.instance.pk and not any(data.get("role") == Role.OWNER for data in kept):
            raise DjangoValidationError("A workspace must keep at least one owner.")


class MembershipInline(admin.TabularInline):
    model = Membership
    formset = MembershipFormSet
    extra = 0
    raw_id_fields = ("user",)


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ("name", "id", "created_by", "created_at")
    search_fields = ("name", "=id")
    list_select_related = ("created_by",)
    inlines = [MembershipInline]
    raw_id_fields = ("created_by",)


class ApiKeyCreationForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(choices=Scope.choices, initial=[Scope.READ],
                                       widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = ApiKey
        fields = ("user", "name", "scopes", "expires_at")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        user, scopes = data.get("user"), data.get("scopes") or []
        if user is not None and Scope.ADMIN in scopes and not user.is_staff:
            raise DjangoValidationError("Only staff users may hold keys with the admin scope.")
        expires = data.get("expires_at")
        if expires is not None and expires <= timezone.now():
            raise DjangoValidationError("Expiry must be in the future.")
        return data


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("name", "prefix", "user", "scopes", "created_at", "expires_at",
                    "last_used_at", "revoked_at")
    list_select_related = ("user",)
    list_filter = ("revoked_at", "created_at")
    search_fields = ("name", "=prefix", "=user__username")
    readonly_fields = ("user", "prefix", "scopes", "created_at", "last_used_at",
                       "revoked_at")
    fields = ("name", "user", "prefix", "scopes", "expires_at", "created_at",
              "last_used_at", "revoked_at")
    raw_id_fields = ("user",)
    actions = ["revoke"]

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False,
                 **kwargs: Any) -> Any:
        if obj is None:
            kwargs["form"] = ApiKeyCreationForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ApiKeyCreationForm.Meta.fields if obj is None else self.fields

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return () if obj is None else self.readonly_fields

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        found = super().get_actions(request)
        found.pop("delete_selected", None)
        return found

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # revoke instead: the key's use stays on record

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        data = form.cleaned_data
        try:
            issued = api_key_create(user=data["user"], name=data["name"],
                                    scopes=list(data["scopes"]),
                                    expires_at=data.get("expires_at"))
        except (ValidationError, DomainError) as exc:  # checked by the form already
            raise DjangoValidationError(str(exc)) from exc
        obj.pk, obj._state.adding = issued.key.pk, False
        self.message_user(
            request, f"The key's secret, shown this once (copy it now): {issued.token}",
            messages.WARNING)

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"Revoked {count} key(s).", messages.SUCCESS)


@admin.register(Membership)
class MembershipAdmin(ReadOnlyAdmin):
    """Who is in which workspace, searchable across workspaces. Changes are made on the
    workspace's page (its members inline) or through the workspace API."""

    list_display = ("user", "workspace", "role", "created_at")
    list_filter = ("role",)
    search_fields = ("user__username", "workspace__name", "=workspace__id")
    list_select_related = ("user", "workspace")
