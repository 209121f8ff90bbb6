"""Every route of media_library/urls.py with every method its view answers, read from
the URL conf itself (a route added later is covered without touching the tests), and a
small library of objects to aim them at."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern
from django.utils import timezone

from apps.accounts.models import Workspace
from media_library import urls
from tests.media_library.factories import (
    CATEGORY_TYPE_OF,
    CREATE_BODIES,
    binned,
    make,
    make_category,
)
from tests.user_library.helpers import PNG

METHODS = ("get", "post", "put", "patch", "delete")
KIND_KEYS = ("items", "templates", "snippets", "links")


@dataclass(frozen=True)
class Route:
    pattern: str  # "items/<str:object_id>/restore"
    name: str  # the URL name: "ml-items-restore"
    method: str  # "POST"
    id_kind: str | None  # "categories", "items", ... : what the id in the path names

    @property
    def is_read(self) -> bool:
        return self.method == "GET"

    @property
    def purges(self) -> bool:
        """Routes only admins and owners may call."""
        return (self.method == "DELETE" and self.pattern.endswith("/permanent")) or \
            self.pattern == "recycle-bin/empty"

    def __str__(self) -> str:
        return f"{self.method} {self.pattern}"


def _routes() -> list[Route]:
    found = []
    for pattern in urls.urlpatterns:
        assert isinstance(pattern, URLPattern)
        view_class: Any = pattern.callback.view_class  # type: ignore[attr-defined]
        initkwargs: dict[str, Any] = pattern.callback.view_initkwargs  # type: ignore[attr-defined]
        text = str(pattern.pattern)
        if "<str:category_id>" in text:
            id_kind: str | None = "categories"
        elif "<str:object_id>" in text:
            id_kind = (initkwargs.get("kind") or view_class.kind).key
        else:
            id_kind = None
        for method in METHODS:
            if hasattr(view_class, method):
                found.append(Route(text, str(pattern.name), method.upper(), id_kind))
    return found


ROUTES = _routes()
READ_ROUTES = [r for r in ROUTES if r.is_read]
WRITE_ROUTES = [r for r in ROUTES if not r.is_read]
PURGE_ROUTES = [r for r in ROUTES if r.purges]


@dataclass
class Library:
    """One category per object kind, and one live and one binned object of each kind."""

    workspace: Workspace
    categories: dict[str, Any] = field(default_factory=dict)  # by kind key
    live: dict[str, Any] = field(default_factory=dict)
    binned: dict[str, Any] = field(default_factory=dict)

    def object_for(self, route: Route) -> Any:
        assert route.id_kind is not None
        if route.id_kind == "categories":
            return self.categories["items"]
        pool = self.binned if route.pattern.endswith("/restore") else self.live
        return pool[route.id_kind]

    def path(self, route: Route, base: str, object_id: str | None = None) -> str:
        text = route.pattern
        if route.id_kind is not None:
            object_id = object_id or str(self.object_for(route).id)
            text = text.replace("<str:category_id>", object_id).replace(
                "<str:object_id>", object_id)
        return f"{base}/{text}"

    def body(self, route: Route) -> dict[str, Any]:
        """A valid body for the route: so that a missing check would show as a change."""
        if route.method in ("GET", "DELETE"):
            return {}
        name = route.name
        if name == "ml-categories":
            return {"name": "New", "type": "image"}
        if name == "ml-categories-reorder":
            return {"type": "image", "categoryIds": [str(self.categories["items"].id)]}
        if name == "ml-items-bulk":
            return {"ids": [str(self.live["items"].id)], "action": "delete"}
        if name == "ml-templates-clone":
            return {"name": "Cloned"}
        if name == "ml-items-upload":
            return {"file": SimpleUploadedFile("a.png", PNG, "image/png")}
        if route.method == "PUT":
            return {"name": "Renamed", "isStarred": True}
        for key in KIND_KEYS:
            if name == f"ml-{key}":
                return CREATE_BODIES[key]()
        return {}


def build_library(ws: Workspace) -> Library:
    library = Library(ws)
    for key in KIND_KEYS:
        category = make_category(ws, CATEGORY_TYPE_OF[key], f"{key} category")
        library.categories[key] = category
        library.live[key] = make(key, ws, f"live {key}", category=category, tags=["t"])
        library.binned[key] = binned(make(key, ws, f"binned {key}"),
                                     timezone.now() - timedelta(days=1))
    return library


def call(client: Any, route: Route, path: str, body: dict[str, Any] | None = None) -> Any:
    handler = getattr(client, route.method.lower())
    if route.method == "GET":
        return handler(path)
    files = any(isinstance(value, SimpleUploadedFile) for value in (body or {}).values())
    return handler(path, body or {}, format="multipart" if files else "json")
