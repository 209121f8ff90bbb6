"""What the four kinds of objects (items, templates, snippets, links) share: create,
get, update, soft delete, restore, permanent delete, use, list filters and pages, the
category checks and the not-found messages."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from rest_framework.test import APIClient

from apps.accounts.models import Membership, Role, Workspace
from tests.media_library.factories import (
    CATEGORY_TYPE_OF,
    CREATE_BODIES,
    LABELS,
    MODELS,
    NOT_FOUND,
    counts,
    make,
    make_category,
    make_many,
    problems,
    snapshot,
)
from tests.media_library.routes import KIND_KEYS

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
CREATOR = {"items": "uploadedById", "templates": "createdById", "snippets": "createdById",
           "links": "createdById"}

pytestmark = pytest.mark.parametrize("kind", KIND_KEYS)


def _row(kind: str, pk: Any) -> Any:
    return MODELS[kind]._default_manager.get(pk=pk)


def test_create_returns_the_object(kind: str, member: APIClient, base: str,
                                   workspace: Workspace) -> None:
    response = member.post(f"{base}/{kind}", CREATE_BODIES[kind](
        tags=["a", "b"], surprise="ignored"), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    user_id = Membership.objects.get(workspace=workspace, role=Role.MEMBER).user_id
    assert body["workspaceId"] == str(workspace.id)
    assert body[CREATOR[kind]] == str(user_id)
    assert (body["tags"], body["isStarred"], body["usageCount"], body["lastUsedAt"],
            body["isDeleted"], body["category"]) == (["a", "b"], False, 0, None, False, None)
    assert ISO.match(body["createdAt"])
    assert "surprise" not in body
    row = _row(kind, body["id"])
    assert row.workspace_id == workspace.id and row.tags == ["a", "b"]
    assert member.get(f"{base}/{kind}/{body['id']}").json() == body


def test_create_with_a_category_of_the_right_type(kind: str, member: APIClient, base: str,
                                                  workspace: Workspace) -> None:
    category = make_category(workspace, CATEGORY_TYPE_OF[kind], "Right")
    body = member.post(f"{base}/{kind}", CREATE_BODIES[kind](categoryId=str(category.id)),
                       format="json").json()
    assert body["categoryId"] == str(category.id)
    assert body["category"] == {"id": str(category.id), "name": "Right"}


def test_category_of_another_type_is_400(kind: str, member: APIClient, base: str,
                                         workspace: Workspace) -> None:
    wrong = make_category(workspace, "video" if kind != "items" else "template", "Wrong")
    obj = make(kind, workspace, "kept")
    before = snapshot(workspace)
    created = member.post(f"{base}/{kind}", CREATE_BODIES[kind](categoryId=str(wrong.id)),
                          format="json")
    assert created.status_code == 400
    assert problems(created)
    updated = member.put(f"{base}/{kind}/{obj.id}", {"categoryId": str(wrong.id)},
                         format="json")
    assert updated.status_code == 400
    assert snapshot(workspace) == before


def test_unknown_category_is_404(kind: str, member: APIClient, base: str,
                                 workspace: Workspace) -> None:
    before = counts(workspace)
    response = member.post(f"{base}/{kind}", CREATE_BODIES[kind](categoryId=str(uuid.uuid4())),
                           format="json")
    assert response.status_code == 404
    assert response.json() == {"statusCode": 404, "message": "Category not found",
                               "error": "Not Found"}
    assert counts(workspace) == before


def test_malformed_category_id_is_400(kind: str, member: APIClient, base: str,
                                      workspace: Workspace) -> None:
    response = member.post(f"{base}/{kind}", CREATE_BODIES[kind](categoryId="abc"),
                           format="json")
    assert response.status_code == 400
    assert problems(response) == ["categoryId must be a UUID"]
    assert counts(workspace) == {k: 0 for k in counts(workspace)}


def test_update_changes_given_fields(kind: str, member: APIClient, base: str,
                                     workspace: Workspace) -> None:
    category = make_category(workspace, CATEGORY_TYPE_OF[kind], "C")
    obj = make(kind, workspace, "Before", tags=["old"], category=category)
    response = member.put(f"{base}/{kind}/{obj.id}",
                          {"name": "After", "tags": ["x", "y"], "isStarred": True},
                          format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["name"], body["tags"], body["isStarred"]) == ("After", ["x", "y"], True)
    assert body["category"] == {"id": str(category.id), "name": "C"}  # untouched
    row = _row(kind, obj.id)
    assert (row.name, row.tags, row.is_starred, row.category_id) == (
        "After", ["x", "y"], True, category.id)


def test_update_can_move_and_clear_the_category(kind: str, member: APIClient, base: str,
                                                workspace: Workspace) -> None:
    first = make_category(workspace, CATEGORY_TYPE_OF[kind], "first")
    second = make_category(workspace, CATEGORY_TYPE_OF[kind], "second")
    obj = make(kind, workspace, "o", category=first)
    moved = member.put(f"{base}/{kind}/{obj.id}", {"categoryId": str(second.id)},
                       format="json").json()
    assert moved["category"] == {"id": str(second.id), "name": "second"}
    cleared = member.put(f"{base}/{kind}/{obj.id}", {"categoryId": None},
                         format="json").json()
    assert cleared["categoryId"] is None and cleared["category"] is None
    assert _row(kind, obj.id).category_id is None


@pytest.mark.parametrize(("body", "message"), [
    ({"name": ""}, "name should not be empty"),
    ({"name": None}, "name should not be empty"),
    ({"name": 1}, "name must be a string"),
    ({"name": "x" * 256}, "name must be shorter than or equal to 255 characters"),
    ({"isStarred": "yes"}, "isStarred must be a boolean value"),
    ({"tags": "a,b"}, "tags must be an array"),
    ({"tags": ["a", 1]}, "each value in tags must be a string"),
    ({"categoryId": "12"}, "categoryId must be a UUID"),
])
def test_update_rejects_bad_values(kind: str, body: dict[str, Any], message: str,
                                   member: APIClient, base: str,
                                   workspace: Workspace) -> None:
    obj = make(kind, workspace, "same")
    before = snapshot(workspace)
    response = member.put(f"{base}/{kind}/{obj.id}", body, format="json")
    assert response.status_code == 400
    assert problems(response) == [message]
    assert snapshot(workspace) == before


def test_soft_delete_restore_and_permanent_delete(kind: str, member: APIClient,
                                                  admin: APIClient, base: str,
                                                  workspace: Workspace) -> None:
    obj = make(kind, workspace, "cycle")
    deleted = member.delete(f"{base}/{kind}/{obj.id}")
    assert deleted.status_code == 200
    assert deleted.json() == {"success": True, "message": f"{LABELS[kind]} moved to recycle bin"}
    row = _row(kind, obj.id)
    assert row.is_deleted and row.deleted_at is not None
    assert member.get(f"{base}/{kind}").json()["total"] == 0
    binned = member.get(f"{base}/{kind}", {"isDeleted": "true"}).json()
    assert [o["id"] for o in binned["items"]] == [str(obj.id)]
    assert binned["items"][0]["isDeleted"] is True and binned["items"][0]["deletedAt"]

    restored = member.post(f"{base}/{kind}/{obj.id}/restore")
    assert restored.status_code == 200
    assert restored.json()["id"] == str(obj.id)
    assert restored.json()["isDeleted"] is False and restored.json()["deletedAt"] is None
    assert [o["id"] for o in member.get(f"{base}/{kind}").json()["items"]] == [str(obj.id)]
    assert member.get(f"{base}/{kind}", {"isDeleted": "true"}).json()["total"] == 0

    gone = admin.delete(f"{base}/{kind}/{obj.id}/permanent")
    assert gone.status_code == 200
    assert gone.json() == {"success": True, "message": f"{LABELS[kind]} permanently deleted"}
    assert not MODELS[kind]._default_manager.filter(pk=obj.pk).exists()
    missing = member.get(f"{base}/{kind}/{obj.id}")
    assert missing.status_code == 404 and missing.json()["message"] == NOT_FOUND[kind]


def test_soft_delete_twice_keeps_the_first_date(kind: str, member: APIClient, base: str,
                                                workspace: Workspace) -> None:
    obj = make(kind, workspace, "twice")
    member.delete(f"{base}/{kind}/{obj.id}")
    first = _row(kind, obj.id).deleted_at
    assert member.delete(f"{base}/{kind}/{obj.id}").status_code == 200
    assert _row(kind, obj.id).deleted_at == first


def test_use_counts_and_stamps(kind: str, member: APIClient, base: str,
                               workspace: Workspace) -> None:
    obj = make(kind, workspace, "used")
    first = member.post(f"{base}/{kind}/{obj.id}/use")
    assert first.status_code == 200
    assert first.json()["usageCount"] == 1 and ISO.match(first.json()["lastUsedAt"])
    second = member.post(f"{base}/{kind}/{obj.id}/use").json()
    assert second["usageCount"] == 2 and second["lastUsedAt"] >= first.json()["lastUsedAt"]
    row = _row(kind, obj.id)
    assert row.usage_count == 2 and row.last_used_at is not None


@pytest.mark.parametrize("object_id", ["00000000-0000-0000-0000-000000000000", "nope", "7"])
@pytest.mark.parametrize(("method", "suffix"), [
    ("get", ""), ("put", ""), ("delete", ""), ("post", "/restore"),
    ("delete", "/permanent"), ("post", "/use")])
def test_unknown_object_is_404(kind: str, object_id: str, method: str, suffix: str,
                               admin: APIClient, base: str) -> None:
    response = getattr(admin, method)(f"{base}/{kind}/{object_id}{suffix}", {"name": "n"},
                                      format="json")
    assert response.status_code == 404
    assert response.json() == {"statusCode": 404, "message": NOT_FOUND[kind],
                               "error": "Not Found"}


def test_an_id_of_another_kind_is_404(kind: str, member: APIClient, base: str,
                                      workspace: Workspace) -> None:
    others = [k for k in KIND_KEYS if k != kind]
    for other in others:
        obj = make(other, workspace, "elsewhere")
        response = member.get(f"{base}/{kind}/{obj.id}")
        assert response.status_code == 404 and response.json()["message"] == NOT_FOUND[kind]


def test_list_pages(kind: str, viewer: APIClient, base: str, workspace: Workspace) -> None:
    make_many(kind, workspace, 105)
    default = viewer.get(f"{base}/{kind}").json()
    assert (len(default["items"]), default["total"], default["limit"], default["offset"]) == (
        50, 105, 50, 0)
    full = viewer.get(f"{base}/{kind}", {"limit": 100}).json()
    assert len(full["items"]) == 100 and full["limit"] == 100
    tail = viewer.get(f"{base}/{kind}", {"limit": 10, "offset": 100}).json()
    assert (len(tail["items"]), tail["total"], tail["offset"]) == (5, 105, 100)
    beyond = viewer.get(f"{base}/{kind}", {"offset": 500}).json()
    assert beyond["items"] == [] and beyond["total"] == 105
    # newest first by default: pages do not overlap and cover everything
    first = viewer.get(f"{base}/{kind}", {"limit": 60}).json()["items"]
    second = viewer.get(f"{base}/{kind}", {"limit": 60, "offset": 60}).json()["items"]
    names = [o["name"] for o in first + second]
    assert names == [f"obj {i:03}" for i in reversed(range(105))]


@pytest.mark.parametrize(("params", "message"), [
    ({"limit": 101}, "limit must not be greater than 100"),
    ({"limit": 0}, "limit must not be less than 1"),
    ({"limit": -3}, "limit must not be less than 1"),
    ({"limit": "ten"}, "limit must be an integer number"),
    ({"offset": -1}, "offset must not be less than 0"),
    ({"categoryId": "zzz"}, "categoryId must be a UUID"),
    ({"isStarred": "maybe"}, "isStarred must be a boolean value"),
    ({"isDeleted": "yes please"}, "isDeleted must be a boolean value"),
])
def test_list_rejects_bad_queries(kind: str, params: dict[str, Any], message: str,
                                  viewer: APIClient, base: str) -> None:
    response = viewer.get(f"{base}/{kind}", params)
    assert response.status_code == 400
    assert problems(response) == [message]


def test_list_reports_every_bad_query_at_once(kind: str, viewer: APIClient,
                                              base: str) -> None:
    response = viewer.get(f"{base}/{kind}", {"limit": "0", "isStarred": "x"})
    assert problems(response) == ["limit must not be less than 1",
                                           "isStarred must be a boolean value"]


def test_list_filters_starred_and_category(kind: str, viewer: APIClient, base: str,
                                           workspace: Workspace) -> None:
    category = make_category(workspace, CATEGORY_TYPE_OF[kind], "C")
    starred = make(kind, workspace, "starred", is_starred=True)
    filed = make(kind, workspace, "filed", category=category)
    make(kind, workspace, "binned starred", is_starred=True, is_deleted=True)

    def names(**params: Any) -> list[str]:
        return [o["name"] for o in viewer.get(f"{base}/{kind}", params).json()["items"]]

    assert names(isStarred="true") == [starred.name]
    assert names(isStarred="false") == [filed.name]
    assert names(categoryId=str(category.id)) == [filed.name]
    assert names(isDeleted="true", isStarred="true") == ["binned starred"]
    assert sorted(names()) == ["filed", "starred"]


SECOND_FIELD: dict[str, dict[str, Any]] = {
    "items": {"description": "The big SALE of summer"},
    "templates": {"description": "For a sale"},
    "snippets": {"content": "Everything on SaLe"},
    "links": {"description": "sale announcements"},
}


def test_search_is_case_insensitive_over_its_fields(kind: str, viewer: APIClient, base: str,
                                                    workspace: Workspace) -> None:
    make(kind, workspace, "Summer SALE banner")
    make(kind, workspace, "Second", **SECOND_FIELD[kind])
    make(kind, workspace, "Unrelated")
    make(kind, workspace, "Binned sale", is_deleted=True)
    found = viewer.get(f"{base}/{kind}", {"search": "sAlE"}).json()
    assert found["total"] == 2
    assert sorted(o["name"] for o in found["items"]) == ["Second", "Summer SALE banner"]
    assert viewer.get(f"{base}/{kind}", {"search": "mmer sa"}).json()["total"] == 1
    assert viewer.get(f"{base}/{kind}", {"search": "nothing-like-it"}).json()["total"] == 0


def test_search_wildcards_are_literal(kind: str, viewer: APIClient, base: str,
                                      workspace: Workspace) -> None:
    make(kind, workspace, "100% cotton")
    make(kind, workspace, "1000 cotton")
    make(kind, workspace, "a_b")
    make(kind, workspace, "axb")
    assert [o["name"] for o in viewer.get(f"{base}/{kind}",
                                          {"search": "0%"}).json()["items"]] == ["100% cotton"]
    assert [o["name"] for o in viewer.get(f"{base}/{kind}",
                                          {"search": "a_b"}).json()["items"]] == ["a_b"]
