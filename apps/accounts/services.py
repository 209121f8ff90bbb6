"""Writes of the accounts app: registration, API keys, workspaces and memberships."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from apps.accounts.conf import accounts_settings
from apps.accounts.models import API_KEY_MARKER, ApiKey, Membership, Role, Scope, User, Workspace
from apps.core.errors import ConflictError, NotFoundError, PermissionDeniedError


def user_register(*, username: str, password: str, email: str = "") -> User:
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": ["A user with that username already exists."]})
    candidate = User(username=username, email=email)
    try:
        validate_password(password, user=candidate)
    except DjangoValidationError as exc:
        raise ValidationError({"password": list(exc.messages)}) from None
    candidate.set_password(password)
    try:
        with transaction.atomic():
            candidate.save()
    except IntegrityError:
        raise ValidationError({"username": ["A user with that username already exists."]}) from None
    return candidate


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedApiKey:
    key: ApiKey
    token: str  # shown once; never stored


@transaction.atomic
def api_key_create(*, user: User, name: str, scopes: list[str],
                   expires_at: datetime | None = None) -> IssuedApiKey:
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": ["Expiry must be in the future."]})
    unknown = sorted(set(scopes) - set(Scope.values))
    if unknown or not scopes:
        raise ValidationError({"scopes": [f"Choose scopes among {', '.join(Scope.values)}."]})
    if Scope.ADMIN in scopes and not user.is_staff:
        raise PermissionDeniedError("Only staff users may create keys with the admin scope.")
    prefix = secrets.token_hex(accounts_settings.API_KEY_PREFIX_LENGTH // 2)
    secret = secrets.token_urlsafe(accounts_settings.API_KEY_SECRET_BYTES)
    token = f"{API_KEY_MARKER}{prefix}_{secret}"
    key = ApiKey.objects.create(user=user, name=name, prefix=prefix,
                                secret_hash=hash_secret(token),
                                scopes=sorted(set(scopes)), expires_at=expires_at)
    return IssuedApiKey(key=key, token=token)


def api_key_revoke(*, user: User, key_id: UUID | str) -> ApiKey:
    key = ApiKey.objects.filter(user=user, id=key_id).first()
    if key is None:
        raise NotFoundError("API key not found.")
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
    return key


def api_key_touch(*, key: ApiKey) -> None:
    """Record use, at most once per interval, with one conditional UPDATE."""
    now = timezone.now()
    interval = accounts_settings.API_KEY_TOUCH_INTERVAL
    if key.last_used_at and (now - key.last_used_at).total_seconds() < interval:
        return
    ApiKey.objects.filter(id=key.id).update(last_used_at=now)
    key.last_used_at = now


@transaction.atomic
def workspace_create(*, user: User, name: str) -> Workspace:
    workspace = Workspace.objects.create(name=name, created_by=user)
    Membership.objects.create(workspace=workspace, user=user, role=Role.OWNER)
    return workspace


def _require_role(workspace: Workspace, user: User, minimum: str) -> Membership:
    membership = Membership.objects.filter(workspace=workspace, user=user).first()
    if membership is None:
        raise NotFoundError("Workspace not found.")
    if not membership.has_role(minimum):
        raise PermissionDeniedError(f"This needs the {minimum} role in the workspace.")
    return membership


@transaction.atomic
def membership_add(*, workspace: Workspace, actor: User, username: str, role: str) -> Membership:
    """Add (or change the role of) a member. Admins manage members; owners manage owners."""
    if role not in Role.values:
        raise ValidationError({"role": [f"Choose a role among {', '.join(Role.values)}."]})
    mine = _require_role(workspace, actor, Role.ADMIN)
    if role == Role.OWNER and mine.role != Role.OWNER:
        raise PermissionDeniedError("Only an owner may add another owner.")
    target = User.objects.filter(username=username, is_active=True).first()
    if target is None:
        raise ValidationError({"username": ["No active user with that username."]})
    existing = (Membership.objects.select_for_update()
                .filter(workspace=workspace, user=target).first())
    if existing is None:
        return Membership.objects.create(workspace=workspace, user=target, role=role)
    if existing.role == Role.OWNER and mine.role != Role.OWNER:
        raise PermissionDeniedError("Only an owner may change an owner's role.")
    if existing.role == Role.OWNER and role != Role.OWNER:
        _ensure_other_owner(workspace, target)
    existing.role = role
    existing.save(update_fields=["role"])
    return existing


def _ensure_other_owner(workspace: Workspace, leaving: User) -> None:
    owners = (Membership.objects.select_for_update()
              .filter(workspace=workspace, role=Role.OWNER).exclude(user=leaving))
    if not owners.exists():
        raise ConflictError("A workspace must keep at least one owner.")


@transaction.atomic
def membership_remove(*, workspace: Workspace, actor: User, user_id: UUID | str) -> None:
    """Remove a member; anyone may leave, admins remove others, owners remove owners."""
    mine = _require_role(workspace, actor, Role.VIEWER)
    target = Membership.objects.select_for_update().filter(workspace=workspace,
                                                           user_id=user_id).first()
    if target is None:
        raise NotFoundError("Member not found.")
    if target.user_id != actor.pk:
        if not mine.has_role(Role.ADMIN):
            raise PermissionDeniedError("This needs the admin role in the workspace.")
        if target.role == Role.OWNER and mine.role != Role.OWNER:
            raise PermissionDeniedError("Only an owner may remove an owner.")
    if target.role == Role.OWNER:
        _ensure_other_owner(workspace, target.user)
    target.delete()
