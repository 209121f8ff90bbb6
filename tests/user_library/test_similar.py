"""``GET /api/library/<id>/similar`` (additive, docs/user_library.md): the user's own other
items nearest by the cosine distance of their CLIP embeddings, checked against an exact
NumPy computation over the Embedding rows the tests write."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from rest_framework.test import APIClient

from apps.processing.models import Embedding
from apps.storage.models import ProcessingState, StoredFile
from tests.user_library.conftest import Library
from tests.user_library.helpers import (
    ITEM_FIELDS,
    NOT_FOUND,
    UNAUTHORIZED,
    LibraryItemFixture,
    mp4,
    png,
)

pytestmark = pytest.mark.django_db

MODEL = "ViT-test"


def unit(vector: np.ndarray) -> np.ndarray:
    return (vector / np.linalg.norm(vector)).astype(np.float32)


def embed(saved: LibraryItemFixture, vector: np.ndarray, model: str = MODEL) -> np.ndarray:
    """What the embeddings worker writes for the item's file; the vector as stored."""
    Embedding.objects.create(stored_file_id=saved.item.stored_file_id, model=model,
                             vector=vector)
    return vector


def ranking(query: np.ndarray, candidates: dict[str, np.ndarray]) -> list[tuple[str, float]]:
    """(id, similarity) by exact cosine distance in float64, nearest first, ties by id."""
    q = query.astype(np.float64)
    scored = []
    for item_id, vector in candidates.items():
        v = vector.astype(np.float64)
        distance = 1.0 - float(q @ v / (np.linalg.norm(q) * np.linalg.norm(v)))
        scored.append((distance, item_id))
    scored.sort()
    return [(item_id, min(1.0, max(0.0, 1.0 - distance))) for distance, item_id in scored]


def similar(client: APIClient, item_id: str, query: str = "") -> dict[str, Any]:
    response = client.get(f"/api/library/{item_id}/similar{query}")
    assert response.status_code == 200, response.content
    body: dict[str, Any] = response.json()
    assert body["success"] is True
    return body


@pytest.fixture
def spread(user: Any, library: Library) -> tuple[LibraryItemFixture, dict[str, np.ndarray]]:
    """A query item and seven others from identical to opposite; returns (query, others)."""
    rng = np.random.default_rng(7)
    base = unit(rng.normal(size=512))
    query = library.save(user, png(0), process=False)
    embed(query, base)
    others: dict[str, np.ndarray] = {}
    for seed, noise in enumerate([0.0, 0.2, 0.5, 1.0, 2.0, 8.0], start=1):
        saved = library.save(user, png(seed), process=False)
        others[saved.id] = embed(saved, unit(base + noise * unit(rng.normal(size=512))))
    opposite = library.save(user, png(9), process=False)
    others[opposite.id] = embed(opposite, unit(-base))
    return query, others


def test_items_come_nearest_first_as_numpy_ranks_them(
        auth_client: APIClient, spread: tuple[LibraryItemFixture, dict[str, np.ndarray]]) -> None:
    query, others = spread
    body = similar(auth_client, query.id)
    stored = Embedding.objects.get(stored_file_id=query.item.stored_file_id).vector
    expected = ranking(np.asarray(stored, dtype=np.float32), others)
    assert body["embedding"] == "ready"
    assert [item["id"] for item in body["items"]] == [item_id for item_id, _ in expected]
    for item, (_, score) in zip(body["items"], expected, strict=True):
        assert item["similarity"] == pytest.approx(score, abs=1e-5)
        assert 0.0 <= item["similarity"] <= 1.0
        assert set(item) == ITEM_FIELDS | {"similarity"}
    assert body["items"][0]["similarity"] == pytest.approx(1.0, abs=1e-6)  # same vector
    assert body["items"][-1]["similarity"] == 0.0  # opposite: clamped to the range
    assert query.id not in [item["id"] for item in body["items"]]  # never itself


def test_limit_defaults_to_12_and_is_honoured(auth_client: APIClient, user: Any,
                                              library: Library) -> None:
    rng = np.random.default_rng(3)
    query = library.save(user, png(0), process=False)
    embed(query, unit(rng.normal(size=512)))
    for seed in range(1, 15):
        embed(library.save(user, png(seed), process=False), unit(rng.normal(size=512)))
    assert len(similar(auth_client, query.id)["items"]) == 12
    assert len(similar(auth_client, query.id, "?limit=3")["items"]) == 3
    assert len(similar(auth_client, query.id, "?limit=50")["items"]) == 14
    assert similar(auth_client, query.id, "?limit=1")["items"] == similar(
        auth_client, query.id, "?limit=50")["items"][:1]


