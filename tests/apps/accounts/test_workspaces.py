"""Workspaces: the creator owns it, roles gate membership changes, outsiders see nothing."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from apps.accounts.models import Membership, Role, User, Workspace

pytestmark = pytest.mark.django_db


def client_for(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def workspace(auth_client: APIClient) -> dict:
    response = auth_client.post("/api/workspaces/", {"name": "Studio"}, format="json")
    assert response.status_code == 201
    return response.json()


def test_creator_becomes_owner(workspace: dict, user: User) -> None:
    assert workspace["role"] == "owner"
    assert [m["username"] for m in workspace["members"]] == ["alice"]
    assert Membership.objects.get(workspace_id=workspace["id"], user=user).role == Role.OWNER


def test_list_shows_only_my_workspaces(auth_client: APIClient, workspace: dict,
                                       make_user: Any) -> None:
    Workspace.objects.create(name="Not mine")
    names = [w["name"] for w in auth_client.get("/api/workspaces/").json()]
    assert names == ["Studio"]


@pytest.mark.parametrize("workspace_id", ["not-a-uuid", "0b7c3f4e-2f0a-4c59-9a53-6f1d0c2f9d11"])
def test_unknown_or_malformed_workspace_is_404(auth_client: APIClient, workspace_id: str) -> None:
    assert auth_client.get(f"/api/workspaces/{workspace_id}/").status_code == 404


def test_non_member_gets_404_not_403(workspace: dict, make_user: Any) -> None:
    outsider = client_for(make_user("eve"))
    assert outsider.get(f"/api/workspaces/{workspace['id']}/").status_code == 404
    response = outsider.post(f"/api/workspaces/{workspace['id']}/members/",
                             {"username": "eve", "role": "owner"}, format="json")
    assert response.status_code == 404
    assert not Membership.objects.filter(user__username="eve").exists()


def test_owner_adds_and_changes_members(auth_client: APIClient, workspace: dict,
                                        make_user: Any) -> None:
    bob = make_user("bob")
    url = f"/api/workspaces/{workspace['id']}/members/"
    added = auth_client.post(url, {"username": "bob", "role": "viewer"}, format="json")
    assert added.status_code == 201 and added.json()["role"] == "viewer"
    changed = auth_client.post(url, {"username": "bob", "role": "admin"}, format="json")
    assert changed.json()["role"] == "admin"
    assert Membership.objects.get(user=bob).role == Role.ADMIN
    assert Membership.objects.filter(workspace_id=workspace["id"]).count() == 2


@pytest.mark.parametrize("role", ["member", "viewer"])
def test_members_and_viewers_cannot_add_members(auth_client: APIClient, workspace: dict,
                                                make_user: Any, role: str) -> None:
    insider = make_user("insider")
    make_user("friend")
    Membership.objects.create(workspace_id=workspace["id"], user=insider, role=role)
    response = client_for(insider).post(f"/api/workspaces/{workspace['id']}/members/",
                                        {"username": "friend"}, format="json")
    assert response.status_code == 403
    assert not Membership.objects.filter(user__username="friend").exists()


def test_admin_cannot_create_owner_or_remove_owner(auth_client: APIClient, workspace: dict,
                                                   make_user: Any, user: User) -> None:
    admin = make_user("admin1")
    make_user("friend")
    Membership.objects.create(workspace_id=workspace["id"], user=admin, role=Role.ADMIN)
    client = client_for(admin)
    url = f"/api/workspaces/{workspace['id']}/members/"
    assert client.post(url, {"username": "friend", "role": "owner"},
                       format="json").status_code == 403
    assert client.post(url, {"username": "friend", "role": "member"},
                       format="json").status_code == 201
    assert client.delete(f"{url}{user.pk}/").status_code == 403
    assert Membership.objects.get(user=user).role == Role.OWNER


def test_last_owner_cannot_leave(auth_client: APIClient, workspace: dict, user: User) -> None:
    response = auth_client.delete(f"/api/workspaces/{workspace['id']}/members/{user.pk}/")
    assert response.status_code == 409
    assert Membership.objects.filter(user=user).exists()


def test_member_may_leave_and_admin_may_remove(auth_client: APIClient, workspace: dict,
                                               make_user: Any) -> None:
    bob, carol = make_user("bob"), make_user("carol")
    for person in (bob, carol):
        Membership.objects.create(workspace_id=workspace["id"], user=person, role=Role.MEMBER)
    url = f"/api/workspaces/{workspace['id']}/members/"
    assert client_for(bob).delete(f"{url}{carol.pk}/").status_code == 403
    assert client_for(bob).delete(f"{url}{bob.pk}/").status_code == 204
    assert auth_client.delete(f"{url}{carol.pk}/").status_code == 204
    assert auth_client.delete(f"{url}{carol.pk}/").status_code == 404
    assert list(Membership.objects.values_list("user__username", flat=True)) == ["alice"]


@pytest.mark.parametrize("body", [{"username": "ghost"}, {"username": "bob", "role": "god"},
                                  {}, {"username": ["bob"]}])
def test_bad_member_requests_change_nothing(auth_client: APIClient, workspace: dict,
                                            make_user: Any, body: dict) -> None:
    make_user("bob")
    response = auth_client.post(f"/api/workspaces/{workspace['id']}/members/", body,
                                format="json")
    assert response.status_code == 400
    assert Membership.objects.filter(workspace_id=workspace["id"]).count() == 1


@pytest.mark.parametrize("body", [{}, {"name": ""}, {"name": "x" * 201}, {"name": None}])
def test_bad_workspace_requests_create_nothing(auth_client: APIClient, body: dict) -> None:
    assert auth_client.post("/api/workspaces/", body, format="json").status_code == 400
    assert not Workspace.objects.exists()
