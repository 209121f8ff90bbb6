"""Workspace libraries in the admin: every kind's change list in constant queries, and
the bin and tag actions through the services (an uploaded item's file goes with it)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from apps.accounts.models import Workspace
from media_library.models import MediaItem, SavedLink, Template, TextSnippet
from tests.media_library.factories import make, make_category, make_item

ITEMS = "/admin/media_library/mediaitem/"



def _act(client: Client, url: str, action: str, rows: list[Any], **extra: str) -> str:
    return client.post(url, {"action": action, "_selected_action": [str(r.pk) for r in rows],
                             **extra}, follow=True).content.decode()


@pytest.mark.parametrize(("kind", "path"), [("items", "mediaitem"), ("templates", "template"),
                                            ("snippets", "textsnippet"), ("links", "savedlink")])
def test_change_lists_run_constant_queries(console_client: Client, workspace: Workspace, kind: str,
                                           path: str, django_assert_max_num_queries: Any
                                           ) -> None:
    category = make_category(workspace, "template" if kind == "templates" else "image")
    make(kind, workspace, "first", category=category if kind in ("items", "templates")
         else None)
    with django_assert_max_num_queries(15) as few:
        assert console_client.get(f"/admin/media_library/{path}/").status_code == 200
    for i in range(20):
        make(kind, workspace, f"more {i}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = console_client.get(f"/admin/media_library/{path}/")
    assert "more 19" in page.content.decode()


def test_bin_actions_and_tags(console_client: Client, workspace: Workspace) -> None:
    a, b = make_item(workspace, "a", tags=["x"]), make_item(workspace, "b")
    assert "Moved to the bin 2" in _act(console_client, ITEMS, "move_to_bin", [a, b])
    assert MediaItem.objects.filter(is_deleted=True).count() == 2
    assert "Restored 1" in _act(console_client, ITEMS, "restore", [a])
    a.refresh_from_db()
    assert not a.is_deleted and a.deleted_at is None
    assert "Tagged (y, z) 2" in _act(console_client, ITEMS, "add_tags", [a, b], tags="y, z, y")
    a.refresh_from_db()
    assert a.tags == ["x", "y", "z"]
    assert "Untagged 1" in _act(console_client, ITEMS, "remove_tags", [a], tags="x")
    a.refresh_from_db()
    assert a.tags == ["y", "z"]
    assert "Deleted for good 1" in _act(console_client, ITEMS, "delete_for_good", [b])
    assert list(MediaItem.objects.values_list("name", flat=True)) == ["a"]


def test_every_kind_is_registered(console_client: Client) -> None:
    for model in (MediaItem, Template, TextSnippet, SavedLink):
        url = f"/admin/media_library/{model._meta.model_name}/"
        assert console_client.get(url).status_code == 200
