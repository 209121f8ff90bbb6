"""The shape of errors: {"statusCode", "message", "error"}, where a 400's message is a
list of problems even when there is only one (as class-validator's are)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from apps.accounts.models import Workspace
from tests.media_library.factories import (
    FORBIDDEN,
    counts,
    item_body,
    make_category,
    make_item,
)


def test_several_problems_are_a_list(member: APIClient, base: str) -> None:
    response = member.post(f"{base}/categories", {}, format="json")
    assert response.status_code == 400
    assert response.json() == {"statusCode": 400, "error": "Bad Request", "message": [
        "name should not be empty", "type should not be empty"]}


@pytest.mark.parametrize("case", ["body", "query", "bulk", "category_type", "reorder"])
def test_a_single_problem_is_still_a_list(case: str, member: APIClient, base: str,
                                          workspace: Workspace) -> None:
    video = make_category(workspace, "video", "videos")
    item = make_item(workspace, "img")
    call: dict[str, Callable[[], Any]] = {
        "body": lambda: member.post(f"{base}/items", item_body(name=""), format="json"),
        "query": lambda: member.get(f"{base}/items", {"limit": "101"}),
        "bulk": lambda: member.post(f"{base}/items/bulk", {"ids": [], "action": "delete"},
                                    format="json"),
        "category_type": lambda: member.put(f"{base}/items/{item.id}",
                                            {"categoryId": str(video.id)}, format="json"),
        "reorder": lambda: member.post(f"{base}/categories/reorder",
                                       {"type": "video", "categoryIds": []}, format="json"),
    }
    response = call[case]()
    assert response.status_code == 400
    message = response.json()["message"]
    assert isinstance(message, list) and len(message) == 1, message


@pytest.mark.parametrize(("make_request", "status", "body"), [
    (lambda c, b: c.get(f"{b}/items/{uuid.UUID(int=1)}"), 404,
     {"statusCode": 404, "message": "Media item not found", "error": "Not Found"}),
    (lambda c, b: c.get(f"{b}/categories/{uuid.UUID(int=1)}"), 404,
     {"statusCode": 404, "message": "Category not found", "error": "Not Found"}),
])
def test_not_found_shape(make_request: Callable[[APIClient, str], Any], status: int,
                         body: dict[str, Any], member: APIClient, base: str) -> None:
    response = make_request(member, base)
    assert response.status_code == status and response.json() == body


def test_forbidden_shape(viewer: APIClient, base: str, workspace: Workspace) -> None:
    response = viewer.post(f"{base}/items", item_body(), format="json")
    assert response.status_code == 403 and response.json() == FORBIDDEN
    assert counts(workspace)["MediaItem"] == 0


def test_unknown_path_under_the_library_is_a_nest_404(member: APIClient, base: str) -> None:
    response = member.get(f"{base}/no-such-thing")
    assert response.status_code == 404
    body = response.json()
    assert body["statusCode"] == 404 and body["error"] == "Not Found"
