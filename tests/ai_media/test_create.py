"""POST /api/media: one object (201 {data}) and arrays (200 {inserted, created, updated,
errors}), upsert semantics, duplicate ids, batches of 50 and their one-by-one retry."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from ai_media import services
from ai_media.models import Media, MediaEmbedding, MediaTag, TagCount
from apps.core.ids import URL_SAFE_ALPHABET
from tests.ai_media.factories import as_list, item, vec

pytestmark = pytest.mark.django_db


def stored_vector(media_id: str) -> np.ndarray:
    return np.asarray(MediaEmbedding.objects.get(media_id=media_id).embedding,
                      dtype=np.float32)


def tags_of(media_id: str) -> set[tuple[str, str]]:
    return set(MediaTag.objects.filter(media_id=media_id)
               .values_list("tag_category", "tag_value"))


def bulk(client: APIClient, items: list[Any]) -> dict[str, Any]:
    response = client.post("/api/media", items, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"inserted", "created", "updated", "errors"}
    return body


# --- one object ------------------------------------------------------------------------

def test_single_item_is_created(writer: APIClient) -> None:
    embedding = vec(1)
    response = writer.post("/api/media", {
        "id": "V3k9xAbCdEf", "media_type": "image",
        "media_url": "https://imagedelivery.net/a/b", "thumbnail_url": "https://imagedelivery.net/a/b/thumbnail",
        "title": "Optional title", "created_at": "2026-02-18T12:00:00Z",
        "ai_tags": {"hair": ["blonde"], "body": ["slim"], "setting": ["beach"]},
        "clip_embedding": as_list(embedding)}, format="json")
    assert response.status_code == 201
    assert response.json() == {"data": {
        "id": "V3k9xAbCdEf", "media_type": "image",
        "thumbnail_url": "https://imagedelivery.net/a/b/thumbnail",
        "media_url": "https://imagedelivery.net/a/b", "title": "Optional title",
        "created_at": "2026-02-18T12:00:00Z",
        "tags": {"body": ["slim"], "hair": ["blonde"], "setting": ["beach"]},
    }}
    np.testing.assert_array_equal(stored_vector("V3k9xAbCdEf"), embedding)
    assert Media.objects.get(pk="V3k9xAbCdEf").tag_values == ["beach", "blonde", "slim"]
    assert dict(TagCount.objects.values_list("tag_value", "count")) == {
        "beach": 1, "blonde": 1, "slim": 1}


def test_single_item_defaults(writer: APIClient) -> None:
    before = timezone.now()
    response = writer.post("/api/media", {"media_type": "video",
                                          "media_url": "https://x.example/v.mp4"},
                           format="json")
    after = timezone.now()
    assert response.status_code == 201
    data = response.json()["data"]
    assert len(data["id"]) == 12 and set(data["id"]) <= set(URL_SAFE_ALPHABET)
    assert data["title"] is None and data["thumbnail_url"] is None and data["tags"] == {}
    stored = Media.objects.get(pk=data["id"])
    assert before <= stored.created_at <= after
    assert not MediaEmbedding.objects.exists()
    other = writer.post("/api/media", {"media_type": "video",
                                       "media_url": "https://x.example/v.mp4"}, format="json")
    assert other.json()["data"]["id"] != data["id"]


def test_single_item_with_an_existing_id_replaces_it(writer: APIClient) -> None:
    first = writer.post("/api/media", item("m", tags={"hair": ["red"]}, embedding=vec(1),
                                           title="one"), format="json")
    assert first.status_code == 201
    again = writer.post("/api/media", {"id": "m", "media_type": "video",
                                       "media_url": "https://cdn.example.com/2.mp4",
                                       "ai_tags": {"hair": ["blonde"]}}, format="json")
    assert again.status_code == 201
    data = again.json()["data"]
    assert data["media_type"] == "video" and data["title"] is None
    assert data["tags"] == {"hair": ["blonde"]}
    assert data["created_at"] == first.json()["data"]["created_at"]  # kept when omitted
    assert not MediaEmbedding.objects.filter(media_id="m").exists()
    assert Media.objects.count() == 1
    assert dict(TagCount.objects.values_list("tag_value", "count")) == {"red": 0, "blonde": 1}


@pytest.mark.parametrize("body", [b'"a string"', b"42", b"null", b"true"])
def test_a_body_that_is_not_an_object_is_a_400(writer: APIClient, body: bytes) -> None:
    response = writer.post("/api/media", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"error": "an item must be a JSON object"}
    assert not Media.objects.exists()


def test_malformed_json_is_a_400(writer: APIClient) -> None:
    response = writer.post("/api/media", b'{"media_type": "image",',
                           content_type="application/json")
    assert response.status_code == 400
    assert set(response.json()) == {"error"} and "JSON" in response.json()["error"]
    assert not Media.objects.exists()


def test_an_invalid_single_item_writes_nothing(writer: APIClient) -> None:
    response = writer.post("/api/media", item("m", media_type="audio", tags={"hair": ["x"]}),
                           format="json")
    assert response.status_code == 400
    assert response.json() == {"error": "media_type must be 'image' or 'video'"}
    assert not Media.objects.exists() and not TagCount.objects.exists()


def test_a_single_item_the_database_refuses_is_reported(writer: APIClient) -> None:
    response = writer.post("/api/media", item("m", title="nul\x00byte", tags={"hair": ["x"]}),
                           format="json")
    assert response.status_code == 400  # the caller's data, not a server error
    assert response.json() == {
        "error": "could not be stored: PostgreSQL text fields cannot contain NUL (0x00) bytes"}
    assert not Media.objects.exists() and not TagCount.objects.exists()
    assert writer.post("/api/media", item("m"), format="json").status_code == 201


# --- arrays ----------------------------------------------------------------------------

def test_mixed_valid_and_invalid_items(writer: APIClient) -> None:
    items = [
        item("ok1", tags={"hair": ["red"]}, embedding=vec(1)),
        {"id": "bad1", "media_type": "audio", "media_url": "https://x.example/a"},
        item("ok2"),
        "not an object",
        item("bad3", clip_embedding=[0.5] * 511),
        item(None),  # an id is generated
        {"media_type": "image"},
    ]
    body = bulk(writer, items)
    assert body["inserted"] == 3 and body["created"] == 3 and body["updated"] == 0
    assert body["errors"] == [
        {"index": 1, "id": "bad1", "error": "media_type must be 'image' or 'video'"},
        {"index": 3, "id": None, "error": "an item must be a JSON object"},
        {"index": 4, "id": "bad3", "error": "clip_embedding must be a list of exactly 512 numbers"},
        {"index": 6, "id": None, "error": "media_url is required"},
    ]
    stored = set(Media.objects.values_list("id", flat=True))
    assert {"ok1", "ok2"} < stored and len(stored) == 3
    generated = (stored - {"ok1", "ok2"}).pop()
    assert len(generated) == 12


def test_an_empty_array(writer: APIClient) -> None:
    assert bulk(writer, []) == {"inserted": 0, "created": 0, "updated": 0, "errors": []}


def test_a_repost_updates(writer: APIClient) -> None:
    v1, v2 = vec(1), vec(2)
    first = bulk(writer, [
        item("a", minutes=1, tags={"hair": ["red"], "setting": ["beach"]}, embedding=v1),
        item("b", minutes=2, tags={"hair": ["red"]}, embedding=v1),
        item("c", minutes=3, embedding=v1),
    ])
    assert (first["created"], first["updated"]) == (3, 0)
    created_b = Media.objects.get(pk="b").created_at
    body = bulk(writer, [
        item("a", minutes=10, tags={"hair": ["blonde"]}, embedding=v2, title="new"),
        {"id": "b", "media_type": "video", "media_url": "https://cdn.example.com/b2.jpg",
         "ai_tags": {"pose": ["sitting"]}},  # no created_at, no embedding
        item("c", minutes=3, embedding=v1),
        item("d", minutes=4),
    ])
    assert body == {"inserted": 4, "created": 1, "updated": 3, "errors": []}
    a, b = Media.objects.get(pk="a"), Media.objects.get(pk="b")
    assert a.title == "new" and a.created_at.minute == 10  # created_at given: replaced
    assert tags_of("a") == {("hair", "blonde")}  # tags replaced, not merged
    np.testing.assert_array_equal(stored_vector("a"), v2)  # embedding replaced
    assert b.created_at == created_b  # kept when omitted
    assert b.media_type == "video" and b.media_url == "https://cdn.example.com/b2.jpg"
    assert tags_of("b") == {("pose", "sitting")} and b.tag_values == ["sitting"]
    assert not MediaEmbedding.objects.filter(media_id="b").exists()  # omitted: removed
    np.testing.assert_array_equal(stored_vector("c"), v1)
    assert dict(TagCount.objects.filter(count__gt=0).values_list("tag_value", "count")) == {
        "blonde": 1, "sitting": 1}


def test_a_repeated_id_is_reported_at_its_second_place(writer: APIClient) -> None:
    body = bulk(writer, [item("x", title="first"), item("y"), item("x", title="second"),
                         item("x", title="third")])
    assert body["inserted"] == 2 and body["created"] == 2
    assert body["errors"] == [
        {"index": 2, "id": "x", "error": "id repeats the item at index 0"},
        {"index": 3, "id": "x", "error": "id repeats the item at index 0"},
    ]
    assert Media.objects.get(pk="x").title == "first"


def test_an_invalid_first_occurrence_does_not_claim_the_id(writer: APIClient) -> None:
    body = bulk(writer, [{"id": "x", "media_type": "gif", "media_url": "https://a.example/"},
                         item("x", title="valid")])
    assert body["inserted"] == 1 and [e["index"] for e in body["errors"]] == [0]
    assert Media.objects.get(pk="x").title == "valid"


# --- batches of 50 -----------------------------------------------------------------------

@pytest.fixture
def batch_spy(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The ids of every _write_batch call (each one transaction), failed ones included."""
    calls: list[list[str]] = []
    real = services._write_batch

    def spy(items: Any) -> Any:
        calls.append([str(i.id) for i in items])
        return real(items)

    monkeypatch.setattr(services, "_write_batch", spy)
    return calls


