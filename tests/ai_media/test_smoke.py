"""A first walk through the ai_media API."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def vec(seed: int) -> list[float]:
    v = np.random.default_rng(seed).normal(size=512)
    return [float(x) for x in v / np.linalg.norm(v)]


def test_walk(settings: Any) -> None:
    settings.API_SECRET_KEY = "s3cret"
    client = APIClient()
    writer = APIClient()
    writer.credentials(HTTP_AUTHORIZATION="Bearer s3cret")
    items = [{"id": f"m{i}", "media_type": "image" if i % 2 else "video",
              "media_url": f"https://cdn.example.com/{i}.jpg",
              "created_at": f"2026-02-{10 + i:02d}T12:00:00Z",
              "ai_tags": {"hair": ["blonde" if i % 3 else "red"], "setting": ["beach"]},
              "clip_embedding": vec(i)} for i in range(6)]
    items.append({"id": "bad", "media_type": "audio", "media_url": "x"})
    assert client.post("/api/media", items, format="json").status_code == 401
    result = writer.post("/api/media", items, format="json").json()
    print(result)
    assert result["inserted"] == 6 and result["errors"][0]["index"] == 6
    feed = client.get("/api/feed?limit=4").json()
    print(feed)
    assert [d["id"] for d in feed["data"]] == ["m5", "m4", "m3", "m2"]
    page2 = client.get(f"/api/feed?limit=4&cursor={feed['nextCursor']}").json()
    assert [d["id"] for d in page2["data"]] == ["m1", "m0"] and page2["nextCursor"] is None
    search = client.get("/api/search?tags=blonde,beach").json()
    assert search["totalMatches"] == 4
    cats = client.get("/api/tag-categories").json()
    print(cats)
    assert cats["categories"][0]["name"] == "hair"
    similar = client.get("/api/similar/m1?limit=3").json()
    print(similar)
    assert len(similar["data"]) == 3 and all(d["id"] != "m1" for d in similar["data"])
    one = client.get("/api/media/m1").json()
    assert one["tags"] == {"hair": ["blonde"], "setting": ["beach"]}
    assert client.get("/api/media/nope").status_code == 404
    single = writer.post("/api/media", {"media_type": "image",
                                        "media_url": "https://x.example/a.png"}, format="json")
    assert single.status_code == 201 and len(single.json()["data"]["id"]) == 12
    assert writer.delete("/api/media/m1").status_code == 200
    cats = client.get("/api/tag-categories").json()
    hair = {v["value"]: v["count"] for v in cats["categories"][0]["values"]}
    assert hair == {"blonde": 3, "red": 2}
    assert client.get("/api/search").status_code == 400
    assert client.get("/api/feed?cursor=abc").json() == {"error": "cursor: Invalid cursor."}
