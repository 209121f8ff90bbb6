"""Nothing of another workspace can be read or changed: ids of its objects are 404 on
every route, ids of its objects in bodies are ignored or refused, lists never show them."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from apps.accounts.models import Workspace
from tests.media_library.factories import CATEGORY_TYPE_OF, CREATE_BODIES, NOT_FOUND, snapshot
from tests.media_library.routes import KIND_KEYS, ROUTES, Library, Route, call

ID_ROUTES = [r for r in ROUTES if r.id_kind is not None]


def _not_found(route: Route) -> str:
    assert route.id_kind is not None
    return "Category not found" if route.id_kind == "categories" else NOT_FOUND[route.id_kind]


@pytest.mark.parametrize("route", ID_ROUTES, ids=str)
def test_foreign_object_id_is_404(route: Route, library: Library, other_library: Library,
                                  base: str, admin: APIClient, workspace: Workspace,
                                  other_workspace: Workspace) -> None:
    foreign = str(other_library.object_for(route).id)
    before = snapshot(other_workspace), snapshot(workspace)
    response = call(admin, route, library.path(route, base, object_id=foreign),
                    library.body(route))
    assert response.status_code == 404, response.content
    assert response.json() == {"statusCode": 404, "message": _not_found(route),
                               "error": "Not Found"}
    assert (snapshot(other_workspace), snapshot(workspace)) == before


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_foreign_workspace_path_is_404(route: Route, library: Library,
                                       other_library: Library, other_base: str,
                                       admin: APIClient, other_workspace: Workspace) -> None:
    """The same calls aimed at the other workspace's URL, with its real ids."""
    before = snapshot(other_workspace)
    response = call(admin, route, other_library.path(route, other_base),
                    other_library.body(route))
    assert response.status_code == 404, response.content
    assert response.json()["message"] == "Workspace not found"
    assert snapshot(other_workspace) == before


@pytest.mark.parametrize("kind", KIND_KEYS)
def test_foreign_category_in_create_and_update_is_404(
        kind: str, library: Library, other_library: Library, base: str, member: APIClient,
        workspace: Workspace, other_workspace: Workspace) -> None:
    foreign = str(other_library.categories[kind].id)
    before = snapshot(workspace), snapshot(other_workspace)
    created = member.post(f"{base}/{kind}", CREATE_BODIES[kind](categoryId=foreign),
                          format="json")
    assert created.status_code == 404
    assert created.json()["message"] == "Category not found"
    updated = member.put(f"{base}/{kind}/{library.live[kind].id}", {"categoryId": foreign},
                         format="json")
    assert updated.status_code == 404
    assert updated.json()["message"] == "Category not found"
    assert (snapshot(workspace), snapshot(other_workspace)) == before


@pytest.mark.parametrize("action", ["delete", "restore", "star", "unstar", "move"])
def test_bulk_ignores_foreign_ids(action: str, library: Library, other_library: Library,
                                  base: str, member: APIClient,
                                  other_workspace: Workspace) -> None:
    before = snapshot(other_workspace)
    ids = [str(other_library.live["items"].id), str(other_library.binned["items"].id)]
    body = {"ids": ids, "action": action, "categoryId": str(library.categories["items"].id)}
    response = member.post(f"{base}/items/bulk", body, format="json")
    assert response.status_code == 200
    assert response.json() == {"success": True, "message": "Bulk action completed",
                               "processedCount": 0}
    assert snapshot(other_workspace) == before


def test_bulk_permanent_delete_ignores_foreign_ids(library: Library, other_library: Library,
                                                  base: str, admin: APIClient,
                                                  other_workspace: Workspace) -> None:
    before = snapshot(other_workspace)
    ids = [str(other_library.live["items"].id), str(library.binned["items"].id)]
    response = admin.post(f"{base}/items/bulk", {"ids": ids, "action": "permanentDelete"},
                          format="json")
    assert response.json()["processedCount"] == 1
    assert snapshot(other_workspace) == before


def test_bulk_move_to_foreign_category_is_404(library: Library, other_library: Library,
                                             base: str, member: APIClient,
                                             workspace: Workspace) -> None:
    before = snapshot(workspace)
    response = member.post(f"{base}/items/bulk", {
        "ids": [str(library.live["items"].id)], "action": "move",
        "categoryId": str(other_library.categories["items"].id)}, format="json")
    assert response.status_code == 404
    assert response.json()["message"] == "Category not found"
    assert snapshot(workspace) == before


def test_reorder_with_a_foreign_category_is_400(library: Library, other_library: Library,
                                               base: str, member: APIClient,
                                               workspace: Workspace,
                                               other_workspace: Workspace) -> None:
    before = snapshot(workspace), snapshot(other_workspace)
    response = member.post(f"{base}/categories/reorder", {
        "type": "image", "categoryIds": [str(other_library.categories["items"].id),
                                         str(library.categories["items"].id)]},
        format="json")
    assert response.status_code == 400
    assert (snapshot(workspace), snapshot(other_workspace)) == before


def test_lists_show_only_this_workspace(library: Library, other_library: Library, base: str,
                                        viewer: APIClient) -> None:
    for kind in KIND_KEYS:
        listed = viewer.get(f"{base}/{kind}").json()
        assert [o["id"] for o in listed["items"]] == [str(library.live[kind].id)]
        binned = viewer.get(f"{base}/{kind}", {"isDeleted": "true"}).json()
        assert [o["id"] for o in binned["items"]] == [str(library.binned[kind].id)]
        foreign = viewer.get(f"{base}/{kind}",
                             {"categoryId": str(other_library.categories[kind].id)}).json()
        assert foreign["total"] == 0 and foreign["items"] == []
    categories = viewer.get(f"{base}/categories").json()
    assert {c["id"] for c in categories} == {str(c.id) for c in library.categories.values()}
    grouped = viewer.get(f"{base}/categories/grouped").json()
    assert sum(len(v) for v in grouped.values()) == 4
    recent = viewer.get(f"{base}/items/recent").json()
    assert [o["id"] for o in recent] == [str(library.live["items"].id)]
    bin_ = viewer.get(f"{base}/recycle-bin").json()
    assert [s["total"] for s in bin_.values()] == [1, 1, 1, 1]


def test_emptying_the_bin_leaves_other_workspaces_alone(
        library: Library, other_library: Library, base: str, admin: APIClient,
        other_workspace: Workspace) -> None:
    before = snapshot(other_workspace)
    response = admin.post(f"{base}/recycle-bin/empty")
    assert response.json()["deletedCount"] == 4
    assert snapshot(other_workspace) == before


def test_category_type_of_each_kind_is_checked(library: Library, base: str,
                                               member: APIClient) -> None:
    """Sanity of the fixture: each live object is filed under its kind's category."""
    for kind in KIND_KEYS:
        body = member.get(f"{base}/{kind}/{library.live[kind].id}").json()
        assert body["category"] == {"id": str(library.categories[kind].id),
                                    "name": f"{kind} category"}
        assert library.categories[kind].type == CATEGORY_TYPE_OF[kind]
