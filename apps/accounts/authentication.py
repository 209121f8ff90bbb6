"""How a request proves who it is.

Order matters (settings.REST_FRAMEWORK): the platform's ``API_SECRET_KEY``, then API keys
(``mpk_…``), then JWT, then the admin's session. The first two return ``None`` for tokens
that are not theirs, so a JWT still reaches simplejwt; simplejwt never sees an API key.
"""

from __future__ import annotations

import hmac

from django.conf import settings
from django.core.cache import cache
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from apps.accounts.conf import accounts_settings
from apps.accounts.models import ApiKey, User
from apps.accounts.selectors import api_key_get_for_token
from apps.accounts.services import api_key_touch, hash_secret


def _bearer(request: Request) -> str | None:
    header = authentication.get_authorization_header(request).split()
    if len(header) != 2 or header[0].lower() != b"bearer":
        return None
    try:
        return header[1].decode()
    except UnicodeDecodeError:
        return None


class ApiSecretPrincipal:
    """Marks a request authenticated by the platform-wide API_SECRET_KEY."""

    scopes = ("read", "write", "admin")

    def has_scope(self, scope: str) -> bool:
        return True


def api_secret_user() -> User:
    """The staff user that stands for API_SECRET_KEY callers (created on first use)."""
    username = accounts_settings.API_SECRET_USERNAME
    cache_key = f"accounts:api-secret-user:{username}"
    user_id = cache.get(cache_key)
    user = User.objects.filter(pk=user_id).first() if user_id else None
    if user is None:
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User(username=username, is_staff=True)
            user.set_unusable_password()  # reachable only through the secret
            user.save()
        cache.set(cache_key, str(user.pk), 3600)
    return user


class ApiSecretKeyAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer <API_SECRET_KEY>``: a platform admin credential."""

    def authenticate(self, request: Request) -> tuple[User, ApiSecretPrincipal] | None:
        secret = getattr(settings, "API_SECRET_KEY", "")
        token = _bearer(request)
        if not secret or token is None:
            return None
        if not hmac.compare_digest(token.encode(), secret.encode()):
            return None
        return api_secret_user(), ApiSecretPrincipal()

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer mpk_<prefix>_<secret>``."""

    def authenticate(self, request: Request) -> tuple[User, ApiKey] | None:
        token = _bearer(request)
        if token is None or not token.startswith("mpk_"):
            return None
        key = api_key_get_for_token(token)
        if key is None or not hmac.compare_digest(key.secret_hash, hash_secret(token)):
            raise exceptions.AuthenticationFailed("Invalid API key.")
        if not key.is_active:
            raise exceptions.AuthenticationFailed("API key revoked or expired.")
        if not key.user.is_active:
            raise exceptions.AuthenticationFailed("User inactive.")
        api_key_touch(key=key)
        return key.user, key

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'
