"""GET /api/similar/<id>: cosine ranking against an exact NumPy computation, filters that
still fill the page (on the exact and on the iterative-HNSW path), the item itself left
out, unknown ids and items without an embedding."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from tests.ai_media.factories import Neighbour, cosine_ranking, ids, item, upsert, vec

pytestmark = pytest.mark.django_db

ITEM_KEYS = {"id", "media_type", "thumbnail_url", "media_url", "title", "created_at",
             "similarity"}


def similar(client: APIClient, media_id: str, query: str = "") -> list[dict[str, Any]]:
    response = client.get(f"/api/similar/{media_id}{query}")
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"data"}
    for entry in body["data"]:
        assert set(entry) == ITEM_KEYS
        assert 0.0 <= entry["similarity"] <= 1.0
    return list(body["data"])


@pytest.fixture(autouse=True)
def _high_recall(settings: Any) -> None:
    """The widest HNSW candidate list, so that the index's answers can be compared with an
    exact computation even though this test database's index also holds the entries of
    every rolled-back test before (a test that is about those entries sets its own)."""
    settings.AI_MEDIA = {"HNSW_EF_SEARCH": 1000}


@pytest.fixture
def vectors() -> dict[str, np.ndarray]:
    """40 random items, the query, its twin (same vector) and its opposite."""
    out = {f"r{i:02d}": vec(100 + i) for i in range(40)}
    query = vec(7)
    out.update(q=query, twin=query.copy(), anti=-query)
    upsert(item(media_id, minutes=n, embedding=vector)
           for n, (media_id, vector) in enumerate(out.items()))
    return out


def expected(vectors: dict[str, np.ndarray], media_id: str,
             keep: set[str] | None = None) -> list[Neighbour]:
    others = {k: v for k, v in vectors.items() if k != media_id and (keep is None or k in keep)}
    return cosine_ranking(vectors[media_id], others)


def assert_matches(data: list[dict[str, Any]], want: list[Neighbour]) -> None:
    """Same ids in the same order (items at exactly the same distance, such as identical
    vectors, in any order among themselves), similarities equal to NumPy's."""
    assert len(data) == len(want), (ids(data), [n.id for n in want])
    got_groups: list[set[str]] = []
    want_groups: list[set[str]] = []
    for n, neighbour in enumerate(want):
        if n and abs(neighbour.distance - want[n - 1].distance) < 1e-9:
            want_groups[-1].add(neighbour.id)
            got_groups[-1].add(data[n]["id"])
        else:
            want_groups.append({neighbour.id})
            got_groups.append({data[n]["id"]})
    assert got_groups == want_groups
    for entry, neighbour in zip(data, want, strict=True):
        assert entry["similarity"] == pytest.approx(neighbour.similarity, abs=2e-5)


def test_ranked_as_numpy_ranks_them(reader: APIClient, vectors: dict[str, np.ndarray]) -> None:
    data = similar(reader, "q", "?limit=50")
    want = expected(vectors, "q")
    assert len(want) == 42
    assert_matches(data, want)
    assert data[0]["id"] == "twin" and data[0]["similarity"] == pytest.approx(1.0, abs=1e-6)
    assert data[-1]["id"] == "anti" and data[-1]["similarity"] == 0.0  # clamped
    assert "q" not in ids(data)
    # another query: the items, not just the first one
    assert_matches(similar(reader, "r05", "?limit=7"), expected(vectors, "r05")[:7])


def test_default_limit_is_10_max_50(reader: APIClient, vectors: dict[str, np.ndarray]) -> None:
    assert_matches(similar(reader, "r01"), expected(vectors, "r01")[:10])
    assert len(similar(reader, "r01", "?limit=1")) == 1
    for bad in ("0", "51", "-1", "many", "2.5"):
        response = reader.get(f"/api/similar/r01?limit={bad}")
        assert response.status_code == 400, bad
        assert response.json()["error"].startswith("limit: ")


def test_the_item_itself_is_left_out_even_with_duplicates(reader: APIClient) -> None:
    same = vec(3)
    upsert([item(f"d{i}", minutes=i, embedding=same) for i in range(4)])
    data = similar(reader, "d2")
    assert sorted(ids(data)) == ["d0", "d1", "d3"]
    assert all(entry["similarity"] == pytest.approx(1.0, abs=1e-6) for entry in data)