@pytest.mark.parametrize(("query", "error"), [
    ("?limit=0", "limit: limit must be between 1 and 50."),
    ("?limit=51", "limit: limit must be between 1 and 50."),
    ("?limit=-1", "limit: limit must be between 1 and 50."),
    ("?limit=abc", "limit: limit must be an integer."),
    ("?limit=2.5", "limit: limit must be an integer."),
])
def test_bad_limits_are_400_in_the_library_dialect(
        auth_client: APIClient, spread: tuple[LibraryItemFixture, dict[str, np.ndarray]],
        query: str, error: str) -> None:
    response = auth_client.get(f"/api/library/{spread[0].id}/similar{query}")
    assert response.status_code == 400
    assert response.json() == {"success": False, "error": error}


def test_unknown_foreign_and_malformed_ids_are_404(
        auth_client: APIClient, other_user: Any, library: Library) -> None:
    foreign = library.save(other_user, png(1), process=False)
    embed(foreign, unit(np.ones(512)))
    for item_id in (foreign.id, "00000000-0000-7000-8000-000000000000", "not-a-uuid"):
        response = auth_client.get(f"/api/library/{item_id}/similar")
        assert response.status_code == 404
        assert response.json() == NOT_FOUND


def test_it_needs_credentials(api_client: APIClient, user: Any, library: Library) -> None:
    saved = library.save(user, png(1), process=False)
    response = api_client.get(f"/api/library/{saved.id}/similar")
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED


def test_only_the_users_own_visible_items_of_the_same_model_count(
        auth_client: APIClient, user: Any, other_user: Any, library: Library) -> None:
    vector = unit(np.arange(1, 513, dtype=np.float64))
    query = library.save(user, png(0), process=False)
    embed(query, vector)
    mine = library.save(user, png(1), process=False)
    embed(mine, unit(vector + 0.5 * unit(np.ones(512))))
    embed(library.save(other_user, png(2), process=False), vector)  # identical, not mine
    hidden = library.save(user, png(3), process=False)
    embed(hidden, vector)
    StoredFile.objects.filter(pk=hidden.item.stored_file_id).update(is_quarantined=True)
    embed(library.save(user, png(4), process=False), vector, model="another-model")
    library.save(user, png(5), process=False)  # no embedding at all
    assert [item["id"] for item in similar(auth_client, query.id)["items"]] == [mine.id]


def test_a_processed_item_without_a_model_is_unavailable(
        auth_client: APIClient, user: Any, library: Library, settings: Any) -> None:
    settings.CLIP_MODEL_DIR = ""
    saved = library.save(user, png(1))  # scanned and processed: the embed step is a no-op
    assert saved.stored.meta["embedding"] == "disabled"
    assert similar(auth_client, saved.id) == {"success": True, "items": [],
                                              "embedding": "unavailable"}


def test_an_item_still_on_its_way_is_pending(auth_client: APIClient, user: Any,
                                             library: Library, settings: Any) -> None:
    settings.CLIP_MODEL_DIR = "/models/configured"  # on: only whether it is set matters
    waiting = library.save(user, png(1), process=False)  # not scanned yet
    queued = library.save(user, png(2), process=False)  # ready, the embedding queued
    StoredFile.objects.filter(pk=queued.item.stored_file_id).update(
        scan_status="CLEAN", processing_state=ProcessingState.READY)
    for saved in (waiting, queued):
        assert similar(auth_client, saved.id) == {"success": True, "items": [],
                                                  "embedding": "pending"}


def test_videos_and_failed_files_are_unavailable(auth_client: APIClient, user: Any,
                                                 library: Library, settings: Any) -> None:
    settings.CLIP_MODEL_DIR = "/models/configured"
    video = library.save(user, mp4(), "video/mp4", process=False)
    failed = library.save(user, png(2), process=False)
    StoredFile.objects.filter(pk=failed.item.stored_file_id).update(
        scan_status="CLEAN", processing_state=ProcessingState.FAILED)
    for saved in (video, failed):
        assert similar(auth_client, saved.id)["embedding"] == "unavailable"


def test_the_route_is_not_taken_for_an_item(auth_client: APIClient, user: Any,
                                            library: Library) -> None:
    saved = library.save(user, png(1), process=False)
    assert "item" in auth_client.get(f"/api/library/{saved.id}").json()
    assert auth_client.get(f"/api/library/{saved.id}/similar").json()["items"] == []
    assert auth_client.delete(f"/api/library/{saved.id}/similar").status_code == 405
