"""Builders shared by the ai_media tests: items as the API takes them, unit vectors,
exact NumPy cosine rankings, and a small HTTP server on 127.0.0.1 for the fetcher."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import numpy as np
from PIL import Image

from ai_media.services import BulkResult, media_upsert_many
from tests.local_http import StaticServer

BASE_TIME = datetime(2026, 2, 1, 12, 0, tzinfo=UTC)


def vec(seed: int) -> np.ndarray:
    """A seeded unit vector of 512 float32 (the storage precision)."""
    v = np.random.default_rng(seed).normal(size=512)
    return (v / np.linalg.norm(v)).astype(np.float32)


def as_list(vector: np.ndarray) -> list[float]:
    return [float(x) for x in vector]


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def at(minutes: float) -> datetime:
    return BASE_TIME + timedelta(minutes=minutes)


def item(media_id: str | None, *, minutes: float = 0, media_type: str = "image",
         tags: dict[str, list[str]] | None = None, embedding: np.ndarray | None = None,
         **extra: Any) -> dict[str, Any]:
    """An API item; ``created_at`` is BASE_TIME + ``minutes`` unless ``extra`` says."""
    body: dict[str, Any] = {
        "media_type": media_type,
        "media_url": f"https://cdn.example.com/{media_id or 'x'}.jpg",
        "created_at": iso(at(minutes)),
    }
    if media_id is not None:
        body["id"] = media_id
    if tags is not None:
        body["ai_tags"] = tags
    if embedding is not None:
        body["clip_embedding"] = as_list(embedding)
    body.update(extra)
    return body


def upsert(items: Iterable[dict[str, Any]]) -> BulkResult:
    """Write through the service; every item must be accepted."""
    result = media_upsert_many(list(items))
    assert result.errors == [], result.errors
    return result


class Neighbour(NamedTuple):
    id: str
    similarity: float  # 1 - cosine distance, clamped to [0, 1]
    distance: float  # the cosine distance (ties: equal distances)


def cosine_ranking(query: np.ndarray, candidates: dict[str, np.ndarray]) -> list[Neighbour]:
    """The candidates by cosine distance to ``query``, exactly, in float64."""
    q = query.astype(np.float64)
    out = []
    for media_id, vector in candidates.items():
        v = vector.astype(np.float64)
        distance = 1.0 - float(q @ v / (np.linalg.norm(q) * np.linalg.norm(v)))
        out.append(Neighbour(media_id, min(1.0, max(0.0, 1.0 - distance)), distance))
    out.sort(key=lambda n: n.distance)
    return out


def ids(data: Sequence[dict[str, Any]]) -> list[str]:
    return [entry["id"] for entry in data]


def picture(seed: int, size: tuple[int, int] = (96, 72), fmt: str = "PNG") -> bytes:
    rng = np.random.default_rng(seed)
    grid = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
    image = Image.fromarray(grid).resize(size, Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


ImageServer = StaticServer  # files: path -> (content type, body); anything else 404
