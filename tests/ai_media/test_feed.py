"""GET /api/feed: the contract's shape, order, filters, limits and keyset cursors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient

from ai_media.models import Media
from ai_media.services import media_delete
from ai_media.views import FEED_CURSOR, SEARCH_CURSOR
from apps.core.pagination import KeysetCursor
from tests.ai_media.factories import at, ids, iso, item, upsert

pytestmark = pytest.mark.django_db

ITEM_KEYS = {"id", "media_type", "thumbnail_url", "media_url", "title", "created_at",
             "media_tags"}


def feed(client: APIClient, query: str = "") -> dict[str, Any]:
    response = client.get(f"/api/feed{query}")
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"data", "nextCursor"}
    return body


def walk(client: APIClient, query: str) -> list[str]:
    """All pages of the feed, following nextCursor; fails on a repeated id."""
    seen: list[str] = []
    cursor = None
    for _ in range(1000):
        suffix = f"&cursor={cursor}" if cursor else ""
        body = feed(client, f"?{query}{suffix}")
        seen.extend(ids(body["data"]))
        cursor = body["nextCursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)), seen
    return seen


def test_an_empty_feed(reader: APIClient) -> None:
    assert feed(reader) == {"data": [], "nextCursor": None}


def test_item_shape_exactly_as_the_spec_shows_it(reader: APIClient) -> None:
    upsert([item("abc123", thumbnail_url="https://cdn.example.com/t/abc123.jpg",
                 title="A title", created_at="2026-02-18T12:00:00Z",
                 tags={"setting": ["beach"], "hair": ["blonde", "auburn"]})])
    body = feed(reader)
    assert body == {"data": [{
        "id": "abc123", "media_type": "image",
        "thumbnail_url": "https://cdn.example.com/t/abc123.jpg",
        "media_url": "https://cdn.example.com/abc123.jpg", "title": "A title",
        "created_at": "2026-02-18T12:00:00Z",
        "media_tags": [{"tag_category": "hair", "tag_value": "auburn"},
                       {"tag_category": "hair", "tag_value": "blonde"},
                       {"tag_category": "setting", "tag_value": "beach"}],
    }], "nextCursor": None}


def test_nulls_and_no_tags(reader: APIClient) -> None:
    upsert([item("bare", media_type="video")])
    [entry] = feed(reader)["data"]
    assert set(entry) == ITEM_KEYS
    assert entry["thumbnail_url"] is None and entry["title"] is None
    assert entry["media_tags"] == [] and entry["media_type"] == "video"


@pytest.mark.parametrize(("sent", "shown"), [
    ("2026-02-18T12:00:00Z", "2026-02-18T12:00:00Z"),
    ("2026-02-18T12:00:00.250Z", "2026-02-18T12:00:00.250Z"),
    ("2026-02-18T12:00:00.123456Z", "2026-02-18T12:00:00.123Z"),
    ("2026-02-18T14:30:00+02:00", "2026-02-18T12:30:00Z"),
    ("2026-02-18T12:00:00", "2026-02-18T12:00:00Z"),  # no zone: UTC
])
def test_dates_are_utc_iso(reader: APIClient, sent: str, shown: str) -> None:
    upsert([item("d", created_at=sent)])
    assert feed(reader)["data"][0]["created_at"] == shown


def test_newest_first_with_ties_broken_by_id_desc(reader: APIClient) -> None:
    upsert([item("a", minutes=5), item("c", minutes=5), item("b", minutes=5),
            item("old", minutes=1), item("new", minutes=9)])
    assert ids(feed(reader)["data"]) == ["new", "c", "b", "a", "old"]


def test_default_limit_is_20_and_max_is_100(reader: APIClient) -> None:
    upsert([item(f"m{i:03d}", minutes=i) for i in range(105)])
    first = feed(reader)
    assert ids(first["data"]) == [f"m{i:03d}" for i in range(104, 84, -1)]
    assert first["nextCursor"] is not None
    full = feed(reader, "?limit=100")
    assert len(full["data"]) == 100 and full["nextCursor"] is not None
    rest = feed(reader, f"?limit=100&cursor={full['nextCursor']}")
    assert ids(rest["data"]) == ["m004", "m003", "m002", "m001", "m000"]
    assert rest["nextCursor"] is None


@pytest.mark.parametrize("limit", ["0", "-1", "101", "1000", "abc", "1.5", "1e2", "2x"])
def test_a_bad_limit_is_a_400(reader: APIClient, limit: str) -> None:
    response = reader.get(f"/api/feed?limit={limit}")
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"error"} and body["error"].startswith("limit: ")


def test_limit_bounds_are_accepted(reader: APIClient) -> None:
    upsert([item("one", minutes=1), item("two", minutes=2)])
    assert ids(feed(reader, "?limit=1")["data"]) == ["two"]
    assert ids(feed(reader, "?limit=100")["data"]) == ["two", "one"]
    assert ids(feed(reader, "?limit=")["data"]) == ["two", "one"]  # blank: the default


def test_next_cursor_is_null_when_the_last_page_is_exactly_full(reader: APIClient) -> None:
    upsert([item(f"m{i}", minutes=i) for i in range(4)])
    assert feed(reader, "?limit=4")["nextCursor"] is None
    first = feed(reader, "?limit=2")
    second = feed(reader, f"?limit=2&cursor={first['nextCursor']}")
    assert ids(first["data"]) == ["m3", "m2"] and ids(second["data"]) == ["m1", "m0"]
    assert second["nextCursor"] is None


def test_type_filter(reader: APIClient) -> None:
    upsert([item(f"i{i}", minutes=i) for i in range(3)]
           + [item(f"v{i}", minutes=10 + i, media_type="video") for i in range(3)])
    assert ids(feed(reader, "?type=video")["data"]) == ["v2", "v1", "v0"]
    assert ids(feed(reader, "?type=image")["data"]) == ["i2", "i1", "i0"]
    assert len(feed(reader, "?type=")["data"]) == 6  # blank: no filter


@pytest.mark.parametrize("value", ["audio", "IMAGE", "images", "image,video"])
def test_a_bad_type_is_a_400(reader: APIClient, value: str) -> None:
    response = reader.get(f"/api/feed?type={value}")
    assert response.status_code == 400
    assert response.json() == {"error": "type: type must be 'image' or 'video'."}


def test_tags_are_and_ed(reader: APIClient) -> None:
    upsert([
        item("both", minutes=1, tags={"hair": ["blonde"], "setting": ["beach"]}),
        item("hair-only", minutes=2, tags={"hair": ["blonde"]}),
        item("beach-only", minutes=3, tags={"setting": ["beach"]}),
        item("both-video", minutes=4, media_type="video",
             tags={"hair": ["blonde", "red"], "setting": ["beach"]}),
        item("none", minutes=5),
    ])
    assert ids(feed(reader, "?tags=blonde,beach")["data"]) == ["both-video", "both"]
    assert ids(feed(reader, "?tags=blonde")["data"]) == ["both-video", "hair-only", "both"]
    assert ids(feed(reader, "?tags=blonde,beach&type=image")["data"]) == ["both"]
    assert ids(feed(reader, "?tags=blonde,beach,red")["data"]) == ["both-video"]
    assert feed(reader, "?tags=blonde,nowhere")["data"] == []
    # blanks and repeats are ignored; values are trimmed
    assert ids(feed(reader, "?tags=,blonde,, beach ,blonde,")["data"]) == ["both-video", "both"]
    assert len(feed(reader, "?tags=,,")["data"]) == 5  # nothing left: no filter


def test_a_value_in_two_categories_matches_once(reader: APIClient) -> None:
    upsert([item("x", tags={"hair": ["red"], "clothing": ["red"]})])
    body = feed(reader, "?tags=red")
    assert ids(body["data"]) == ["x"]
    assert body["data"][0]["media_tags"] == [{"tag_category": "clothing", "tag_value": "red"},
                                             {"tag_category": "hair", "tag_value": "red"}]


def test_at_most_20_tags(reader: APIClient) -> None:
    assert reader.get("/api/feed?tags=" + ",".join(f"t{i}" for i in range(20))).status_code == 200
    response = reader.get("/api/feed?tags=" + ",".join(f"t{i}" for i in range(21)))
    assert response.status_code == 400 and response.json() == {"error": "tags: At most 20 tags."}


def before(row: tuple[str, str], cursor_row: tuple[str, str]) -> bool:
    """Whether (created_at, id) ``row`` sorts after ``cursor_row`` in the feed (is older),
    by the database's own comparison (its collation orders the ids)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT (%s::timestamptz, %s::text) < (%s::timestamptz, %s::text)",
                       [row[0], row[1], cursor_row[0], cursor_row[1]])
        return bool(cursor.fetchone()[0])


