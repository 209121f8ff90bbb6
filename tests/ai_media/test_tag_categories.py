"""GET /api/tag-categories: values by count desc, only live items counted."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from ai_media.services import media_delete, media_upsert_many
from tests.ai_media.factories import item, upsert

pytestmark = pytest.mark.django_db


def categories(client: APIClient) -> list[dict[str, Any]]:
    response = client.get("/api/tag-categories")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"categories"}
    return list(body["categories"])


def as_dict(cats: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    return {c["name"]: {v["value"]: v["count"] for v in c["values"]} for c in cats}


def test_empty(reader: APIClient) -> None:
    assert categories(reader) == []


def test_values_by_count_desc(reader: APIClient) -> None:
    hair = ["blonde"] * 5 + ["brunette"] * 3 + ["red"] * 1 + ["auburn"] * 3
    upsert([item(f"h{i}", tags={"hair": [v], "body": ["slim" if i < 7 else "curvy"]})
            for i, v in enumerate(hair)])
    cats = categories(reader)
    assert cats == [
        {"name": "hair", "values": [{"value": "blonde", "count": 5},
                                    {"value": "auburn", "count": 3},  # ties: by value
                                    {"value": "brunette", "count": 3},
                                    {"value": "red", "count": 1}]},
        {"name": "body", "values": [{"value": "slim", "count": 7},
                                    {"value": "curvy", "count": 5}]},
    ]


def test_known_categories_in_the_spec_order_then_others_by_name(reader: APIClient) -> None:
    upsert([item("a", tags={"zeta": ["z"], "age_style": ["x"], "hair": ["h"], "alpha": ["a"],
                            "scene": ["s"], "ethnicity": ["e"]})])
    names = [c["name"] for c in categories(reader)]
    assert names == ["hair", "ethnicity", "scene", "age_style", "alpha", "zeta"]


def test_counts_follow_deletes_and_upserts(reader: APIClient) -> None:
    upsert([item("a", tags={"hair": ["red"], "setting": ["beach"]}),
            item("b", tags={"hair": ["red"], "setting": ["pool"]}),
            item("c", tags={"hair": ["blonde"]})])
    assert as_dict(categories(reader)) == {"hair": {"red": 2, "blonde": 1},
                                           "setting": {"beach": 1, "pool": 1}}
    assert media_delete(media_id="a")
    assert as_dict(categories(reader)) == {"hair": {"red": 1, "blonde": 1},
                                           "setting": {"pool": 1}}  # beach: 0, gone
    upsert([item("b", tags={"hair": ["blonde"]})])  # re-posted with other tags
    assert as_dict(categories(reader)) == {"hair": {"blonde": 2}}  # setting is gone
    upsert([item("c")])  # re-posted without tags
    assert as_dict(categories(reader)) == {"hair": {"blonde": 1}}
    upsert([item("b", tags={"hair": ["blonde", "red"]}), item("d", tags={"hair": ["red"]})])
    assert categories(reader) == [{"name": "hair", "values": [{"value": "red", "count": 2},
                                                              {"value": "blonde", "count": 1}]}]


def test_an_unchanged_repost_does_not_double_count(reader: APIClient) -> None:
    tagged = [item(f"m{i}", tags={"hair": ["red"], "pose": ["standing"]}) for i in range(3)]
    upsert(tagged)
    upsert(tagged)
    upsert(tagged[:1])
    assert as_dict(categories(reader)) == {"hair": {"red": 3}, "pose": {"standing": 3}}


def test_refused_and_failed_items_count_nothing(reader: APIClient) -> None:
    result = media_upsert_many([
        item("ok", tags={"hair": ["red"]}),
        {"id": "bad", "media_type": "gif", "media_url": "https://x.example/a",
         "ai_tags": {"hair": ["red"]}},
        item("nul", tags={"hair": ["red"]}, title="a\x00b"),
    ])
    assert [e.id for e in result.errors or []] == ["bad", "nul"]
    assert as_dict(categories(reader)) == {"hair": {"red": 1}}


def test_duplicate_values_in_one_item_count_once(reader: APIClient) -> None:
    upsert([item("a", tags={"hair": ["red", "red", " red "]})])
    assert as_dict(categories(reader)) == {"hair": {"red": 1}}
