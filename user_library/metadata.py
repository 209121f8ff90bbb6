"""``LibraryItemMetadata``: the generation's parameters stored with an item.

The spec types the known keys and leaves the object open (``Record<string, unknown>``
in ``saveToLibrary``), so unknown keys are kept as they are; known keys must have their
type (``null`` is accepted as "not given"). The whole object is capped in size so a
caller cannot park megabytes in a row that every list page reads.
"""

from __future__ import annotations

import json
import math
from typing import Any

from user_library.errors import InvalidItem

MAX_METADATA_BYTES = 16 * 1024
_STRINGS = {"prompt": 10_000, "model": 200, "aspect_ratio": 20, "style": 200, "platform": 200}
_NUMBERS = ("seed", "duration_seconds")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _check_known(key: str, value: Any) -> None:
    if value is None:
        return
    if key in _STRINGS:
        if not isinstance(value, str):
            raise InvalidItem(f"metadata.{key} must be a string")
        if len(value) > _STRINGS[key]:
            raise InvalidItem(f"metadata.{key} must be at most {_STRINGS[key]} characters")
    elif key == "seed":
        if not _is_number(value) or value != int(value):
            raise InvalidItem("metadata.seed must be an integer")
    elif key == "duration_seconds" and (not _is_number(value) or value < 0):
        raise InvalidItem("metadata.duration_seconds must be a non-negative number")


def parse_metadata(raw: Any) -> dict[str, Any]:
    """The metadata as stored, from a dict or a JSON text (multipart fields are text)."""
    if raw is None or raw == "":
        return {}
    if isinstance(raw, str | bytes):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise InvalidItem("metadata must be a JSON object") from None
    if not isinstance(raw, dict):
        raise InvalidItem("metadata must be a JSON object")
    for key, value in raw.items():
        _check_known(key, value)
    try:
        size = len(json.dumps(raw, allow_nan=False).encode())
    except ValueError:
        raise InvalidItem("metadata must not contain NaN or Infinity") from None
    if size > MAX_METADATA_BYTES:
        raise InvalidItem(f"metadata must be at most {MAX_METADATA_BYTES} bytes as JSON")
    return raw
