"""Templates: the content object checked field by field, the type and platform filters,
and cloning (a deep copy)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from rest_framework.test import APIClient

from apps.accounts.models import Membership, Role, Workspace
from media_library.models import Template
from tests.media_library.factories import (
    CONTENT,
    FORBIDDEN,
    counts,
    make_category,
    make_template,
    problems,
    snapshot,
    template_body,
)


def test_create_keeps_the_content(member: APIClient, base: str) -> None:
    body = template_body(description="For launches", platforms=["instagram", "facebook"],
                         thumbnailUrl="https://cdn.example.com/t.png", tags=["launch"])
    response = member.post(f"{base}/templates", body, format="json")
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["content"] == CONTENT
    assert (created["templateType"], created["platforms"], created["thumbnailUrl"],
            created["description"]) == ("post", ["instagram", "facebook"],
                                        "https://cdn.example.com/t.png", "For launches")
    assert Template.objects.get(pk=created["id"]).content == CONTENT


def test_content_keeps_only_the_spec_fields(member: APIClient, base: str) -> None:
    content = copy.deepcopy(CONTENT)
    content["script"] = "<script>"
    content["mediaSlots"][0]["extra"] = True
    del content["defaultCaption"]
    created = member.post(f"{base}/templates", template_body(content=content),
                          format="json").json()
    stored = Template.objects.get(pk=created["id"]).content
    assert set(stored) == {"text", "mediaSlots", "hashtags"}
    assert set(stored["mediaSlots"][0]) == {"id", "label", "required", "acceptedTypes"}
    assert created["content"] == stored


def test_empty_media_slots_and_hashtags_are_fine(member: APIClient, base: str) -> None:
    content = {"text": "", "mediaSlots": [], "hashtags": []}
    response = member.post(f"{base}/templates", template_body(content=content), format="json")
    assert response.status_code == 201
    assert response.json()["content"] == content


def _content(**over: Any) -> dict[str, Any]:
    content = copy.deepcopy(CONTENT)
    for key, value in over.items():
        if value is ...:
            del content[key]
        else:
            content[key] = value
    return content


def _slot(**over: Any) -> dict[str, Any]:
    slot: dict[str, Any] = {"id": "s", "label": "Slot", "required": False,
                            "acceptedTypes": ["video"]}
    for key, value in over.items():
        if value is ...:
            del slot[key]
        else:
            slot[key] = value
    return slot


SLOT_TYPES = "content.mediaSlots.0.acceptedTypes must be a non-empty array of: image, video, gif"


@pytest.mark.parametrize(("content", "messages"), [
    (None, ["content should not be empty"]),
    ("text", ["content must be an object"]),
    (_content(text=...), ["content.text should not be empty"]),
    (_content(text=5), ["content.text must be a string"]),
    (_content(mediaSlots=...), ["content.mediaSlots should not be empty"]),
    (_content(mediaSlots={"id": "x"}), ["content.mediaSlots must be an array"]),
    (_content(hashtags=...), ["content.hashtags should not be empty"]),
    (_content(hashtags="#a"), ["content.hashtags must be an array"]),
    (_content(hashtags=["a", 2]), ["each value in content.hashtags must be a string"]),
    (_content(defaultCaption=3), ["content.defaultCaption must be a string"]),
    (_content(mediaSlots=["slot"]), ["content.mediaSlots.0 must be an object"]),
    (_content(mediaSlots=[_slot(id=...)]), ["content.mediaSlots.0.id should not be empty"]),
    (_content(mediaSlots=[_slot(label=...)]),
     ["content.mediaSlots.0.label should not be empty"]),
    (_content(mediaSlots=[_slot(required=...)]),
     ["content.mediaSlots.0.required should not be empty"]),
    (_content(mediaSlots=[_slot(required="yes")]),
     ["content.mediaSlots.0.required must be a boolean value"]),
    (_content(mediaSlots=[_slot(acceptedTypes=...)]),
     ["content.mediaSlots.0.acceptedTypes should not be empty"]),
    (_content(mediaSlots=[_slot(acceptedTypes=[])]), [SLOT_TYPES]),
    (_content(mediaSlots=[_slot(acceptedTypes=["document"])]), [SLOT_TYPES]),
    (_content(mediaSlots=[_slot(acceptedTypes=["image", "audio"])]), [SLOT_TYPES]),
    (_content(mediaSlots=[_slot(), _slot()]), ["content.mediaSlots.1.id must be unique"]),
    (_content(text=1, hashtags=...), ["content.text must be a string",
                                      "content.hashtags should not be empty"]),
])
def test_content_is_checked_exactly(content: Any, messages: list[str], member: APIClient,
                                    base: str, workspace: Workspace) -> None:
    response = member.post(f"{base}/templates", template_body(content=content), format="json")
    assert response.status_code == 400, response.content
    assert problems(response) == messages
    assert counts(workspace)["Template"] == 0


@pytest.mark.parametrize(("over", "message"), [
    ({"templateType": "tweet"},
     "templateType must be one of the following values: post, story, reel, carousel"),
    ({"templateType": None}, "templateType should not be empty"),
    ({"name": ""}, "name should not be empty"),
    ({"platforms": "instagram"}, "platforms must be an array"),
    ({"platforms": [f"p{i}" for i in range(21)]}, "platforms must contain no more than 20 "
                                                  "elements"),
    ({"thumbnailUrl": "not a url"}, "thumbnailUrl must be a URL address"),
])
def test_create_checks_the_other_fields(over: dict[str, Any], message: str,
                                        member: APIClient, base: str,
                                        workspace: Workspace) -> None:
    response = member.post(f"{base}/templates", template_body(**over), format="json")
    assert response.status_code == 400
    assert problems(response) == [message]
    assert counts(workspace)["Template"] == 0


def test_update_replaces_the_content_after_checking_it(member: APIClient, base: str,
                                                       workspace: Workspace) -> None:
    row = make_template(workspace, "t")
    new = {"text": "New {{x}}", "hashtags": ["n"], "mediaSlots": [
        {"id": "a", "label": "A", "required": False, "acceptedTypes": ["gif", "video"]}]}
    response = member.put(f"{base}/templates/{row.id}", {"content": new,
                                                         "templateType": "reel"},
                          format="json")
    assert response.status_code == 200
    assert response.json()["content"] == new and response.json()["templateType"] == "reel"
    row.refresh_from_db()
    assert row.content == new
    before = snapshot(workspace)
    bad = member.put(f"{base}/templates/{row.id}", {"content": {"text": "only"}},
                     format="json")
    assert bad.status_code == 400
    assert problems(bad) == ["content.mediaSlots should not be empty",
                                     "content.hashtags should not be empty"]
    nulled = member.put(f"{base}/templates/{row.id}", {"content": None}, format="json")
    assert nulled.status_code == 400
    assert snapshot(workspace) == before


def test_update_without_content_keeps_it(member: APIClient, base: str,
                                         workspace: Workspace) -> None:
    row = make_template(workspace, "t")
    response = member.put(f"{base}/templates/{row.id}", {"name": "renamed"}, format="json")
    assert response.status_code == 200
    row.refresh_from_db()
    assert row.content == CONTENT and row.name == "renamed"


def test_filters(viewer: APIClient, base: str, workspace: Workspace) -> None:
    make_template(workspace, "story ig", template_type="story", platforms=["instagram"])
    make_template(workspace, "post ig fb", template_type="post",
                  platforms=["instagram", "facebook"])
    make_template(workspace, "reel tt", template_type="reel", platforms=["tiktok"])

    def names(**params: str) -> list[str]:
        response = viewer.get(f"{base}/templates", params)
        assert response.status_code == 200, response.content
        return sorted(o["name"] for o in response.json()["items"])

    assert names(templateType="story") == ["story ig"]
    assert names(platform="instagram") == ["post ig fb", "story ig"]
    assert names(platform="facebook", templateType="post") == ["post ig fb"]
    assert names(platform="linkedin") == []
    bad = viewer.get(f"{base}/templates", {"templateType": "tweet"})
    assert bad.status_code == 400
    assert problems(bad) == [
        "templateType must be one of the following values: post, story, reel, carousel"]


# -- clone -------------------------------------------------------------------------------


@pytest.fixture
def original(workspace: Workspace) -> Template:
    category = make_category(workspace, "template", "Launches")
    return make_template(workspace, "Launch", description="d", platforms=["instagram"],
                         tags=["a"], category=category, is_starred=True, usage_count=7,
                         thumbnail_url="https://cdn.example.com/t.png")


def test_clone_is_a_fresh_copy(original: Template, member: APIClient, base: str,
                               workspace: Workspace) -> None:
    response = member.post(f"{base}/templates/{original.id}/clone", {}, format="json")
    assert response.status_code == 201
    clone = response.json()
    assert clone["id"] != str(original.id)
    assert clone["name"] == "Copy of Launch"
    assert (clone["isStarred"], clone["usageCount"], clone["lastUsedAt"],
            clone["isDeleted"]) == (False, 0, None, False)
    assert (clone["content"], clone["platforms"], clone["tags"], clone["templateType"],
            clone["description"], clone["thumbnailUrl"]) == (
        original.content, ["instagram"], ["a"], "post", "d", "https://cdn.example.com/t.png")
    assert clone["category"] == {"id": str(original.category_id), "name": "Launches"}
    member_id = Membership.objects.get(workspace=workspace, role=Role.MEMBER).user_id
    assert clone["createdById"] == str(member_id)
    assert Template.objects.count() == 2


def test_clone_takes_a_given_name(original: Template, member: APIClient, base: str) -> None:
    clone = member.post(f"{base}/templates/{original.id}/clone", {"name": "Mine"},
                        format="json").json()
    assert clone["name"] == "Mine"
    bare = member.post(f"{base}/templates/{original.id}/clone")
    assert bare.status_code == 201 and bare.json()["name"] == "Copy of Launch"


def test_clone_rejects_a_bad_name(original: Template, member: APIClient, base: str) -> None:
    for name, message in [("", "name should not be empty"), (5, "name must be a string")]:
        response = member.post(f"{base}/templates/{original.id}/clone", {"name": name},
                               format="json")
        assert response.status_code == 400 and problems(response) == [message]
    assert Template.objects.count() == 1


def test_clone_is_deep(original: Template, member: APIClient, base: str) -> None:
    clone = member.post(f"{base}/templates/{original.id}/clone", {}, format="json").json()
    changed = copy.deepcopy(CONTENT)
    changed["mediaSlots"][0]["acceptedTypes"] = ["video"]
    changed["hashtags"].append("more")
    response = member.put(f"{base}/templates/{clone['id']}",
                          {"content": changed, "platforms": ["x"], "tags": ["b"]},
                          format="json")
    assert response.status_code == 200
    original.refresh_from_db()
    assert original.content == CONTENT
    assert original.platforms == ["instagram"] and original.tags == ["a"]
    assert member.get(f"{base}/templates/{original.id}").json()["content"] == CONTENT


def test_clone_of_an_unknown_template_is_404(member: APIClient, base: str,
                                             workspace: Workspace) -> None:
    item = make_template(workspace, "t")
    for target in ("00000000-0000-0000-0000-000000000000", "bad-id"):
        response = member.post(f"{base}/templates/{target}/clone", {}, format="json")
        assert response.status_code == 404
        assert response.json()["message"] == "Template not found"
    assert Template.objects.filter(pk=item.pk).count() == Template.objects.count() == 1


def test_viewer_cannot_clone(original: Template, viewer: APIClient, base: str) -> None:
    response = viewer.post(f"{base}/templates/{original.id}/clone", {}, format="json")
    assert response.status_code == 403 and response.json() == FORBIDDEN
    assert Template.objects.count() == 1
