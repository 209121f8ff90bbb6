"""One pass over every kind of route: the shapes the spec shows."""

from __future__ import annotations

from typing import Any

from rest_framework.test import APIClient

IMAGE = {"type": "image", "name": "Banner", "fileUrl": "https://cdn.example.com/a.png",
         "tags": ["summer", "banner"], "fileSize": 245000, "width": 1200, "height": 628}


def test_category_then_item_then_bin(member: APIClient, admin: APIClient, base: str) -> None:
    cat = member.post(f"{base}/categories", {"name": "Marketing", "type": "image"},
                      format="json")
    assert cat.status_code == 201, cat.content
    assert cat.json()["displayOrder"] == 0
    second = member.post(f"{base}/categories", {"name": "B", "type": "image"}, format="json")
    assert second.json()["displayOrder"] == 1
    grouped = member.get(f"{base}/categories/grouped").json()
    assert set(grouped) == {"image", "video", "gif", "document", "template", "text_snippet",
                            "link"} and len(grouped["image"]) == 2
    item = member.post(f"{base}/items", {**IMAGE, "categoryId": cat.json()["id"]},
                       format="json")
    assert item.status_code == 201, item.content
    body = item.json()
    assert body["category"] == {"id": cat.json()["id"], "name": "Marketing"}
    listed = member.get(f"{base}/items", {"search": "BANN", "tags": "summer"}).json()
    assert listed["total"] == 1 and listed["limit"] == 50 and listed["offset"] == 0
    assert member.delete(f"{base}/items/{body['id']}").status_code == 200
    assert member.get(f"{base}/items").json()["total"] == 0
    binned = member.get(f"{base}/recycle-bin").json()
    assert binned["mediaItems"]["total"] == 1 and binned["templates"]["total"] == 0
    assert member.post(f"{base}/recycle-bin/empty").status_code == 403
    emptied = admin.post(f"{base}/recycle-bin/empty").json()
    assert emptied == {"success": True, "message": "Permanently deleted 1 items from recycle bin",
                       "deletedCount": 1}


def test_bad_input_lists_every_problem(member: APIClient, base: str) -> None:
    response = member.post(f"{base}/items", {"type": "pdf", "name": 5, "fileUrl": "nope"},
                           format="json")
    assert response.status_code == 400
    body: dict[str, Any] = response.json()
    assert body["statusCode"] == 400 and body["error"] == "Bad Request"
    assert body["message"] == ["type must be one of the following values: image, video, gif, "
                               "document", "name must be a string", "fileUrl must be a URL address"]


def test_template_clone_snippet_link(member: APIClient, base: str) -> None:
    template = member.post(f"{base}/templates", {
        "name": "Launch", "templateType": "post", "platforms": ["instagram"],
        "content": {"text": "Hi {{x}}", "hashtags": ["new"], "mediaSlots": [
            {"id": "main", "label": "Main", "required": True, "acceptedTypes": ["image"]}]}},
        format="json")
    assert template.status_code == 201, template.content
    clone = member.post(f"{base}/templates/{template.json()['id']}/clone", {}, format="json")
    assert clone.status_code == 201 and clone.json()["name"] == "Copy of Launch"
    snippet = member.post(f"{base}/snippets", {"name": "C", "snippetType": "cta",
                                               "content": "Buy now"}, format="json")
    assert snippet.status_code == 201, snippet.content
    link = member.post(f"{base}/links", {"name": "Blog", "url": "http://127.0.0.1:9/"},
                       format="json")
    assert link.status_code == 201, link.content
    assert link.json()["previewTitle"] is None


def test_strangers_and_viewers(client_as: Any, viewer: APIClient, base: str) -> None:
    assert client_as(None).get(f"{base}/items").status_code == 404
    assert viewer.get(f"{base}/items").status_code == 200
    assert viewer.post(f"{base}/items", IMAGE, format="json").status_code == 403
    assert APIClient().get(f"{base}/items").status_code == 401
