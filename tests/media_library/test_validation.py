"""Input that could upset the database or the parsers is a 400 listing the problem, never
a 500, and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from apps.accounts.models import Workspace
from tests.media_library.factories import (
    CREATE_BODIES,
    counts,
    item_body,
    make,
    problems,
    snapshot,
)
from tests.media_library.routes import KIND_KEYS


@pytest.mark.parametrize("kind", KIND_KEYS)
@pytest.mark.parametrize("field", ["name", "description", "tags"])
def test_nul_characters_are_refused(kind: str, field: str, member: APIClient, base: str,
                                    workspace: Workspace) -> None:
    if field == "description" and kind == "snippets":
        field = "content"
    value: Any = ["a\x00b"] if field == "tags" else "a\x00b"
    response = member.post(f"{base}/{kind}", CREATE_BODIES[kind](**{field: value}),
                           format="json")
    assert response.status_code == 400, response.content
    message = problems(response)
    assert len(message) == 1
    assert message[0].startswith(f"{field} ") or message[0].startswith(
        f"each value in {field} ")
    assert sum(counts(workspace).values()) == 0


def test_nul_in_template_content_is_refused(member: APIClient, base: str,
                                            workspace: Workspace) -> None:
    body = CREATE_BODIES["templates"]()
    body["content"]["text"] = "x\x00"
    response = member.post(f"{base}/templates", body, format="json")
    assert response.status_code == 400
    assert problems(response) == ["content.text must not contain NUL characters"]
    assert counts(workspace)["Template"] == 0


def test_nul_in_a_category_is_refused(member: APIClient, base: str,
                                      workspace: Workspace) -> None:
    response = member.post(f"{base}/categories", {"name": "a\x00", "type": "image"},
                           format="json")
    assert response.status_code == 400
    assert counts(workspace)["Category"] == 0


@pytest.mark.parametrize("kind", KIND_KEYS)
def test_nul_or_overlong_search_is_400(kind: str, viewer: APIClient, base: str) -> None:
    nul = viewer.get(f"{base}/{kind}", {"search": "a\x00"})
    assert nul.status_code == 400
    long = viewer.get(f"{base}/{kind}", {"search": "s" * 201})
    assert long.status_code == 400
    assert problems(long) == ["search must be shorter than or equal to 200 characters"]
    assert viewer.get(f"{base}/{kind}", {"search": "s" * 200}).status_code == 200


@pytest.mark.parametrize(("over", "message"), [
    ({"width": 2**31}, "width must not be greater than 2147483647"),
    ({"fileSize": 2**63}, "fileSize must not be greater than 9223372036854775807"),
    ({"duration": -5}, "duration must not be less than 0"),
    ({"fileUrl": "https://example.com/" + "a" * 2048}, "fileUrl must be a URL address"),
    ({"fileUrl": "http://example.com:99999/"}, "fileUrl must be a URL address"),
])
def test_numbers_and_urls_stay_within_the_columns(over: dict[str, Any], message: str,
                                                  member: APIClient, base: str,
                                                  workspace: Workspace) -> None:
    response = member.post(f"{base}/items", item_body(**over), format="json")
    assert response.status_code == 400
    assert problems(response) == [message]
    assert counts(workspace)["MediaItem"] == 0


@pytest.mark.parametrize("params", [
    {"limit": "99999999999999999999"}, {"offset": "1000000001"}, {"limit": "1.5"},
    {"offset": "1e3"}])
def test_absurd_paging_is_400(params: dict[str, str], viewer: APIClient, base: str) -> None:
    response = viewer.get(f"{base}/items", params)
    assert response.status_code == 400
    assert problems(response)


@pytest.mark.parametrize("kind", KIND_KEYS)
def test_malformed_json_is_400(kind: str, member: APIClient, base: str,
                               workspace: Workspace) -> None:
    obj = make(kind, workspace, "same")
    before = snapshot(workspace)
    for method, path in [("post", f"{base}/{kind}"), ("put", f"{base}/{kind}/{obj.id}")]:
        response = getattr(member, method)(path, data='{"name": ',
                                           content_type="application/json")
        assert response.status_code == 400
        assert response.json()["statusCode"] == 400
    assert snapshot(workspace) == before


@pytest.mark.parametrize("kind", KIND_KEYS)
def test_a_body_that_is_not_an_object_is_400(kind: str, member: APIClient, base: str,
                                             workspace: Workspace) -> None:
    obj = make(kind, workspace, "same")
    before = snapshot(workspace)
    for body in ([CREATE_BODIES[kind]()], "text", 5):
        created = member.post(f"{base}/{kind}", body, format="json")
        assert created.status_code == 400
        updated = member.put(f"{base}/{kind}/{obj.id}", body, format="json")
        assert updated.status_code == 400
        assert problems(updated)
    assert snapshot(workspace) == before


def test_empty_update_changes_nothing_but_succeeds(member: APIClient, base: str,
                                                   workspace: Workspace) -> None:
    for kind in KIND_KEYS:
        obj = make(kind, workspace, "same", tags=["k"])
        response = member.put(f"{base}/{kind}/{obj.id}", {}, format="json")
        assert response.status_code == 200
        assert response.json()["name"] == "same" and response.json()["tags"] == ["k"]
