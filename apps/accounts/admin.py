"""Operators' views of accounts (the full console comes with its own issue)."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from apps.accounts.models import ApiKey, Membership, User, Workspace


@admin.register(User)
class PlatformUserAdmin(UserAdmin):
    list_display = ("username", "email", "is_staff", "is_active", "date_joined")


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ("user",)


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ("name", "id", "created_by", "created_at")
    search_fields = ("name",)
    inlines = [MembershipInline]
    raw_id_fields = ("created_by",)


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("name", "prefix", "user", "scopes", "created_at", "expires_at",
                    "last_used_at", "revoked_at")
    list_select_related = ("user",)
    search_fields = ("name", "prefix", "user__username")
    readonly_fields = ("prefix", "secret_hash", "last_used_at", "created_at")
    raw_id_fields = ("user",)
