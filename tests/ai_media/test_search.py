"""GET /api/search: tags required, AND semantics, totalMatches, keyset cursors."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from rest_framework.test import APIClient

from ai_media.services import media_delete
from tests.ai_media.factories import ids, iso, item, upsert

pytestmark = pytest.mark.django_db


def search(client: APIClient, query: str) -> dict[str, Any]:
    response = client.get(f"/api/search?{query}")
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"data", "nextCursor", "totalMatches"}
    return body


@pytest.fixture
def library() -> list[dict[str, Any]]:
    items = [item(f"m{i:02d}", minutes=i, media_type="video" if i % 4 == 0 else "image",
                  tags={"hair": ["brunette" if i % 2 else "blonde"],
                        "style": ["tattoo"] if i % 3 == 0 else ["plain"]})
             for i in range(24)]
    upsert(items)
    return items


@pytest.mark.parametrize("query", ["", "tags=", "tags=,,", "tags=%20,%20", "limit=5"])
def test_tags_are_required(reader: APIClient, query: str) -> None:
    response = reader.get(f"/api/search?{query}")
    assert response.status_code == 400
    assert response.json() == {"error": "tags: tags is required: comma-separated tag values."}


def test_and_semantics_and_total_matches(reader: APIClient, library: list[dict[str, Any]]
                                         ) -> None:
    both = [i for i in library if i["ai_tags"]["hair"] == ["brunette"]
            and i["ai_tags"]["style"] == ["tattoo"]]
    assert len(both) == 4  # 3, 9, 15, 21
    body = search(reader, "tags=brunette,tattoo")
    assert ids(body["data"]) == ["m21", "m15", "m09", "m03"]
    assert body["totalMatches"] == 4 and body["nextCursor"] is None
    entry = body["data"][0]
    assert set(entry) == {"id", "media_type", "thumbnail_url", "media_url", "title",
                          "created_at", "media_tags"}
    assert entry["media_tags"] == [{"tag_category": "hair", "tag_value": "brunette"},
                                   {"tag_category": "style", "tag_value": "tattoo"}]
    assert search(reader, "tags=tattoo,brunette") == body  # order of tags does not matter
    assert search(reader, "tags=brunette,blonde") == {"data": [], "nextCursor": None,
                                                      "totalMatches": 0}


def test_total_matches_counts_every_page(reader: APIClient, library: list[dict[str, Any]]
                                         ) -> None:
    first = search(reader, "tags=brunette&limit=5")
    assert len(first["data"]) == 5 and first["totalMatches"] == 12
    walked = ids(first["data"])
    body = first
    while body["nextCursor"]:
        body = search(reader, f"tags=brunette&limit=5&cursor={body['nextCursor']}")
        assert body["totalMatches"] == 12
        walked.extend(ids(body["data"]))
    assert walked == [f"m{i:02d}" for i in range(23, 0, -2)]


def test_type_filter_applies_to_data_and_total(reader: APIClient,
                                               library: list[dict[str, Any]]) -> None:
    body = search(reader, "tags=blonde&type=video")
    assert ids(body["data"]) == ["m20", "m16", "m12", "m08", "m04", "m00"]
    assert body["totalMatches"] == 6
    assert reader.get("/api/search?tags=blonde&type=gif").status_code == 400


def test_total_follows_writes_and_deletes(reader: APIClient, library: list[dict[str, Any]]
                                          ) -> None:
    assert search(reader, "tags=tattoo")["totalMatches"] == 8
    media_delete(media_id="m03")
    upsert([item("m06", minutes=6, tags={"hair": ["blonde"]})])  # loses tattoo
    upsert([item("extra", minutes=99, tags={"style": ["tattoo"]})])
    body = search(reader, "tags=tattoo")
    assert body["totalMatches"] == 7
    assert ids(body["data"]) == ["extra", "m21", "m18", "m15", "m12", "m09", "m00"]


@pytest.mark.parametrize("limit", ["0", "101", "-5", "ten"])
def test_limit_is_checked(reader: APIClient, library: list[dict[str, Any]], limit: str) -> None:
    response = reader.get(f"/api/search?tags=blonde&limit={limit}")
    assert response.status_code == 400 and response.json()["error"].startswith("limit: ")


def test_default_limit_is_20(reader: APIClient) -> None:
    upsert([item(f"m{i:02d}", minutes=i, tags={"hair": ["red"]}) for i in range(25)])
    body = search(reader, "tags=red")
    assert len(body["data"]) == 20 and body["totalMatches"] == 25
    assert body["nextCursor"] is not None
    assert len(search(reader, "tags=red&limit=100")["data"]) == 25


def test_cursors_are_checked(reader: APIClient, library: list[dict[str, Any]]) -> None:
    token = search(reader, "tags=blonde&limit=2")["nextCursor"]
    assert ids(search(reader, f"tags=blonde&limit=2&cursor={token}")["data"]) == ["m18", "m16"]
    flipped = token[:5] + ("A" if token[5] != "A" else "B") + token[6:]
    response = reader.get(f"/api/search?tags=blonde&cursor={flipped}")
    assert response.status_code == 400
    assert response.json() == {"error": "cursor: Invalid cursor."}
    feed_token = reader.get("/api/feed?limit=2").json()["nextCursor"]
    response = reader.get(f"/api/search?tags=blonde&cursor={feed_token}")
    assert response.status_code == 400
    assert response.json() == {"error": "cursor: Invalid cursor."}


def test_walk_while_matching_rows_are_added(reader: APIClient,
                                            library: list[dict[str, Any]]) -> None:
    body = search(reader, "tags=plain&limit=4")  # 16 matches
    seen = ids(body["data"])
    step = 0
    while body["nextCursor"]:
        step += 1
        last_at = datetime.fromisoformat(body["data"][-1]["created_at"].replace("Z", "+00:00"))
        upsert([item(f"n{step}", minutes=500 + step, tags={"style": ["plain"]}),
                item(f"o{step}", created_at=iso(last_at - timedelta(seconds=30)),
                     tags={"style": ["plain"]})])
        body = search(reader, f"tags=plain&limit=4&cursor={body['nextCursor']}")
        seen.extend(ids(body["data"]))
    expected_old = {f"m{i:02d}" for i in range(24) if i % 3}
    assert len(seen) == len(set(seen))
    olds = {s for s in seen if s.startswith("o")}
    assert set(seen) - olds == expected_old
    assert olds == {f"o{n}" for n in range(1, step + 1)}
    assert body["totalMatches"] == 16 + 2 * step


def _sql_count(tags: list[str]) -> int:
    """totalMatches as the plain SQL count would give it (the reference)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM media WHERE tag_values @> %s::text[]", [tags])
        return int(cursor.fetchone()[0])


