"""The recycle bin: its four sections, the ``type`` filter, pages, emptying it, and the
daily purge of what has been there more than 30 days."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.models import Workspace
from apps.processing.tasks import purge_recycle_bin
from media_library.models import MediaItem
from tests.media_library.factories import (
    CATEGORY_TYPES,
    MODELS,
    binned,
    counts,
    make,
    make_item,
    problems,
)
from tests.media_library.routes import KIND_KEYS

SECTIONS = ["mediaItems", "templates", "textSnippets", "savedLinks"]
SECTION_OF = dict(zip(KIND_KEYS, SECTIONS, strict=True))


@pytest.fixture
def bin_contents(workspace: Workspace) -> dict[str, list[str]]:
    """Binned objects (names, most recently deleted first) by section, and live ones."""
    now = timezone.now()
    spec: dict[str, list[tuple[str, dict[str, Any]]]] = {
        "items": [("doc", {"type": "document"}), ("img new", {}), ("video", {"type": "video"}),
                  ("img old", {})],
        "templates": [("story", {"template_type": "story"}), ("post", {})],
        "snippets": [("cap", {})],
        "links": [("link", {})],
    }
    names: dict[str, list[str]] = {}
    for kind, rows in spec.items():
        for n, (name, extra) in enumerate(rows):
            binned(make(kind, workspace, name, **extra), now - timedelta(hours=n + 1))
        make(kind, workspace, f"live {kind}")
        names[SECTION_OF[kind]] = [name for name, _ in rows]
    return names


def _names(section: dict[str, Any]) -> list[str]:
    return [o["name"] for o in section["items"]]


def test_bin_lists_every_section(bin_contents: dict[str, list[str]], viewer: APIClient,
                                 base: str) -> None:
    response = viewer.get(f"{base}/recycle-bin")
    assert response.status_code == 200
    body = response.json()
    assert list(body) == SECTIONS
    for section in SECTIONS:
        assert _names(body[section]) == bin_contents[section]
        assert (body[section]["total"], body[section]["limit"], body[section]["offset"]) == (
            len(bin_contents[section]), 50, 0)
        assert all(o["isDeleted"] and o["deletedAt"] for o in body[section]["items"])
    assert body["mediaItems"]["items"][0]["fileUrl"]  # objects in their full shape
    assert body["templates"]["items"][0]["content"]


def test_empty_bin(viewer: APIClient, base: str, workspace: Workspace) -> None:
    make_item(workspace, "live")
    body = viewer.get(f"{base}/recycle-bin").json()
    assert body == {s: {"items": [], "total": 0, "limit": 50, "offset": 0} for s in SECTIONS}




@pytest.mark.parametrize(("type_", "section", "expected"), [
    ("image", "mediaItems", ["img new", "img old"]),
    ("video", "mediaItems", ["video"]),
    ("gif", "mediaItems", []),
    ("document", "mediaItems", ["doc"]),
    ("template", "templates", ["story", "post"]),
    ("text_snippet", "textSnippets", ["cap"]),
    ("link", "savedLinks", ["link"]),
])
def test_type_narrows_to_one_section(type_: str, section: str, expected: list[str],
                                     bin_contents: dict[str, list[str]], viewer: APIClient,
                                     base: str) -> None:
    body = viewer.get(f"{base}/recycle-bin", {"type": type_}).json()
    assert list(body) == SECTIONS
    assert _names(body[section]) == expected
    assert body[section]["total"] == len(expected)
    for other in SECTIONS:
        if other != section:
            assert body[other] == {"items": [], "total": 0, "limit": 50, "offset": 0}


def test_bin_pages_each_section(bin_contents: dict[str, list[str]], viewer: APIClient,
                                base: str) -> None:
    body = viewer.get(f"{base}/recycle-bin", {"limit": 1, "offset": 1}).json()
    for section in SECTIONS:
        assert _names(body[section]) == bin_contents[section][1:2]
        assert body[section]["total"] == len(bin_contents[section])
        assert (body[section]["limit"], body[section]["offset"]) == (1, 1)


@pytest.mark.parametrize(("params", "message"), [
    ({"type": "audio"}, "type must be one of the following values: "
                        + ", ".join(CATEGORY_TYPES)),
    ({"limit": "101"}, "limit must not be greater than 100"),
    ({"limit": "0"}, "limit must not be less than 1"),
    ({"offset": "-2"}, "offset must not be less than 0"),
])
def test_bin_rejects_bad_queries(params: dict[str, str], message: str, viewer: APIClient,
                                 base: str) -> None:
    response = viewer.get(f"{base}/recycle-bin", params)
    assert response.status_code == 400
    assert problems(response) == [message]


def test_emptying_deletes_only_binned_objects(bin_contents: dict[str, list[str]],
                                              admin: APIClient, base: str,
                                              workspace: Workspace) -> None:
    response = admin.post(f"{base}/recycle-bin/empty")
    assert response.status_code == 200
    assert response.json() == {"success": True,
                               "message": "Permanently deleted 8 items from recycle bin",
                               "deletedCount": 8}
    assert counts(workspace) == {"Category": 0, "MediaItem": 1, "Template": 1,
                                 "TextSnippet": 1, "SavedLink": 1}
    assert all(not MODELS[k]._default_manager.filter(is_deleted=True).exists()
               for k in KIND_KEYS)
    again = admin.post(f"{base}/recycle-bin/empty").json()
    assert again == {"success": True, "message": "Permanently deleted 0 items from recycle bin",
                     "deletedCount": 0}


def test_soft_deleted_objects_land_in_the_bin(member: APIClient, base: str,
                                              workspace: Workspace) -> None:
    for kind in KIND_KEYS:
        obj = make(kind, workspace, f"to bin {kind}")
        assert member.delete(f"{base}/{kind}/{obj.id}").status_code == 200
    body = member.get(f"{base}/recycle-bin").json()
    assert [s["total"] for s in body.values()] == [1, 1, 1, 1]
    for kind in KIND_KEYS:
        assert _names(body[SECTION_OF[kind]]) == [f"to bin {kind}"]


# -- the daily purge ------------------------------------------------------------------------


def test_purge_deletes_after_30_days(workspace: Workspace) -> None:
    now = timezone.now()
    kept, purged = {}, {}
    for kind in KIND_KEYS:
        kept[kind] = binned(make(kind, workspace, "29 days"), now - timedelta(days=29))
        purged[kind] = binned(make(kind, workspace, "31 days"), now - timedelta(days=31))
    live = make_item(workspace, "old but live")
    MediaItem.objects.filter(pk=live.pk).update(created_at=now - timedelta(days=400))

    assert purge_recycle_bin() == {"purged": 4, "failed": 0}
    for kind in KIND_KEYS:
        manager = MODELS[kind]._default_manager
        assert manager.filter(pk=kept[kind].pk).exists()
        assert not manager.filter(pk=purged[kind].pk).exists()
    assert MediaItem.objects.filter(pk=live.pk).exists()
    assert purge_recycle_bin()["purged"] == 0


class Clock:
    """``timezone.now()`` moved forward by ``days``."""

    def __init__(self, real: Callable[[], datetime]) -> None:
        self.real = real
        self.start = real()
        self.days = 0.0

    def now(self) -> datetime:
        return self.start + timedelta(days=self.days) + (self.real() - self.start)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    moved = Clock(timezone.now)
    monkeypatch.setattr(timezone, "now", moved.now)
    return moved


def test_restored_on_day_29_is_never_purged(clock: Clock, member: APIClient, base: str,
                                            workspace: Workspace) -> None:
    objects = {kind: (make(kind, workspace, "forgotten"), make(kind, workspace, "rescued"))
               for kind in KIND_KEYS}
    for kind, pair in objects.items():
        for obj in pair:
            assert member.delete(f"{base}/{kind}/{obj.id}").status_code == 200

    clock.days = 29
    assert purge_recycle_bin()["purged"] == 0
    for kind, (_, rescued) in objects.items():
        assert member.post(f"{base}/{kind}/{rescued.id}/restore").status_code == 200
    late = make_item(workspace, "deleted on day 29")
    member.delete(f"{base}/items/{late.id}")

    clock.days = 31
    assert purge_recycle_bin()["purged"] == 4
    for kind, (forgotten, rescued) in objects.items():
        manager = MODELS[kind]._default_manager
        assert not manager.filter(pk=forgotten.pk).exists()
        assert manager.filter(pk=rescued.pk, is_deleted=False).exists()
    assert MediaItem.objects.filter(pk=late.pk, is_deleted=True).exists()

    clock.days = 365
    assert purge_recycle_bin()["purged"] == 1  # the one deleted on day 29
    assert counts(workspace)["MediaItem"] == 1 and counts(workspace)["SavedLink"] == 1
