"""Checking one item of ``POST /api/media`` (and of the SQLite import) before any write.

Every problem is a short reason naming the field, so a bulk request can report each bad
item by index and still write the good ones. Embeddings are checked with NumPy: 512
finite numbers (not booleans, not strings), converted once to float32.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from ai_media.models import EMBEDDING_DIMENSIONS, MediaType
from apps.core.dates import parse_utc_datetime

ID_PATTERN = re.compile(r"[A-Za-z0-9._:~-]{1,128}", re.ASCII)
MAX_URL_LENGTH = 2048
MAX_TITLE_LENGTH = 1000
MAX_CATEGORY_LENGTH, MAX_VALUE_LENGTH, MAX_TAGS = 64, 128, 500
_NUMBER_TYPES = {float, int}
_FLOAT32_MAX = float(np.finfo(np.float32).max)
_WHITESPACE = re.compile(r"\s")
# URLs that urlsplit surely reads as http(s) with a host, checked without it (the common
# case of a bulk import); anything else goes through urlsplit
_PLAIN_HTTP_URL = re.compile(r"https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:[/?#][^\s]*)?")
_MEDIA_TYPES = frozenset(MediaType.values)


class ItemInvalid(ValueError):
    """One item's reason for refusal, fit to show the caller."""


@dataclass
class MediaInput:
    media_type: str
    media_url: str
    id: str | None = None
    thumbnail_url: str | None = None
    title: str | None = None
    created_at: datetime | None = None
    tags: list[tuple[str, str]] = field(default_factory=list)  # (category, value), distinct
    embedding: np.ndarray | None = None  # float32[512]

    @property
    def tag_values(self) -> list[str]:
        return sorted({value for _, value in self.tags})

    def grouped_tags(self) -> dict[str, list[str]]:
        grouped: dict[str, list[str]] = {}
        for category, value in self.tags:
            grouped.setdefault(category, []).append(value)
        return grouped


def _url(value: Any, name: str, *, required: bool) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise ItemInvalid(f"{name} is required" if value is None else f"{name} must be a string")
    if len(value) > MAX_URL_LENGTH:
        raise ItemInvalid(f"{name} must be at most {MAX_URL_LENGTH} characters")
    if _PLAIN_HTTP_URL.fullmatch(value):
        return value
    try:
        parts = urlsplit(value)
    except ValueError:
        raise ItemInvalid(f"{name} must be an http(s) URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or _WHITESPACE.search(value):
        raise ItemInvalid(f"{name} must be an http(s) URL")
    return value


def _tags(value: Any) -> list[tuple[str, str]]:
    if value is None:
        return []
    if not isinstance(value, dict):
        raise ItemInvalid("ai_tags must be an object of category -> list of strings")
    tags: dict[tuple[str, str], None] = {}
    for category, values in value.items():
        if not category or len(category) > MAX_CATEGORY_LENGTH:
            raise ItemInvalid(f"ai_tags categories must be 1-{MAX_CATEGORY_LENGTH} characters")
        if not isinstance(values, list):
            raise ItemInvalid(f"ai_tags.{category} must be a list of strings")
        for tag in values:
            if not isinstance(tag, str) or not tag.strip():
                raise ItemInvalid(f"ai_tags.{category} must be a list of non-empty strings")
            if len(tag.strip()) > MAX_VALUE_LENGTH or "," in tag:
                raise ItemInvalid(f"ai_tags.{category} values must be at most "
                                  f"{MAX_VALUE_LENGTH} characters, without commas")
            tags[(category, tag.strip())] = None
    if len(tags) > MAX_TAGS:
        raise ItemInvalid(f"ai_tags may hold at most {MAX_TAGS} tags")
    return list(tags)


def parse_embedding(value: Any) -> np.ndarray | None:
    """512 finite numbers from JSON (a list, or the body parser's array) or an importer
    (a float32 array)."""
    if value is None:
        return None
    if isinstance(value, np.ndarray):  # the body parser's float64, the importer's float32
        if value.shape != (EMBEDDING_DIMENSIONS,) or value.dtype.kind != "f":
            raise ItemInvalid(f"clip_embedding must be a list of exactly {EMBEDDING_DIMENSIONS} "
                              "numbers")
        if not np.abs(value).max() <= _FLOAT32_MAX:  # also false for NaN
            raise ItemInvalid("clip_embedding must hold finite numbers")
        return value.astype(np.float32, copy=False)
    if not isinstance(value, list) or len(value) != EMBEDDING_DIMENSIONS:
        raise ItemInvalid(f"clip_embedding must be a list of exactly {EMBEDDING_DIMENSIONS} "
                          "numbers")
    if not set(map(type, value)) <= _NUMBER_TYPES:  # bool is a subclass of int, not int
        raise ItemInvalid("clip_embedding must hold numbers only")
    try:
        vector = np.fromiter(value, dtype=np.float64, count=EMBEDDING_DIMENSIONS)
    except (OverflowError, ValueError):
        raise ItemInvalid("clip_embedding must hold finite numbers") from None
    if not np.abs(vector).max() <= _FLOAT32_MAX:  # also false for NaN
        raise ItemInvalid("clip_embedding must hold finite numbers")
    return vector.astype(np.float32)


def _created_at(value: Any) -> datetime | None:
    if value is None:
        return None
    parsed = parse_utc_datetime(value)
    if parsed is None:
        raise ItemInvalid("created_at must be an ISO-8601 date-time")
    return parsed


def _optional_text(value: Any, name: str, limit: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ItemInvalid(f"{name} must be a string")
    if len(value) > limit:
        raise ItemInvalid(f"{name} must be at most {limit} characters")
    return value


def media_input(raw: Any) -> MediaInput:
    """A checked item, or ItemInvalid with the first problem found."""
    if not isinstance(raw, dict):
        raise ItemInvalid("an item must be a JSON object")
    item_id = raw.get("id")
    if item_id is not None and (not isinstance(item_id, str) or not ID_PATTERN.fullmatch(item_id)
                                or item_id in (".", "..")):  # URL paths normalise those away
        raise ItemInvalid("id must be 1-128 characters of letters, digits and ._:~-")
    media_type = raw.get("media_type")
    if not isinstance(media_type, str) or media_type not in _MEDIA_TYPES:
        raise ItemInvalid("media_type must be 'image' or 'video'")
    media_url = _url(raw.get("media_url"), "media_url", required=True)
    assert media_url is not None
    return MediaInput(
        id=item_id, media_type=media_type, media_url=media_url,
        thumbnail_url=_url(raw.get("thumbnail_url"), "thumbnail_url", required=False),
        title=_optional_text(raw.get("title"), "title", MAX_TITLE_LENGTH),
        created_at=_created_at(raw.get("created_at")),
        tags=_tags(raw.get("ai_tags")),
        embedding=parse_embedding(raw.get("clip_embedding")))

