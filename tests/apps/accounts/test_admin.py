"""API keys in the admin: created through the service with the secret shown once (only
its hash stored, and it authenticates), refused for an admin scope on a non-staff user,
revoked rather than deleted."""

from __future__ import annotations

import re
from typing import Any

from django.test import Client
from rest_framework.test import APIClient

from apps.accounts.models import ApiKey, Membership, Role, User, Workspace

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


def _workspace_form(workspace: Workspace, roles: dict[Membership, str]) -> dict[str, str]:
    data = {"name": workspace.name, "created_by": str(workspace.created_by_id),
            "memberships-TOTAL_FORMS": str(len(roles)),
            "memberships-INITIAL_FORMS": str(len(roles)),
            "memberships-MIN_NUM_FORMS": "0", "memberships-MAX_NUM_FORMS": "1000"}
    for n, (membership, role) in enumerate(roles.items()):
        data.update({f"memberships-{n}-id": str(membership.pk),
                     f"memberships-{n}-workspace": str(workspace.pk),
                     f"memberships-{n}-user": str(membership.user_id),
                     f"memberships-{n}-role": role})
    return data


def test_the_members_inline_keeps_an_owner(console_client: Client, user: User,
                                           make_user: Any) -> None:
    workspace = Workspace.objects.create(name="team", created_by=user)
    owner = Membership.objects.create(workspace=workspace, user=user, role=Role.OWNER)
    other = Membership.objects.create(workspace=workspace, user=make_user("bob"),
                                      role=Role.MEMBER)
    url = f"/admin/accounts/workspace/{workspace.pk}/change/"
    page = console_client.post(url, _workspace_form(workspace, {owner: Role.MEMBER,
                                                                other: Role.MEMBER}))
    assert page.status_code == 200  # the form again, with the error
    assert "must keep at least one owner" in page.content.decode()
    owner.refresh_from_db()
    assert owner.role == Role.OWNER
    answer = console_client.post(url, _workspace_form(workspace, {owner: Role.MEMBER,
                                                                  other: Role.OWNER}))
    assert answer.status_code == 302
    owner.refresh_from_db()
    other.refresh_from_db()
    assert (owner.role, other.role) == (Role.MEMBER, Role.OWNER)