def savepoints(queries: CaptureQueriesContext) -> int:
    return sum((q["sql"] or "").startswith("SAVEPOINT") for q in queries.captured_queries)


def test_120_items_are_written_in_three_batches(writer: APIClient,
                                                batch_spy: list[list[str]]) -> None:
    items = [item(f"m{i:03d}", minutes=i, tags={"hair": ["red"]}) for i in range(120)]
    with CaptureQueriesContext(connection) as queries:
        body = bulk(writer, items)
    assert body == {"inserted": 120, "created": 120, "updated": 0, "errors": []}
    assert [len(c) for c in batch_spy] == [50, 50, 20]
    assert batch_spy[0][0] == "m000" and batch_spy[2][-1] == "m119"
    assert savepoints(queries) == 3  # one transaction (here: savepoint) per batch
    with connection.cursor() as cursor:  # rows written by one (sub)transaction share xmin
        cursor.execute("SELECT count(*) FROM media GROUP BY xmin::text ORDER BY min(id)")
        assert [n for (n,) in cursor.fetchall()] == [50, 50, 20]
    assert TagCount.objects.get(tag_value="red").count == 120


def test_refused_items_do_not_take_a_place_in_a_batch(writer: APIClient,
                                                      batch_spy: list[list[str]]) -> None:
    items = [item(f"m{i:03d}", minutes=i) if i % 11 else {"id": f"m{i:03d}"}
             for i in range(110)]
    body = bulk(writer, items)
    assert body["inserted"] == 100 and len(body["errors"]) == 10
    assert [len(c) for c in batch_spy] == [50, 50]