def test_unknown_id_is_a_404(reader: APIClient) -> None:
    upsert([item("a", embedding=vec(1))])
    response = reader.get("/api/similar/nope")
    assert response.status_code == 404 and response.json() == {"error": "Media not found"}


def test_no_embedding_gives_empty_data(reader: APIClient) -> None:
    upsert([item("bare"), item("a", embedding=vec(1)), item("b", embedding=vec(2))])
    assert reader.get("/api/similar/bare").json() == {"data": []}
    assert ids(similar(reader, "a")) == ["b"]  # "bare" has no vector: never a neighbour


def test_lone_embedding_gives_empty_data(reader: APIClient) -> None:
    upsert([item("alone", embedding=vec(1))])
    assert similar(reader, "alone") == []


def test_item_fields(reader: APIClient) -> None:
    upsert([item("a", embedding=vec(1)),
            item("b", embedding=vec(2), media_type="video", title="B",
                 thumbnail_url="https://cdn.example.com/t.jpg",
                 created_at="2026-02-17T09:00:00Z", tags={"hair": ["red"]})])
    [entry] = similar(reader, "a")
    want = cosine_ranking(vec(1), {"b": vec(2)})[0].similarity
    assert entry == {"id": "b", "media_type": "video", "thumbnail_url": "https://cdn.example.com/t.jpg",
                     "media_url": "https://cdn.example.com/b.jpg", "title": "B",
                     "created_at": "2026-02-17T09:00:00Z",
                     "similarity": pytest.approx(want, abs=2e-5)}


# --- filters: a full page, exactly ordered, on either plan ------------------------------

@pytest.fixture
def crowd() -> dict[str, Any]:
    """200 items; 30 carry "rare" (a third of those are videos), the rest "common"."""
    rng = np.random.default_rng(42)
    rare = set(rng.choice(200, size=30, replace=False).tolist())
    vectors = {f"c{i:03d}": vec(1000 + i) for i in range(200)}
    media_types = {f"c{i:03d}": "video" if i % 3 == 0 else "image" for i in range(200)}
    upsert(item(f"c{i:03d}", minutes=i, media_type=media_types[f"c{i:03d}"],
                tags={"style": ["rare" if i in rare else "common"], "scene": ["all"]},
                embedding=vectors[f"c{i:03d}"]) for i in range(200))
    return {"vectors": vectors, "rare": {f"c{i:03d}" for i in rare}, "types": media_types}


def plan_of(queries: CaptureQueriesContext) -> set[str]:
    sqls = [q["sql"] for q in queries.captured_queries]
    plans = set()
    if any("hnsw.iterative_scan" in s for s in sqls):
        plans.add("iterative")
    if any("<=>" in s and "+ 0" in s for s in sqls):
        plans.add("exact")
    return plans


@pytest.mark.parametrize(("exact_max", "plan"), [(20_000, {"exact"}), (0, {"iterative"})])
def test_a_tag_filter_still_fills_the_page(reader: APIClient, settings: Any,
                                           crowd: dict[str, Any], exact_max: int,
                                           plan: set[str]) -> None:
    settings.AI_MEDIA = {**settings.AI_MEDIA, "EXACT_SEARCH_MAX": exact_max}
    vectors, rare = crowd["vectors"], crowd["rare"]
    query_id = sorted(set(vectors) - rare)[0]  # the query itself does not match the filter
    with CaptureQueriesContext(connection) as queries:
        data = similar(reader, query_id, "?limit=10&tags=rare")
    assert plan_of(queries) == plan
    assert len(data) == 10 and set(ids(data)) <= rare
    assert_matches(data, expected(vectors, query_id, keep=rare)[:10])


@pytest.mark.parametrize("exact_max", [20_000, 0])
def test_type_and_tags_together(reader: APIClient, settings: Any, crowd: dict[str, Any],
                                exact_max: int) -> None:
    settings.AI_MEDIA = {**settings.AI_MEDIA, "EXACT_SEARCH_MAX": exact_max}
    vectors, rare, types = crowd["vectors"], crowd["rare"], crowd["types"]
    keep = {m for m in rare if types[m] == "video"}
    query_id = sorted(rare)[0]
    want = expected(vectors, query_id, keep=keep - {query_id})
    data = similar(reader, query_id, "?limit=50&tags=rare,all&type=video")
    assert_matches(data, want)  # all of them: fewer than the limit match
    assert 5 <= len(data) < 30


