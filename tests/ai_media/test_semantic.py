"""GET /api/search/semantic (beyond the spec): 503 without a CLIP model, parameters
checked first, and with the tiny model, items ranked by cosine to the text embedding."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rest_framework.test import APIClient

from apps.processing.embeddings import embed_text
from tests.ai_media.factories import Neighbour, cosine_ranking, ids, item, upsert, vec

pytestmark = pytest.mark.django_db

UNAVAILABLE = {"error": "Semantic search is not available: no CLIP model is configured"}


def test_without_a_model_it_is_a_503(reader: APIClient) -> None:
    upsert([item("a", embedding=vec(1))])
    response = reader.get("/api/search/semantic?q=a%20photo%20of%20a%20cat")
    assert response.status_code == 503
    assert response.json() == UNAVAILABLE


def test_a_broken_model_folder_is_a_503(reader: APIClient, settings: Any,
                                        tmp_path: Path) -> None:
    from apps.processing.engines import clip

    clip.clear_embedders()
    (tmp_path / "empty-model").mkdir()
    settings.CLIP_MODEL_DIR = str(tmp_path / "empty-model")
    try:
        response = reader.get("/api/search/semantic?q=cat")
    finally:
        clip.clear_embedders()
    assert response.status_code == 503 and response.json() == UNAVAILABLE


@pytest.mark.parametrize(("query", "error"), [
    ("", "q: q is required."),
    ("?q=", "q: q is required."),
    ("?q=%20%20", "q: q is required."),
    ("?q=" + "a" * 1001, "q: q must be at most 1000 characters."),
    ("?q=cat&limit=51", "limit: limit must be between 1 and 50."),
    ("?q=cat&limit=0", "limit: limit must be between 1 and 50."),
    ("?q=cat&limit=x", "limit: limit must be an integer."),
    ("?q=cat&type=audio", "type: type must be 'image' or 'video'."),
])
def test_parameters_are_checked_before_the_model(reader: APIClient, query: str,
                                                 error: str) -> None:
    response = reader.get(f"/api/search/semantic{query}")
    assert response.status_code == 400 and response.json() == {"error": error}


def ranked(text: str, vectors: dict[str, np.ndarray]) -> list[Neighbour]:
    return cosine_ranking(np.asarray(embed_text(text), dtype=np.float32), vectors)


@pytest.fixture
def library(clip_on: Any, settings: Any) -> dict[str, Any]:
    settings.AI_MEDIA = {"HNSW_EF_SEARCH": 1000}  # comparable with an exact ranking
    vectors = {f"m{i:02d}": vec(300 + i) for i in range(30)}
    # a few items close to the text's own embedding, so the top of the ranking is clear
    text = np.asarray(embed_text("a photo of a cat"), dtype=np.float32)
    for n, weight in enumerate((0.9, 0.7, 0.5)):
        mixed = weight * text + (1 - weight) * vec(900 + n)
        vectors[f"near{n}"] = (mixed / np.linalg.norm(mixed)).astype(np.float32)
    types = {m: "video" if i % 2 else "image" for i, m in enumerate(sorted(vectors))}
    upsert(item(m, minutes=i, media_type=types[m], embedding=v,
                tags={"scene": ["odd" if i % 3 else "third"]})
           for i, (m, v) in enumerate(vectors.items()))
    upsert([item("no-vector")])
    return {"vectors": vectors, "types": types}


def test_ranked_by_cosine_to_the_text(reader: APIClient, library: dict[str, Any]) -> None:
    response = reader.get("/api/search/semantic?q=a%20photo%20of%20a%20cat&limit=50")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"data"}
    want = ranked("a photo of a cat", library["vectors"])
    assert ids(body["data"]) == [n.id for n in want]
    assert ids(body["data"])[:3] == ["near0", "near1", "near2"]
    for entry, neighbour in zip(body["data"], want, strict=True):
        assert set(entry) == {"id", "media_type", "thumbnail_url", "media_url", "title",
                              "created_at", "similarity"}
        assert entry["similarity"] == pytest.approx(neighbour.similarity, abs=2e-5)
    # the query text is trimmed and matched case-insensitively by the tokenizer
    again = reader.get("/api/search/semantic?q=%20A%20Photo%20of%20a%20CAT%20").json()
    assert ids(again["data"]) == [n.id for n in want[:10]]  # default limit 10


def test_another_text_ranks_differently(reader: APIClient, library: dict[str, Any]) -> None:
    body = reader.get("/api/search/semantic?q=big%20red%20car&limit=5").json()
    want = ranked("big red car", library["vectors"])[:5]
    assert ids(body["data"]) == [n.id for n in want]
    for entry, neighbour in zip(body["data"], want, strict=True):
        assert entry["similarity"] == pytest.approx(neighbour.similarity, abs=2e-5)
    cat = ranked("a photo of a cat", library["vectors"])[:5]
    assert [e["similarity"] for e in body["data"]] != pytest.approx(
        [n.similarity for n in cat], abs=1e-3)  # the text is what is searched


def test_filters(reader: APIClient, library: dict[str, Any]) -> None:
    vectors, types = library["vectors"], library["types"]
    order = list(vectors)
    videos_third = {m for m in vectors if types[m] == "video" and order.index(m) % 3 == 0}
    body = reader.get("/api/search/semantic?q=cat&limit=50&type=video&tags=third").json()
    want = ranked("cat", {m: vectors[m] for m in videos_third})
    assert ids(body["data"]) == [n.id for n in want] and len(want) >= 3
