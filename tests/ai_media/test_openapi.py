"""The ai_media endpoints are in the OpenAPI document (which must build: the item view
picks its authenticators by method, and the schema generator has no request)."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_every_endpoint_is_documented(client: Client) -> None:
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    expected = {
        "/api/feed": {"get": "ai_media_feed"},
        "/api/search": {"get": "ai_media_search"},
        "/api/search/semantic": {"get": "ai_media_semantic_search"},
        "/api/tag-categories": {"get": "ai_media_tag_categories"},
        "/api/media": {"post": "ai_media_create"},
        "/api/media/{media_id}": {"get": "ai_media_get", "delete": "ai_media_delete"},
        "/api/similar/{media_id}": {"get": "ai_media_similar"},
    }
    for path, operations in expected.items():
        assert path in paths, path
        for method, operation_id in operations.items():
            assert paths[path][method]["operationId"] == operation_id
    feed_params = {p["name"] for p in paths["/api/feed"]["get"]["parameters"]}
    assert feed_params == {"limit", "cursor", "type", "tags"}
    # reads are public; the writes name their credentials
    public = [{}]
    assert paths["/api/feed"]["get"].get("security", public) == public
    assert paths["/api/media/{media_id}"]["get"].get("security", public) == public
    assert paths["/api/media/{media_id}"]["delete"].get("security", public) != public
    assert paths["/api/media"]["post"].get("security", public) != public
