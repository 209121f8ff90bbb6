"""The spec's SQL functions (migration 0002), called as SQL clients of the original would
call them (supabase.rpc())."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from ai_media.services import media_delete
from tests.ai_media.factories import cosine_ranking, item, upsert, vec

pytestmark = pytest.mark.django_db


def sql(query: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(query, params or [])
        return cursor.fetchall()


@pytest.fixture
def library() -> None:
    upsert([
        item("a", minutes=1, tags={"hair": ["blonde"], "setting": ["beach"]}, embedding=vec(1)),
        item("b", minutes=2, tags={"hair": ["blonde"]}, embedding=vec(2)),
        item("c", minutes=3, tags={"hair": ["red"], "setting": ["beach"]}, embedding=vec(3),
             media_type="video", title="C"),
        item("d", minutes=4, tags={"setting": ["beach"], "clothing": ["red"]}),
    ])


def test_filter_media_by_tags(library: None) -> None:
    def ids(values: list[str]) -> set[str]:
        return {row[0] for row in sql("SELECT * FROM filter_media_by_tags(%s)", [values])}

    assert ids(["blonde"]) == {"a", "b"}
    assert ids(["blonde", "beach"]) == {"a"}
    assert ids(["beach"]) == {"a", "c", "d"}
    assert ids(["red"]) == {"c", "d"}  # a value, whatever its category
    assert ids(["red", "beach", "blonde"]) == set()
    assert ids(["nowhere"]) == set()
    assert ids([]) == {"a", "b", "c", "d"}  # no condition
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM filter_media_by_tags(ARRAY['blonde'])")
        assert [c.name for c in cursor.description] == ["media_id"]


def test_find_similar_media(library: None) -> None:
    rows = sql("SELECT * FROM find_similar_media(%s, %s)", ["a", 10])
    want = cosine_ranking(vec(1), {"b": vec(2), "c": vec(3)})
    assert [r[0] for r in rows] == [n.id for n in want]  # not itself, not "d" (no vector)
    for row, neighbour in zip(rows, want, strict=True):
        assert row[6] == pytest.approx(neighbour.similarity, abs=2e-5)
        assert 0.0 <= row[6] <= 1.0
    by_id = {r[0]: r for r in rows}
    assert by_id["c"][1:5] == ("video", None, "https://cdn.example.com/c.jpg", "C")
    assert by_id["c"][5].isoformat() == "2026-02-01T12:03:00+00:00"
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM find_similar_media('a', 1)")
        assert [c.name for c in cursor.description] == [
            "id", "media_type", "thumbnail_url", "media_url", "title", "created_at",
            "similarity"]
        assert len(cursor.fetchall()) == 1
    assert [r[0] for r in sql("SELECT * FROM find_similar_media('a')")] == [n.id for n in want]
    assert sql("SELECT * FROM find_similar_media('d', 10)") == []  # no embedding
    assert sql("SELECT * FROM find_similar_media('nope', 10)") == []


def test_find_similar_media_clamps(db: None) -> None:
    upsert([item("q", embedding=vec(9)), item("same", embedding=vec(9)),
            item("opposite", embedding=-vec(9))])
    rows = sql("SELECT id, similarity FROM find_similar_media('q', 5)")
    assert [r[0] for r in rows] == ["same", "opposite"]
    assert rows[0][1] == pytest.approx(1.0, abs=1e-6) and rows[1][1] == 0.0


def test_get_tag_counts(library: None) -> None:
    rows = sql("SELECT * FROM get_tag_counts()")
    assert rows == [("clothing", "red", 1), ("hair", "blonde", 2), ("hair", "red", 1),
                    ("setting", "beach", 3)]
    media_delete(media_id="d")
    upsert([item("b", minutes=2)])  # loses its tags
    assert sql("SELECT * FROM get_tag_counts()") == [("hair", "blonde", 1), ("hair", "red", 1),
                                                     ("setting", "beach", 2)]
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM get_tag_counts()")
        assert [c.name for c in cursor.description] == ["tag_category", "tag_value", "count"]
