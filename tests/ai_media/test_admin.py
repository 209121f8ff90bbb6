"""The feed in the admin: media with tags and embedding state in constant queries; a
delete through the service moves the tag counts; counts are read-only."""

from __future__ import annotations

from typing import Any

from django.test import Client

from ai_media.models import Media, TagCount
from tests.ai_media.factories import item, upsert

MEDIA = "/admin/ai_media/media/"



def test_change_list_and_delete_with_counts(console_client: Client,
                                            django_assert_max_num_queries: Any) -> None:
    upsert([item("m1", tags={"style": ["noir"]}), item("m2", tags={"style": ["noir"]})])
    with django_assert_max_num_queries(12) as few:
        first = console_client.get(MEDIA)
    upsert([item(f"n{i}", tags={"style": ["pop"]}) for i in range(20)])
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = console_client.get(MEDIA).content.decode()
    assert first.status_code == 200 and "n19" in page and "noir" in first.content.decode()
    answer = console_client.post(MEDIA, {"action": "delete_with_counts",
                                   "_selected_action": ["m1"]}, follow=True)
    assert "Deleted 1 media." in answer.content.decode()
    assert not Media.objects.filter(pk="m1").exists()
    assert TagCount.objects.get(tag_category="style", tag_value="noir").count == 1
    assert console_client.get(f"{MEDIA}m2/change/").status_code == 200


def test_tag_counts_are_read_only(console_client: Client) -> None:
    upsert([item("m1", tags={"style": ["noir"]})])
    counts = console_client.get("/admin/ai_media/tagcount/")
    assert counts.status_code == 200 and "noir" in counts.content.decode()
    assert console_client.get("/admin/ai_media/tagcount/add/").status_code == 403