def test_a_type_filter_alone_uses_the_index_and_fills_the_page(
        reader: APIClient, crowd: dict[str, Any]) -> None:
    vectors, types = crowd["vectors"], crowd["types"]
    videos = {m for m, t in types.items() if t == "video"}
    with CaptureQueriesContext(connection) as queries:
        data = similar(reader, "c001", "?limit=25&type=video")
    assert "iterative" in plan_of(queries)
    assert_matches(data, expected(vectors, "c001", keep=videos)[:25])


def test_a_short_iterative_page_is_rerun_exactly(reader: APIClient, settings: Any,
                                                 crowd: dict[str, Any]) -> None:
    settings.AI_MEDIA = {**settings.AI_MEDIA, "EXACT_SEARCH_MAX": 0}
    vectors, rare = crowd["vectors"], crowd["rare"]
    query_id = sorted(set(vectors) - rare)[0]
    with CaptureQueriesContext(connection) as queries:
        data = similar(reader, query_id, "?limit=50&tags=rare")
    assert plan_of(queries) == {"iterative", "exact"}  # 30 < 50: the exact search decides
    assert_matches(data, expected(vectors, query_id, keep=rare))


def test_a_filter_nothing_matches(reader: APIClient, crowd: dict[str, Any]) -> None:
    assert similar(reader, "c000", "?tags=nowhere") == []
    assert similar(reader, "c000", "?tags=rare,common") == []
    response = reader.get("/api/similar/c000?type=audio")
    assert response.status_code == 400


def test_unfiltered_on_the_crowd_matches_numpy(reader: APIClient, crowd: dict[str, Any]
                                               ) -> None:
    vectors = crowd["vectors"]
    assert_matches(similar(reader, "c150", "?limit=50"), expected(vectors, "c150")[:50])


# --- dead index entries (deleted or replaced vectors awaiting VACUUM) ------------------------

def near(query: np.ndarray, seed: int, weight: float) -> np.ndarray:
    mixed = weight * query + (1 - weight) * vec(seed)
    return (mixed / np.linalg.norm(mixed)).astype(np.float32)


def test_dead_index_entries_do_not_shorten_the_page(reader: APIClient, settings: Any) -> None:
    """The HNSW index keeps entries of deleted or replaced vectors until VACUUM; when the
    nearest entries are all dead, the page must still be full and exact."""
    settings.AI_MEDIA = {"HNSW_EF_SEARCH": 100}  # the default: fewer than the dead entries
    query = vec(77)
    live = {f"l{i:02d}": vec(500 + i) for i in range(30)}
    upsert([item("q", embedding=query)])
    upsert(item(f"gone{i}", embedding=near(query, 2000 + i, 0.8)) for i in range(150))
    upsert(item(m, embedding=v) for m, v in live.items())
    # re-posted with a vector far away: the old, near entries are dead in the index
    upsert(item(f"gone{i}", embedding=-near(query, 2000 + i, 0.8)) for i in range(150))
    for i in range(150):
        live[f"gone{i}"] = -near(query, 2000 + i, 0.8)
    truth = {n.id: n for n in cosine_ranking(query, live)}
    top = {n.id for n in cosine_ranking(query, live)[:10]}
    for suffix in ("?limit=10", "?limit=10&type=image"):
        with CaptureQueriesContext(connection) as queries:
            data = similar(reader, "q", suffix)
        assert plan_of(queries) == {"iterative"}  # the scan went on past the dead entries
        assert len(data) == 10 and set(ids(data)) <= set(live)
        distances = [truth[d["id"]].distance for d in data]
        assert distances == sorted(distances)
        for entry in data:
            assert entry["similarity"] == pytest.approx(truth[entry["id"]].similarity, abs=2e-5)
        assert len(top & set(ids(data))) >= 8  # approximate, at the default ef_search
