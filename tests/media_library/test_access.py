"""Who may call what: 401 without credentials, 404 outside one's workspaces, viewers
read only, members write, only admins and owners delete for good. Every route of the
URL conf is covered (routes.py reads them from media_library/urls.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from apps.accounts.models import Membership, Role, User, Workspace
from apps.accounts.services import api_key_create
from media_library.models import MediaItem
from tests.media_library.factories import FORBIDDEN, counts, snapshot
from tests.media_library.routes import (
    PURGE_ROUTES,
    READ_ROUTES,
    ROUTES,
    WRITE_ROUTES,
    Library,
    Route,
    call,
)

NON_PURGE_WRITES = [r for r in WRITE_ROUTES if not r.purges]


def test_route_table_covers_the_spec() -> None:
    # 46 method+path pairs (the spec's 45 and the upload): if a route disappears from urls.py the tests below shrink
    # silently, so pin the table here.
    assert len(ROUTES) == 46
    assert len(PURGE_ROUTES) == 5
    assert {str(r) for r in ROUTES} >= {
        "GET categories/grouped", "POST categories/reorder", "GET items/recent",
        "POST items/bulk", "POST templates/<str:object_id>/clone",
        "POST links/<str:object_id>/refresh-preview", "GET recycle-bin",
        "POST recycle-bin/empty", "DELETE snippets/<str:object_id>/permanent",
        "POST links/<str:object_id>/use", "PUT categories/<str:category_id>"}


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_unauthenticated_is_401(route: Route, library: Library, base: str,
                                workspace: Workspace) -> None:
    before = snapshot(workspace)
    response = call(APIClient(), route, library.path(route, base), library.body(route))
    assert response.status_code == 401, response.content
    body = response.json()
    assert body["statusCode"] == 401 and body["message"] == "Unauthorized"
    assert snapshot(workspace) == before


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_member_of_another_workspace_gets_404(route: Route, library: Library, base: str,
                                              workspace: Workspace,
                                              other_workspace: Workspace,
                                              client_as: Callable[..., APIClient]) -> None:
    outsider = client_as(Role.OWNER, ws=other_workspace)
    before = snapshot(workspace)
    response = call(outsider, route, library.path(route, base), library.body(route))
    assert response.status_code == 404, response.content
    assert response.json() == {"statusCode": 404, "message": "Workspace not found",
                               "error": "Not Found"}
    assert snapshot(workspace) == before


@pytest.mark.parametrize("workspace_id", [
    "not-a-uuid", "00000000-0000-0000-0000-000000000000", "5f0e2b7a-3c1d-4e8f-9a6b-2d4c8e1f7a90", "1",
])
@pytest.mark.parametrize("suffix", ["items", "categories", "recycle-bin"])
def test_unknown_or_malformed_workspace_is_404(workspace_id: str, suffix: str,
                                               admin: APIClient) -> None:
    response = admin.get(f"/workspaces/{workspace_id}/media-library/{suffix}")
    assert response.status_code == 404
    assert response.json()["message"] == "Workspace not found"


def test_user_without_any_membership_gets_404(client_as: Callable[..., APIClient],
                                              base: str, workspace: Workspace) -> None:
    stranger = client_as(None)
    assert stranger.get(f"{base}/items").status_code == 404
    before = counts(workspace)
    assert stranger.post(f"{base}/categories", {"name": "X", "type": "image"},
                         format="json").status_code == 404
    assert counts(workspace) == before


@pytest.mark.parametrize("route", READ_ROUTES, ids=str)
def test_viewer_reads_everything(route: Route, library: Library, base: str,
                                 viewer: APIClient) -> None:
    response = call(viewer, route, library.path(route, base))
    assert response.status_code == 200, response.content


@pytest.mark.parametrize("route", WRITE_ROUTES, ids=str)
def test_viewer_writes_nothing(route: Route, library: Library, base: str, viewer: APIClient,
                               workspace: Workspace) -> None:
    before = snapshot(workspace)
    response = call(viewer, route, library.path(route, base), library.body(route))
    assert response.status_code == 403, response.content
    assert response.json() == FORBIDDEN
    assert snapshot(workspace) == before


@pytest.mark.parametrize("route", NON_PURGE_WRITES, ids=str)
def test_member_writes(route: Route, library: Library, base: str, member: APIClient,
                       workspace: Workspace) -> None:
    before = snapshot(workspace)
    response = call(member, route, library.path(route, base), library.body(route))
    assert response.status_code in (200, 201), response.content
    if route.name not in ("ml-categories-reorder", "ml-links-refresh-preview"):
        # the rest visibly change something (reorder of one category and a re-queued
        # preview whose task never runs here may leave the rows as they were)
        assert snapshot(workspace) != before


@pytest.mark.parametrize("route", PURGE_ROUTES, ids=str)
def test_member_cannot_purge(route: Route, library: Library, base: str, member: APIClient,
                             workspace: Workspace) -> None:
    before = snapshot(workspace)
    response = call(member, route, library.path(route, base))
    assert response.status_code == 403
    assert response.json() == FORBIDDEN
    assert snapshot(workspace) == before


def test_member_cannot_bulk_permanent_delete(library: Library, base: str, member: APIClient,
                                             workspace: Workspace) -> None:
    before = snapshot(workspace)
    ids = [str(library.live["items"].id), str(library.binned["items"].id)]
    response = member.post(f"{base}/items/bulk", {"ids": ids, "action": "permanentDelete"},
                           format="json")
    assert response.status_code == 403
    assert response.json() == FORBIDDEN
    assert snapshot(workspace) == before


@pytest.mark.parametrize("role", [Role.ADMIN, Role.OWNER])
@pytest.mark.parametrize("route", PURGE_ROUTES, ids=str)
def test_admin_and_owner_purge(route: Route, role: str, library: Library, base: str,
                               client_as: Callable[..., APIClient],
                               workspace: Workspace) -> None:
    before = counts(workspace)
    response = call(client_as(role), route, library.path(route, base))
    assert response.status_code == 200, response.content
    assert response.json()["success"] is True
    after = counts(workspace)
    assert sum(after.values()) < sum(before.values())


@pytest.mark.parametrize("role", [Role.ADMIN, Role.OWNER])
def test_admin_and_owner_bulk_permanent_delete(role: str, library: Library, base: str,
                                               client_as: Callable[..., APIClient]) -> None:
    ids = [str(library.live["items"].id), str(library.binned["items"].id)]
    response = client_as(role).post(f"{base}/items/bulk",
                                    {"ids": ids, "action": "permanentDelete"}, format="json")
    assert response.status_code == 200
    assert response.json()["processedCount"] == 2
    assert not MediaItem.objects.filter(pk__in=ids).exists()


# -- the three ways of signing in ------------------------------------------------------


@pytest.fixture
def signed_up(make_user: Any, workspace: Workspace) -> User:
    user: User = make_user("carol")
    Membership.objects.create(workspace=workspace, user=user, role=Role.MEMBER)
    return user


def test_jwt_access_token(signed_up: User, base: str) -> None:
    client = APIClient()
    tokens = client.post("/api/auth/token/", {"username": "carol",
                                              "password": "s3cret-Pass-123"},
                         format="json").json()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert client.get(f"{base}/items").status_code == 200
    created = client.post(f"{base}/categories", {"name": "Jwt", "type": "link"}, format="json")
    assert created.status_code == 201
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}x")
    assert client.get(f"{base}/items").status_code == 401


def test_session_login(signed_up: User, base: str) -> None:
    client = APIClient()
    assert client.login(username="carol", password="s3cret-Pass-123")
    assert client.get(f"{base}/categories").status_code == 200


def test_api_keys_act_within_their_scope(signed_up: User, base: str,
                                         workspace: Workspace) -> None:
    writer = APIClient()
    writer.credentials(HTTP_AUTHORIZATION="Bearer "
                       + api_key_create(user=signed_up, name="w", scopes=["write"]).token)
    assert writer.post(f"{base}/categories", {"name": "Key", "type": "gif"},
                       format="json").status_code == 201
    reader = APIClient()
    reader.credentials(HTTP_AUTHORIZATION="Bearer "
                       + api_key_create(user=signed_up, name="r", scopes=["read"]).token)
    assert reader.get(f"{base}/categories").json()[0]["name"] == "Key"
    before = counts(workspace)
    assert reader.post(f"{base}/categories", {"name": "No", "type": "gif"},
                       format="json").status_code == 403
    assert counts(workspace) == before
    forged = APIClient()
    forged.credentials(HTTP_AUTHORIZATION="Bearer mpk_0000_nothing")
    assert forged.get(f"{base}/categories").status_code == 401
