"""Request bodies and ORM shortcuts shared by the media_library tests.

Setup goes through the ORM (fast, and independent of the endpoint under test); the
behaviour under test goes through the HTTP API.
"""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Model
from django.utils import timezone

from apps.accounts.models import Workspace
from media_library.models import Category, MediaItem, SavedLink, Template, TextSnippet

LIBRARY_MODELS: tuple[type[Model], ...] = (MediaItem, Template, TextSnippet, SavedLink)
ALL_MODELS: tuple[type[Model], ...] = (Category, *LIBRARY_MODELS)
CATEGORY_TYPES = ["image", "video", "gif", "document", "template", "text_snippet", "link"]
FORBIDDEN = {"statusCode": 403, "message": "Forbidden resource", "error": "Forbidden"}

CONTENT: dict[str, Any] = {
    "text": "Introducing {{product}}!",
    "mediaSlots": [{"id": "main", "label": "Main image", "required": True,
                    "acceptedTypes": ["image"]}],
    "hashtags": ["launch", "new"],
    "defaultCaption": "Check it out",
}


def item_body(**over: Any) -> dict[str, Any]:
    return {"type": "image", "name": "Banner", "fileUrl": "https://cdn.example.com/a.png",
            "tags": ["summer"], **over}


def template_body(**over: Any) -> dict[str, Any]:
    return {"name": "Launch", "templateType": "post", "platforms": ["instagram"],
            "content": copy.deepcopy(CONTENT), **over}


def snippet_body(**over: Any) -> dict[str, Any]:
    return {"name": "Sale caption", "snippetType": "caption", "content": "Buy now", **over}


def link_body(**over: Any) -> dict[str, Any]:
    # example.com is never fetched here: on_commit callbacks are discarded with the test
    # transaction unless a test runs them (django_capture_on_commit_callbacks).
    return {"name": "Blog", "url": "https://blog.example.com/", **over}


CREATE_BODIES = {"items": item_body, "templates": template_body, "snippets": snippet_body,
                 "links": link_body}
# the category type each kind files under (items: their own type)
CATEGORY_TYPE_OF = {"items": "image", "templates": "template", "snippets": "text_snippet",
                    "links": "link"}
LABELS = {"items": "Media item", "templates": "Template", "snippets": "Text snippet",
          "links": "Saved link"}
NOT_FOUND = {key: f"{label} not found" for key, label in LABELS.items()}
MODELS: dict[str, type[Model]] = {"items": MediaItem, "templates": Template,
                                  "snippets": TextSnippet, "links": SavedLink}


def make_category(ws: Workspace, type: str = "image", name: str = "Cat",
                  **extra: Any) -> Category:
    return Category.objects.create(workspace=ws, type=type, name=name, **extra)


def make_item(ws: Workspace, name: str = "Item", **extra: Any) -> MediaItem:
    fields: dict[str, Any] = {"type": "image", "file_url": "https://cdn.example.com/x.png",
                              **extra}
    return MediaItem.objects.create(workspace=ws, name=name, **fields)


def make_template(ws: Workspace, name: str = "Template", **extra: Any) -> Template:
    fields: dict[str, Any] = {"template_type": "post", "content": copy.deepcopy(CONTENT),
                              **extra}
    return Template.objects.create(workspace=ws, name=name, **fields)


def make_snippet(ws: Workspace, name: str = "Snippet", **extra: Any) -> TextSnippet:
    fields: dict[str, Any] = {"snippet_type": "caption", "content": "Some text", **extra}
    return TextSnippet.objects.create(workspace=ws, name=name, **fields)


def make_link(ws: Workspace, name: str = "Link", **extra: Any) -> SavedLink:
    fields: dict[str, Any] = {"url": "https://example.com/page", **extra}
    return SavedLink.objects.create(workspace=ws, name=name, **fields)


MAKERS = {"items": make_item, "templates": make_template, "snippets": make_snippet,
          "links": make_link}


def make(kind: str, ws: Workspace, name: str = "Object", **extra: Any) -> Any:
    return MAKERS[kind](ws, name, **extra)


def binned(obj: Any, at: datetime) -> Any:
    """Mark ``obj`` as in the recycle bin since ``at`` (written straight to the DB)."""
    type(obj).objects.filter(pk=obj.pk).update(is_deleted=True, deleted_at=at)
    obj.refresh_from_db()
    return obj


def snapshot(ws: Workspace) -> dict[str, list[dict[str, Any]]]:
    """Every library row of a workspace, field by field: compare before and after."""
    return {model.__name__: sorted(model._default_manager.filter(workspace=ws).values(),
                                   key=lambda row: str(row["id"]))
            for model in ALL_MODELS}


def counts(ws: Workspace) -> dict[str, int]:
    return {model.__name__: model._default_manager.filter(workspace=ws).count()
            for model in ALL_MODELS}


DEFAULT_FIELDS: dict[str, dict[str, Any]] = {
    "items": {"type": "image", "file_url": "https://cdn.example.com/x.png"},
    "templates": {"template_type": "post", "content": CONTENT},
    "snippets": {"snippet_type": "caption", "content": "Some text"},
    "links": {"url": "https://example.com/page"},
}


def make_many(kind: str, ws: Workspace, n: int, **extra: Any) -> list[Any]:
    """``n`` objects named "obj 000", "obj 001"... (created a second apart, in that
    order) in one INSERT."""
    model = MODELS[kind]
    start = timezone.now() - timedelta(days=1)
    rows = [model(workspace=ws, name=f"obj {i:03}", created_at=start + timedelta(seconds=i),
                  **{**DEFAULT_FIELDS[kind], **extra})
            for i in range(n)]
    return list(model._default_manager.bulk_create(rows))


def problems(response: Any) -> list[str]:
    """The problems a 400 lists, after checking the rest of the error's shape."""
    assert response.status_code == 400, response.content
    body = response.json()
    assert set(body) == {"statusCode", "message", "error"}, body
    assert body["statusCode"] == 400 and body["error"] == "Bad Request"
    message = body["message"]
    assert isinstance(message, list), message
    return message
