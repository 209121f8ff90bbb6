"""API keys in the admin: created through the service with the secret shown once (only
its hash stored, and it authenticates), refused for an admin scope on a non-staff user,
revoked rather than deleted."""

from __future__ import annotations

import re

from django.test import Client
from rest_framework.test import APIClient

from apps.accounts.models import ApiKey, User

ADD = "/admin/accounts/apikey/add/"



def test_a_new_key_shows_its_secret_once(console_client: Client, user: User) -> None:
    answer = console_client.post(ADD, {"user": str(user.pk), "name": "script", "scopes": ["read"]},
                           follow=True)
    page = answer.content.decode()
    token = re.search(r"copy it now\): (\S+?)<", page)
    assert token is not None, page[:2000]
    key = ApiKey.objects.get()
    assert key.scopes == ["read"] and token.group(1) not in key.secret_hash
    client = APIClient()
    assert client.get("/api/library").status_code == 401
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token.group(1)}")
    assert client.get("/api/library").status_code == 200  # the shown secret works
    again = console_client.get(f"/admin/accounts/apikey/{key.pk}/change/").content.decode()
    assert token.group(1) not in again


def test_admin_scope_needs_a_staff_user(console_client: Client, user: User) -> None:
    answer = console_client.post(ADD, {"user": str(user.pk), "name": "x", "scopes": ["admin"]})
    assert answer.status_code == 200 and "Only staff users" in answer.content.decode()
    assert not ApiKey.objects.exists()


def test_keys_are_revoked_not_deleted(console_client: Client, user: User) -> None:
    console_client.post(ADD, {"user": str(user.pk), "name": "script", "scopes": ["read"]})
    key = ApiKey.objects.get()
    answer = console_client.post("/admin/accounts/apikey/", {
        "action": "revoke", "_selected_action": [str(key.pk)]}, follow=True)
    assert "Revoked 1 key(s)." in answer.content.decode()
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert console_client.post(f"/admin/accounts/apikey/{key.pk}/delete/").status_code == 403
