"""Reads of the accounts app. Every workspace read is scoped to the caller's memberships."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.db import DEFAULT_DB_ALIAS
from django.db.models import QuerySet

from apps.accounts.models import API_KEY_MARKER, ApiKey, Membership, User, Workspace
from apps.core.compiled import compiled
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


_MEMBERSHIP_FIELDS = [f.attname for f in Membership._meta.concrete_fields]
_WORKSPACE_FIELDS = [f.attname for f in Workspace._meta.concrete_fields]


def _membership_row(workspace_id: UUID, user_id: UUID) -> QuerySet[Membership, Any]:
    return (Membership.objects.filter(workspace_id=workspace_id, user_id=user_id)
            .values(*_MEMBERSHIP_FIELDS, *(f"workspace__{n}" for n in _WORKSPACE_FIELDS))[:1])


def membership_get(*, user: User, workspace_id: object) -> Membership | None:
    """The caller's membership in a workspace (None when not a member or malformed id),
    with its workspace.

    Every request of a workspace's API asks this first, so the statement is compiled once
    (apps.core.compiled) and the two instances built from its row.
    """
    pk = parse_uuid(workspace_id)
    if pk is None:
        return None
    rows = compiled(("accounts.membership_get",), _membership_row, workspace_id=pk,
                    user_id=user.pk).dicts()
    if not rows:
        return None
    row = rows[0]
    membership = Membership.from_db(DEFAULT_DB_ALIAS, _MEMBERSHIP_FIELDS,
                                    [row[n] for n in _MEMBERSHIP_FIELDS])
    membership.workspace = Workspace.from_db(
        DEFAULT_DB_ALIAS, _WORKSPACE_FIELDS, [row[f"workspace__{n}"] for n in _WORKSPACE_FIELDS])
    return membership


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