def test_a_database_failure_retries_its_batch_one_by_one(writer: APIClient,
                                                         batch_spy: list[list[str]]) -> None:
    items = [item(f"m{i:03d}", minutes=i, tags={"hair": ["red"]}, embedding=vec(i))
             for i in range(120)]
    items[70]["title"] = "a NUL \x00 byte"  # valid JSON and a valid title; PostgreSQL refuses it
    with CaptureQueriesContext(connection) as queries:
        body = bulk(writer, items)
    assert body["inserted"] == 119 and body["created"] == 119 and body["updated"] == 0
    [error] = body["errors"]
    assert error["index"] == 70 and error["id"] == "m070"
    assert error["error"].startswith("could not be stored: ") and "NUL" in error["error"]
    sizes = [len(c) for c in batch_spy]
    assert sizes == [50, 50] + [1] * 50 + [20]
    assert [c[0] for c in batch_spy[2:52]] == [f"m{i:03d}" for i in range(50, 100)]
    # a transaction (savepoint) each for the two good batches and the 49 good single
    # retries; the NUL is refused before the failing batch and item open theirs
    assert savepoints(queries) == 2 + 49
    stored = set(Media.objects.values_list("id", flat=True))
    assert stored == {f"m{i:03d}" for i in range(120)} - {"m070"}
    assert MediaEmbedding.objects.count() == 119
    assert TagCount.objects.get(tag_value="red").count == 119  # the failed batch counted once
    np.testing.assert_array_equal(stored_vector("m071"), vec(71))


def test_a_failed_retry_of_an_update_keeps_the_old_row(writer: APIClient) -> None:
    bulk(writer, [item("a", tags={"hair": ["red"]}, embedding=vec(1), title="old"),
                  item("b", tags={"hair": ["red"]})])
    body = bulk(writer, [item("a", tags={"hair": ["blonde"]}, title="bad\x00"),
                         item("b", tags={"hair": ["blonde"]})])
    assert body["updated"] == 1 and [e["id"] for e in body["errors"]] == ["a"]
    a = Media.objects.get(pk="a")
    assert a.title == "old" and tags_of("a") == {("hair", "red")}
    np.testing.assert_array_equal(stored_vector("a"), vec(1))
    assert dict(TagCount.objects.values_list("tag_value", "count")) == {"red": 1, "blonde": 1}


def test_created_at_default_is_now_for_new_items_in_bulk(writer: APIClient) -> None:
    before = timezone.now()
    bulk(writer, [{"id": "n", "media_type": "image", "media_url": "https://a.example/n"}])
    assert before <= Media.objects.get(pk="n").created_at <= before + timedelta(minutes=1)
