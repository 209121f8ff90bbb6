"""Reads of the accounts app. Every workspace read is scoped to the caller's memberships."""

from __future__ import annotations

from django.db.models import QuerySet

from apps.accounts.models import API_KEY_MARKER, ApiKey, Membership, User, Workspace
from apps.core.errors import NotFoundError
from apps.core.ids import parse_uuid


def workspace_list(*, user: User) -> QuerySet[Workspace]:
    return Workspace.objects.filter(memberships__user=user).order_by("-created_at")


def workspace_get(*, user: User, workspace_id: object) -> Workspace:
    """The workspace if the user is a member; otherwise NotFound (no existence leak)."""
    pk = parse_uuid(workspace_id)
    workspace = (Workspace.objects.filter(pk=pk, memberships__user=user).first()
                 if pk is not None else None)
    if workspace is None:
        raise NotFoundError("Workspace not found.")
    return workspace


def membership_get(*, user: User, workspace_id: object) -> Membership | None:
    """The caller's membership in a workspace (None when not a member or malformed id)."""
    pk = parse_uuid(workspace_id)
    if pk is None:
        return None
    return Membership.objects.select_related("workspace").filter(
        workspace_id=pk, user=user).first()


def membership_list(*, workspace: Workspace) -> QuerySet[Membership]:
    return workspace.memberships.select_related("user").order_by("created_at")


def api_key_list(*, user: User) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(user=user).order_by("-created_at")


def api_key_get_for_token(token: str) -> ApiKey | None:
    """Find the key a bearer token names by its visible prefix (one indexed lookup)."""
    if not token.startswith(API_KEY_MARKER):
        return None
    prefix, _, secret = token[len(API_KEY_MARKER):].partition("_")
    if not prefix or not secret:
        return None
    return ApiKey.objects.select_related("user").filter(prefix=prefix).first()
