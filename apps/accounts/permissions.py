"""Permissions shared by every API: API-key scopes, staff, workspace roles."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from apps.accounts.models import Scope, User


def request_user(request: Request) -> User:
    """The authenticated user of a request that passed IsAuthenticated."""
    user = request.user
    if not isinstance(user, User):
        raise PermissionError("request_user() on an unauthenticated request")
    return user


def required_scope(request: Request, view: Any) -> str:
    """The scope a request needs: a view may declare ``required_scope``; else by method."""
    declared = getattr(view, "required_scope", None)
    if declared:
        return str(declared)
    return Scope.READ if request.method in SAFE_METHODS else Scope.WRITE


class ApiKeyScopePermission(BasePermission):
    """Requests made with an API key (or the API secret) need the matching scope.

    JWT and session requests act with the user's full rights and pass.
    """

    message = "This API key does not have the scope this request needs."

    def has_permission(self, request: Request, view: Any) -> bool:
        credential = request.auth
        has_scope = getattr(credential, "has_scope", None)
        if has_scope is None:
            return True
        return bool(has_scope(required_scope(request, view)))


class IsStaff(BasePermission):
    """Platform admins: staff users (or API keys/secret with the admin scope)."""

    message = "Staff only."

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not (user and user.is_authenticated and user.is_staff):
            return False
        has_scope = getattr(request.auth, "has_scope", None)
        return has_scope is None or bool(has_scope(Scope.ADMIN))
