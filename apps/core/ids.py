"""Identifier helpers.

``uuid7`` ids are time-ordered, so new rows land at the right edge of a B-tree index
instead of at random pages: inserts stay cheap at millions of rows. ``short_id`` is the
nanoid-style URL-safe id the ai_media spec uses for ``media.id``.
"""

from __future__ import annotations

import os
import secrets
import time
import uuid

URL_SAFE_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_-"


def uuid7() -> uuid.UUID:
    """An RFC 9562 version-7 UUID: 48-bit Unix milliseconds, then 74 random bits."""
    millis = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (millis & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= ((rand >> 62) & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    return uuid.UUID(int=value)


def short_id(length: int = 12) -> str:
    """A random URL-safe id (64-symbol alphabet: 6 bits of entropy per character)."""
    if length < 8:
        raise ValueError("short ids shorter than 8 characters collide too easily")
    return "".join(secrets.choice(URL_SAFE_ALPHABET) for _ in range(length))


def parse_uuid(value: object) -> uuid.UUID | None:
    """The UUID in value, or None when it is not one (malformed ids are 'not found')."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        return None
