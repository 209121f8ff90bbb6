"""The console's media in the Django admin: bulk categories and soft deletes through the
services (the tallies follow), a constant-query change list."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.test import Client

from admin_media.models import Media, MediaTally

LIST = "/admin/admin_media/media/"



def _act(client: Client, action: str, ids: list[str], **extra: str) -> str:
    return client.post(LIST, {"action": action, "_selected_action": ids, **extra},
                       follow=True).content.decode()


def test_actions_go_through_the_services(console_client: Client, make_media: Callable[..., Media],
                                         django_assert_max_num_queries: Any) -> None:
    rows = [make_media() for _ in range(3)]
    with django_assert_max_num_queries(10):
        assert console_client.get(LIST).status_code == 200
    page = _act(console_client, "set_categories", [rows[0].pk, rows[1].pk], category="a, b, a")
    assert "on 2 media" in page
    assert Media.objects.get(pk=rows[0].pk).category == ["a", "b"]
    assert MediaTally.objects.get(category="a", media_type="image", mime_type="image/jpeg",
                                  aspect_ratio="16/9").count == 2
    assert "at most 64" in _act(console_client, "set_categories", [rows[0].pk], category="x" * 65)
    assert "Deleted 1 media." in _act(console_client, "soft_delete", [rows[2].pk])
    assert Media.objects.get(pk=rows[2].pk).is_delete is True
