"""GET /api/media/<id> (tags grouped by category) and DELETE (beyond the spec)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from ai_media.models import Media, MediaEmbedding, MediaTag, TagCount
from tests.ai_media.factories import item, upsert, vec

pytestmark = pytest.mark.django_db


def test_the_item_with_tags_grouped(reader: APIClient) -> None:
    upsert([item("abc123", title="T", thumbnail_url="https://cdn.example.com/t.jpg",
                 created_at="2026-02-18T12:00:00Z",
                 tags={"setting": ["beach"], "hair": ["red", "blonde"], "body": ["curvy"],
                       "clothing": ["bikini"]})])
    response = reader.get("/api/media/abc123")
    assert response.status_code == 200
    assert response.json() == {
        "id": "abc123", "media_type": "image", "thumbnail_url": "https://cdn.example.com/t.jpg",
        "media_url": "https://cdn.example.com/abc123.jpg", "title": "T",
        "created_at": "2026-02-18T12:00:00Z",
        "tags": {"body": ["curvy"], "clothing": ["bikini"], "hair": ["blonde", "red"],
                 "setting": ["beach"]},
    }


def test_an_item_without_tags_has_an_empty_object(reader: APIClient) -> None:
    upsert([item("bare", media_type="video")])
    body = reader.get("/api/media/bare").json()
    assert body["tags"] == {} and body["title"] is None and body["thumbnail_url"] is None
    assert "embedding" not in body and "clip_embedding" not in body


@pytest.mark.parametrize("media_id", ["nope", "a.b", "x" * 200, "%20"])
def test_unknown_id_is_a_404(reader: APIClient, media_id: str) -> None:
    upsert([item("exists")])
    response = reader.get(f"/api/media/{media_id}")
    assert response.status_code == 404
    assert response.json() == {"error": "Media not found"}


def test_ids_with_every_allowed_character(reader: APIClient) -> None:
    upsert([item("a.B:c~d-e_9")])
    assert reader.get("/api/media/a.B:c~d-e_9").json()["id"] == "a.B:c~d-e_9"


def test_delete_removes_item_tags_embedding_and_counts(writer: APIClient,
                                                       reader: APIClient) -> None:
    upsert([item("gone", tags={"hair": ["red"], "setting": ["beach"]}, embedding=vec(1)),
            item("kept", tags={"hair": ["red"]}, embedding=vec(2))])
    response = writer.delete("/api/media/gone")
    assert response.status_code == 200 and response.json() == {"success": True}
    assert reader.get("/api/media/gone").status_code == 404
    assert list(Media.objects.values_list("id", flat=True)) == ["kept"]
    assert list(MediaTag.objects.values_list("media_id", flat=True)) == ["kept"]
    assert list(MediaEmbedding.objects.values_list("media_id", flat=True)) == ["kept"]
    counts = dict(TagCount.objects.values_list("tag_value", "count"))
    assert counts == {"red": 1, "beach": 0}
    again = writer.delete("/api/media/gone")
    assert again.status_code == 404 and again.json() == {"error": "Media not found"}


def test_delete_needs_write_credentials(reader: APIClient, secret: str) -> None:
    upsert([item("m")])
    assert reader.delete("/api/media/m").status_code == 401
    assert reader.delete("/api/media/m").json() == {"error": "Unauthorized"}
    reader.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}x")
    assert reader.delete("/api/media/m").status_code == 401
    assert Media.objects.filter(pk="m").exists()
    # an unknown id without credentials: still a 401, not a 404 (nothing is revealed)
    reader.credentials()
    assert reader.delete("/api/media/unknown").status_code == 401


def test_other_methods_are_refused(writer: APIClient) -> None:
    upsert([item("m")])
    assert writer.put("/api/media/m", {}, format="json").status_code == 405
    assert writer.patch("/api/media/m", {}, format="json").status_code == 405
    assert writer.post("/api/media/m", {}, format="json").status_code == 405
    assert Media.objects.filter(pk="m").exists()
