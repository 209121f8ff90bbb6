"""API keys: shown once, stored hashed, scoped, expiring, revocable."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.models import ApiKey, User
from apps.accounts.services import api_key_create

pytestmark = pytest.mark.django_db


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def test_create_shows_secret_once_and_stores_only_its_hash(auth_client: APIClient,
                                                           user: User) -> None:
    created = auth_client.post("/api/auth/api-keys/", {"name": "ci", "scopes": ["read"]},
                               format="json")
    assert created.status_code == 201
    token = created.json()["key"]
    assert token.startswith(f"mpk_{created.json()['prefix']}_")
    stored = ApiKey.objects.get(pk=created.json()["id"])
    assert stored.secret_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(ApiKey.objects.filter(pk=stored.pk).values().first())
    listed = auth_client.get("/api/auth/api-keys/").json()
    assert [k["id"] for k in listed] == [str(stored.pk)]
    assert "key" not in listed[0] and "secret_hash" not in listed[0]


def test_key_authenticates_and_records_last_use(user: User) -> None:
    issued = api_key_create(user=user, name="script", scopes=["read"])
    assert issued.key.last_used_at is None
    response = bearer(issued.token).get("/api/auth/me/")
    assert response.status_code == 200 and response.json()["username"] == "alice"
    issued.key.refresh_from_db()
    assert issued.key.last_used_at is not None


def test_tampered_secret_is_rejected(user: User) -> None:
    issued = api_key_create(user=user, name="script", scopes=["read"])
    tampered = issued.token[:-2] + ("AA" if not issued.token.endswith("AA") else "BB")
    assert bearer(tampered).get("/api/auth/me/").status_code == 401


def test_revoked_key_stops_working(auth_client: APIClient, user: User) -> None:
    issued = api_key_create(user=user, name="script", scopes=["read"])
    assert bearer(issued.token).get("/api/auth/me/").status_code == 200
    assert auth_client.delete(f"/api/auth/api-keys/{issued.key.pk}/").status_code == 204
    response = bearer(issued.token).get("/api/auth/me/")
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]


def test_expired_key_stops_working(user: User) -> None:
    issued = api_key_create(user=user, name="short", scopes=["read"],
                            expires_at=timezone.now() + timedelta(hours=1))
    ApiKey.objects.filter(pk=issued.key.pk).update(expires_at=timezone.now() - timedelta(1))
    assert bearer(issued.token).get("/api/auth/me/").status_code == 401


def test_read_scope_cannot_write(user: User) -> None:
    reader = api_key_create(user=user, name="reader", scopes=["read"])
    response = bearer(reader.token).post("/api/workspaces/", {"name": "x"}, format="json")
    assert response.status_code == 403
    writer = api_key_create(user=user, name="writer", scopes=["write"])
    assert bearer(writer.token).post("/api/workspaces/", {"name": "x"},
                                     format="json").status_code == 201


def test_keys_cannot_mint_keys_without_admin_scope(user: User) -> None:
    writer = api_key_create(user=user, name="writer", scopes=["write"])
    response = bearer(writer.token).post("/api/auth/api-keys/", {"name": "more"}, format="json")
    assert response.status_code == 403
    assert ApiKey.objects.count() == 1


def test_only_staff_may_hold_admin_scope(auth_client: APIClient, make_user: Any) -> None:
    response = auth_client.post("/api/auth/api-keys/", {"name": "a", "scopes": ["admin"]},
                                format="json")
    assert response.status_code == 403
    staff = make_user("root", is_staff=True)
    client = APIClient()
    client.force_authenticate(staff)
    assert client.post("/api/auth/api-keys/", {"name": "a", "scopes": ["admin"]},
                       format="json").status_code == 201


@pytest.mark.parametrize("body", [
    {"scopes": ["read"]},
    {"name": "x", "scopes": []},
    {"name": "x", "scopes": ["root"]},
    {"name": "x", "scopes": "read"},
    {"name": "x", "expires_at": "2001-01-01T00:00:00Z"},
    {"name": "x", "expires_at": "tomorrow"},
    {"name": "x" * 101},
])
def test_bad_key_requests_create_nothing(auth_client: APIClient, body: dict) -> None:
    response = auth_client.post("/api/auth/api-keys/", body, format="json")
    assert response.status_code == 400
    assert response.json()["status"] == 400
    assert not ApiKey.objects.exists()


def test_cannot_revoke_someone_elses_key(auth_client: APIClient, make_user: Any) -> None:
    other = api_key_create(user=make_user("mallory"), name="theirs", scopes=["read"])
    response = auth_client.delete(f"/api/auth/api-keys/{other.key.pk}/")
    assert response.status_code == 404
    other.key.refresh_from_db()
    assert other.key.revoked_at is None
