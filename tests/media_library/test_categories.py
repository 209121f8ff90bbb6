"""Categories: create (appended per type), list, grouped, get, update, delete (objects
stay, uncategorised), reorder (exactly the type's categories)."""

from __future__ import annotations

import re
import uuid

import pytest
from rest_framework.test import APIClient

from apps.accounts.models import Workspace
from media_library.models import Category
from tests.media_library.factories import (
    CATEGORY_TYPE_OF,
    CATEGORY_TYPES,
    MODELS,
    counts,
    make,
    make_category,
    problems,
    snapshot,
)
from tests.media_library.routes import KIND_KEYS

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def test_create_returns_every_field(member: APIClient, base: str,
                                    workspace: Workspace) -> None:
    response = member.post(f"{base}/categories", {
        "name": "Marketing Images", "description": "Campaigns", "type": "image",
        "color": "#FF5733", "icon": "folder", "unknown": "ignored"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body == {**body, "workspaceId": str(workspace.id), "name": "Marketing Images",
                    "description": "Campaigns", "type": "image", "color": "#FF5733",
                    "icon": "folder", "displayOrder": 0}
    assert ISO.match(body["createdAt"]) and ISO.match(body["updatedAt"])
    assert "unknown" not in body
    row = Category.objects.get(pk=body["id"])
    assert row.workspace_id == workspace.id and row.name == "Marketing Images"


def test_optional_fields_default_to_null(member: APIClient, base: str) -> None:
    body = member.post(f"{base}/categories", {"name": "Bare", "type": "link"},
                       format="json").json()
    assert body["description"] is None and body["color"] is None and body["icon"] is None


def test_display_order_is_appended_per_type(member: APIClient, base: str) -> None:
    orders = []
    for name, type_ in [("a", "image"), ("b", "video"), ("c", "image"), ("d", "image"),
                        ("e", "video"), ("f", "template")]:
        orders.append(member.post(f"{base}/categories", {"name": name, "type": type_},
                                  format="json").json()["displayOrder"])
    assert orders == [0, 0, 1, 2, 1, 0]


def test_display_order_follows_the_last_even_after_gaps(member: APIClient, base: str,
                                                        workspace: Workspace) -> None:
    make_category(workspace, "gif", "x", display_order=7)
    body = member.post(f"{base}/categories", {"name": "next", "type": "gif"},
                       format="json").json()
    assert body["displayOrder"] == 8


def test_list_filters_by_type_in_display_order(viewer: APIClient, base: str,
                                               workspace: Workspace) -> None:
    second = make_category(workspace, "image", "second", display_order=1)
    first = make_category(workspace, "image", "first", display_order=0)
    make_category(workspace, "video", "video")
    images = viewer.get(f"{base}/categories", {"type": "image"}).json()
    assert [c["id"] for c in images] == [str(first.id), str(second.id)]
    assert len(viewer.get(f"{base}/categories").json()) == 3
    assert viewer.get(f"{base}/categories", {"type": "link"}).json() == []


def test_list_rejects_an_unknown_type(viewer: APIClient, base: str) -> None:
    response = viewer.get(f"{base}/categories", {"type": "audio"})
    assert response.status_code == 400
    assert problems(response) == [
        "type must be one of the following values: image, video, gif, document, template, "
        "text_snippet, link"]


def test_grouped_has_every_type_even_empty(viewer: APIClient, base: str,
                                           workspace: Workspace) -> None:
    empty = viewer.get(f"{base}/categories/grouped").json()
    assert empty == {t: [] for t in CATEGORY_TYPES}
    b = make_category(workspace, "video", "B", display_order=1)
    a = make_category(workspace, "video", "A", display_order=0)
    make_category(workspace, "text_snippet", "S")
    grouped = viewer.get(f"{base}/categories/grouped").json()
    assert set(grouped) == set(CATEGORY_TYPES)
    assert [(c["id"], c["name"], c["displayOrder"]) for c in grouped["video"]] == [
        (str(a.id), "A", 0), (str(b.id), "B", 1)]
    assert len(grouped["text_snippet"]) == 1 and grouped["image"] == []


def test_get_one(viewer: APIClient, base: str, workspace: Workspace) -> None:
    row = make_category(workspace, "document", "Docs", color="#000")
    body = viewer.get(f"{base}/categories/{row.id}").json()
    assert body["id"] == str(row.id) and body["name"] == "Docs" and body["color"] == "#000"
    assert body["type"] == "document"


@pytest.mark.parametrize("category_id", ["5f0e2b7a-3c1d-4e8f-9a6b-2d4c8e1f7a90", "nope", "123"])
@pytest.mark.parametrize("method", ["get", "put", "delete"])
def test_unknown_category_is_404(category_id: str, method: str, member: APIClient,
                                 base: str) -> None:
    response = getattr(member, method)(f"{base}/categories/{category_id}", {"name": "x"},
                                       format="json")
    assert response.status_code == 404
    assert response.json() == {"statusCode": 404, "message": "Category not found",
                               "error": "Not Found"}


def test_update_changes_only_given_fields(member: APIClient, base: str,
                                          workspace: Workspace) -> None:
    row = make_category(workspace, "image", "Old", description="keep", color="#111",
                        icon="star")
    response = member.put(f"{base}/categories/{row.id}",
                          {"name": "New", "color": None, "displayOrder": 4, "type": "video"},
                          format="json")
    assert response.status_code == 200
    body = response.json()
    assert (body["name"], body["description"], body["color"], body["icon"],
            body["displayOrder"], body["type"]) == ("New", "keep", None, "star", 4, "image")
    row.refresh_from_db()
    assert (row.name, row.color, row.display_order, row.type) == ("New", None, 4, "image")


@pytest.mark.parametrize(("body", "message"), [
    ({"name": ""}, "name should not be empty"),
    ({"name": None}, "name should not be empty"),
    ({"name": "x" * 101}, "name must be shorter than or equal to 100 characters"),
    ({"color": "x" * 21}, "color must be shorter than or equal to 20 characters"),
    ({"icon": 3}, "icon must be a string"),
    ({"displayOrder": -1}, "displayOrder must not be less than 0"),
    ({"displayOrder": "1"}, "displayOrder must be an integer number"),
])
def test_update_rejects_bad_values(body: dict[str, object], message: str, member: APIClient,
                                   base: str, workspace: Workspace) -> None:
    row = make_category(workspace, "image", "Same")
    before = snapshot(workspace)
    response = member.put(f"{base}/categories/{row.id}", body, format="json")
    assert response.status_code == 400
    assert problems(response) == [message]
    assert snapshot(workspace) == before


def test_delete_keeps_objects_uncategorised(member: APIClient, base: str,
                                            workspace: Workspace) -> None:
    objects = {}
    for kind in KIND_KEYS:
        category = make_category(workspace, CATEGORY_TYPE_OF[kind], kind)
        objects[kind] = (category, make(kind, workspace, kind, category=category))
    live_before = counts(workspace)
    for kind, (category, obj) in objects.items():
        response = member.delete(f"{base}/categories/{category.id}")
        assert response.status_code == 200
        assert response.json() == {"success": True, "message": "Category deleted successfully"}
        body = member.get(f"{base}/{kind}/{obj.id}").json()
        assert body["categoryId"] is None and body["category"] is None
        assert body["isDeleted"] is False
        assert MODELS[kind]._default_manager.filter(pk=obj.pk).values_list(
            "category_id", flat=True).get() is None
    after = counts(workspace)
    assert after["Category"] == 0
    assert {k: v for k, v in after.items() if k != "Category"} == {
        k: v for k, v in live_before.items() if k != "Category"}
    assert member.get(f"{base}/categories/{objects['items'][0].id}").status_code == 404


def test_deleting_a_category_leaves_binned_objects_restorable(
        member: APIClient, base: str, workspace: Workspace) -> None:
    category = make_category(workspace, "image", "c")
    item = make("items", workspace, "i", category=category)
    member.delete(f"{base}/items/{item.id}")
    member.delete(f"{base}/categories/{category.id}")
    restored = member.post(f"{base}/items/{item.id}/restore")
    assert restored.status_code == 200
    assert restored.json()["category"] is None and restored.json()["isDeleted"] is False


# -- reorder ------------------------------------------------------------------------------


@pytest.fixture
def three(workspace: Workspace) -> list[Category]:
    return [make_category(workspace, "image", name, display_order=n)
            for n, name in enumerate("abc")]


def _order(workspace: Workspace, type_: str = "image") -> list[str]:
    return [str(pk) for pk in Category.objects.filter(workspace=workspace, type=type_)
            .order_by("display_order").values_list("id", flat=True)]


def test_reorder_sets_the_listed_order(three: list[Category], member: APIClient, base: str,
                                       workspace: Workspace) -> None:
    other_type = make_category(workspace, "video", "v", display_order=0)
    wanted = [str(three[2].id), str(three[0].id), str(three[1].id)]
    response = member.post(f"{base}/categories/reorder",
                           {"type": "image", "categoryIds": wanted}, format="json")
    assert response.status_code == 200
    assert response.json() == {"success": True, "message": "Categories reordered successfully"}
    listed = member.get(f"{base}/categories", {"type": "image"}).json()
    assert [c["id"] for c in listed] == wanted
    assert [c["displayOrder"] for c in listed] == [0, 1, 2]
    other_type.refresh_from_db()
    assert other_type.display_order == 0
    created = member.post(f"{base}/categories", {"name": "d", "type": "image"},
                          format="json").json()
    assert created["displayOrder"] == 3


def test_reorder_of_an_empty_type_with_an_empty_list(member: APIClient, base: str) -> None:
    response = member.post(f"{base}/categories/reorder",
                           {"type": "link", "categoryIds": []}, format="json")
    assert response.status_code == 200


@pytest.mark.parametrize("case", ["missing", "extra_other_type", "unknown", "empty",
                                  "malformed", "not_a_list", "no_type", "bad_type"])
def test_reorder_must_list_exactly_the_types_categories(
        case: str, three: list[Category], member: APIClient, base: str,
        workspace: Workspace) -> None:
    video = make_category(workspace, "video", "v")
    ids = [str(c.id) for c in reversed(three)]
    body: dict[str, object] = {"type": "image", "categoryIds": {
        "missing": ids[:2],
        "extra_other_type": [*ids, str(video.id)],
        "unknown": [*ids, str(uuid.uuid4())],
        "empty": [],
        "malformed": [*ids[:2], "not-a-uuid"],
        "not_a_list": ids[0],
        "no_type": ids,
        "bad_type": ids,
    }[case]}
    if case == "no_type":
        del body["type"]
    if case == "bad_type":
        body["type"] = "photo"
    before = snapshot(workspace)
    response = member.post(f"{base}/categories/reorder", body, format="json")
    assert response.status_code == 400, response.content
    assert problems(response)
    assert snapshot(workspace) == before


def test_reorder_rejects_a_repeated_id(three: list[Category], member: APIClient, base: str,
                                       workspace: Workspace) -> None:
    ids = [str(three[1].id), str(three[0].id), str(three[1].id), str(three[2].id)]
    before = snapshot(workspace)
    response = member.post(f"{base}/categories/reorder",
                           {"type": "image", "categoryIds": ids}, format="json")
    assert response.status_code == 400
    assert snapshot(workspace) == before


@pytest.mark.parametrize(("body", "messages"), [
    ({}, ["name should not be empty", "type should not be empty"]),
    ({"name": 5, "type": "audio"}, [
        "name must be a string",
        "type must be one of the following values: image, video, gif, document, template, "
        "text_snippet, link"]),
    ({"name": "   ", "type": "image"}, ["name should not be empty"]),
    ({"name": "x" * 101, "type": "image"},
     ["name must be shorter than or equal to 100 characters"]),
    ({"name": "ok", "type": "image", "color": "x" * 21, "icon": "y" * 51,
      "description": ["no"]},
     ["description must be a string", "color must be shorter than or equal to 20 characters",
      "icon must be shorter than or equal to 50 characters"]),
])
def test_create_rejects_bad_bodies(body: dict[str, object], messages: list[str],
                                   member: APIClient, base: str,
                                   workspace: Workspace) -> None:
    response = member.post(f"{base}/categories", body, format="json")
    assert response.status_code == 400
    assert problems(response) == messages
    assert counts(workspace)["Category"] == 0


def test_name_of_exactly_100_characters_is_fine(member: APIClient, base: str) -> None:
    response = member.post(f"{base}/categories", {"name": "x" * 100, "type": "image"},
                           format="json")
    assert response.status_code == 201
