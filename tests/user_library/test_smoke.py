"""A first walk through the library API: save, list, get, usage, delete."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.apps.processing.photos import photo_bytes
from user_library.services import save_to_library

pytestmark = pytest.mark.django_db(transaction=True)


def test_save_list_get_usage_delete(auth_client: APIClient, user: Any) -> None:
    data = photo_bytes("PNG")
    saved = save_to_library(user.pk, "image", "generate", base64.b64encode(data).decode(),
                            "image/png", {"prompt": "a cat", "seed": 3, "extra": [1]})
    assert saved is not None
    assert saved.storage_path.startswith(f"user-media/{user.pk}/")
    listing = auth_client.get("/api/library").json()
    assert listing["total"] == 1 and listing["has_more"] is False
    item = listing["items"][0]
    print(item)
    assert item["id"] == saved.id and item["metadata"]["extra"] == [1]
    got = auth_client.get(f"/api/library/{saved.id}").json()
    assert got["item"]["id"] == saved.id
    usage = auth_client.get("/api/library/usage").json()["usage"]
    print(usage)
    assert usage["item_count"] == 1 and usage["images_count"] == 1
    assert auth_client.delete(f"/api/library/{saved.id}").json() == {"success": True}
    assert auth_client.get("/api/library/usage").json()["usage"]["used_bytes"] == 0
    assert auth_client.get(f"/api/library/{saved.id}").status_code == 404