def test_one_tag_total_from_the_maintained_counts_is_the_sql_count(
        reader: APIClient, library: list[dict[str, Any]]) -> None:
    for tag in ("brunette", "blonde", "tattoo", "plain"):
        assert search(reader, f"tags={tag}")["totalMatches"] == _sql_count([tag])


def test_a_value_under_two_categories_of_one_item_counts_once(
        reader: APIClient, library: list[dict[str, Any]]) -> None:
    # "auburn" is a hair colour on one item and a style on another and on the first too:
    # the counts table holds 2 + 1 pairs, but only 2 items carry the value.
    upsert([item("dual", minutes=50, tags={"hair": ["auburn"], "style": ["auburn"]}),
            item("solo", minutes=51, tags={"style": ["auburn"]})])
    assert _sql_count(["auburn"]) == 2
    body = search(reader, "tags=auburn")
    assert body["totalMatches"] == 2 and ids(body["data"]) == ["solo", "dual"]


def test_a_tag_no_item_carries_totals_zero(reader: APIClient,
                                          library: list[dict[str, Any]]) -> None:
    assert search(reader, "tags=no-such-tag") == {"data": [], "nextCursor": None,
                                                  "totalMatches": 0}
    assert search(reader, "tags=brunette,no-such-tag")["totalMatches"] == 0
    media_delete(media_id="m00")  # its tags' counts drop; a count that reaches 0 stays 0
    upsert([item("gone", minutes=70, tags={"hair": ["silver"]})])
    media_delete(media_id="gone")
    assert search(reader, "tags=silver")["totalMatches"] == 0