def test_pages_neither_repeat_nor_skip_while_rows_are_added(reader: APIClient) -> None:
    # 30 items, three per created_at (the id breaks the tie), some with microseconds
    start = [item(f"k{i:02d}m", created_at=iso(at((i // 3) * 10)
                                               + timedelta(microseconds=7 * (i % 2))))
             for i in range(30)]
    upsert(start)
    known = set(ids(start))
    expected = set(known)
    seen: list[str] = []
    shown_ties = hidden_ties = 0
    body = feed(reader, "?limit=7")
    seen.extend(ids(body["data"]))
    page = 0
    while body["nextCursor"] is not None:
        page += 1
        last = body["data"][-1]
        position = (Media.objects.get(pk=last["id"]).created_at.isoformat(), last["id"])
        last_at = datetime.fromisoformat(position[0])
        added = [
            item(f"new{page}", minutes=10_000 + page),  # newer than everything
            item(f"old{page}", created_at=iso(last_at - timedelta(minutes=3))),  # not reached
            item(f"{last['id']}z{page}", created_at=iso(last_at)),  # a tie, id above
        ]
        if f"{last['id'][:-1]}0{page}" not in known:
            added.append(item(f"{last['id'][:-1]}0{page}", created_at=iso(last_at)))
        upsert(added)
        for new in added:
            assert new["id"] not in known
            known.add(new["id"])
            must_show = before((new["created_at"], new["id"]), position)
            if must_show:
                expected.add(new["id"])
            if new["created_at"] == iso(last_at):
                shown_ties += must_show
                hidden_ties += not must_show
        body = feed(reader, f"?limit=7&cursor={body['nextCursor']}")
        seen.extend(ids(body["data"]))
    assert page >= 4 and shown_ties and hidden_ties
    assert len(seen) == len(set(seen)), "a row was repeated"
    assert set(seen) == expected
    assert not any(s.startswith("new") for s in seen)
    assert {f"old{n}" for n in range(1, page + 1)} <= set(seen)
    # the walk is the feed's order: (created_at, id) descending, by the database
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM media WHERE id = ANY(%s) "
                       "ORDER BY created_at DESC, id DESC", [seen])
        assert [row[0] for row in cursor.fetchall()] == seen


def test_deleted_rows_do_not_break_a_walk(reader: APIClient) -> None:
    upsert([item(f"m{i:02d}", minutes=i) for i in range(10)])
    first = feed(reader, "?limit=3")
    assert ids(first["data"]) == ["m09", "m08", "m07"]
    media_delete(media_id="m07")  # the cursor's own row goes
    media_delete(media_id="m05")
    rest = walk(reader, f"limit=3&cursor={first['nextCursor']}")
    assert rest == ["m06", "m04", "m03", "m02", "m01", "m00"]


def test_filtered_walk_visits_every_match_once(reader: APIClient) -> None:
    items = [item(f"m{i:02d}", minutes=i % 7, media_type="video" if i % 3 else "image",
                  tags={"hair": ["red" if i % 2 else "blonde"], "setting": ["beach"]})
             for i in range(40)]
    upsert(items)
    expected = sorted((i for i in items if i["media_type"] == "video"
                       and i["ai_tags"]["hair"] == ["red"]),
                      key=lambda i: (i["created_at"], i["id"]), reverse=True)
    assert walk(reader, "limit=3&type=video&tags=red,beach") == ids(expected)


def tamper(token: str, position: int) -> str:
    char = token[position]
    replacement = "A" if char != "A" else "B"
    return token[:position] + replacement + token[position + 1:]


def test_a_tampered_cursor_is_a_400(reader: APIClient) -> None:
    upsert([item(f"m{i}", minutes=i) for i in range(3)])
    token = feed(reader, "?limit=1")["nextCursor"]
    assert feed(reader, f"?limit=1&cursor={token}")["data"][0]["id"] == "m1"
    for position in (0, len(token) // 2, len(token) - 1):
        response = reader.get(f"/api/feed?limit=1&cursor={tamper(token, position)}")
        assert response.status_code == 400, position
        assert response.json() == {"error": "cursor: Invalid cursor."}
    for junk in ("abc", "x" * 300, "e30.invalid", "%00"):
        assert reader.get(f"/api/feed?cursor={junk}").status_code == 400


def test_a_search_cursor_is_refused_by_the_feed(reader: APIClient) -> None:
    upsert([item(f"m{i}", minutes=i, tags={"hair": ["red"]}) for i in range(3)])
    token = reader.get("/api/search?tags=red&limit=1").json()["nextCursor"]
    assert token
    response = reader.get(f"/api/feed?cursor={token}")
    assert response.status_code == 400
    assert response.json() == {"error": "cursor: Invalid cursor."}


def test_a_signed_cursor_of_the_wrong_shape_is_a_400(reader: APIClient) -> None:
    wrong_types = FEED_CURSOR.encode({"created_at": "yesterday", "id": 5})
    three = KeysetCursor(["created_at", "id", "x"], salt="ai_media.feed").encode(
        {"created_at": datetime(2026, 1, 1, tzinfo=UTC), "id": "a", "x": 1})
    for token in (wrong_types, three):
        response = reader.get(f"/api/feed?cursor={token}")
        assert response.status_code == 400 and response.json() == {
            "error": "cursor: Invalid cursor."}
    good = FEED_CURSOR.encode({"created_at": datetime(2026, 1, 1, tzinfo=UTC), "id": "a"})
    assert reader.get(f"/api/feed?cursor={good}").status_code == 200
    assert reader.get(f"/api/search?tags=x&cursor={good}").status_code == 400
    search = SEARCH_CURSOR.encode({"created_at": datetime(2026, 1, 1, tzinfo=UTC), "id": "a"})
    assert reader.get(f"/api/feed?cursor={search}").status_code == 400
