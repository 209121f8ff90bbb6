"""Turning what a caller sends (a base64 string, an uploaded file) into a byte stream.

Base64 is decoded in slices as storage pulls it, so a large video sent as base64 is not
held twice in memory; its decoded size is known up front (from the length), so the
quota and the size limit are checked before a byte is written.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator
from dataclasses import dataclass

from user_library.errors import InvalidItem

_DATA_URL = re.compile(r"^data:([\w.+-]+/[\w.+-]+)?(?:;[\w=.+-]+)*;base64,", re.ASCII)
_WHITESPACE = re.compile(r"\s+")
SLICE_CHARS = 4 * 256 * 1024  # 1 MiB of text, 768 KiB decoded, per slice


@dataclass(frozen=True)
class Base64Input:
    text: str
    mime_type: str | None  # from a data: URL prefix, if there was one

    @property
    def size(self) -> int:
        """The decoded size in bytes."""
        return len(self.text) // 4 * 3 - len(self.text[-2:]) + len(self.text[-2:].rstrip("="))

    def chunks(self) -> Iterator[bytes]:
        last = len(self.text) - SLICE_CHARS
        for start in range(0, len(self.text), SLICE_CHARS):
            piece = self.text[start:start + SLICE_CHARS]
            if start < last and piece.endswith("="):
                raise InvalidItem("fileData is not valid base64")
            try:
                yield base64.b64decode(piece, validate=True)
            except (binascii.Error, ValueError):
                raise InvalidItem("fileData is not valid base64") from None


def base64_input(value: object) -> Base64Input:
    """Parse ``fileData``: plain base64 or a ``data:<type>;base64,`` URL."""
    if not isinstance(value, str) or not value:
        raise InvalidItem("fileData must be a non-empty base64 string")
    mime_type = None
    match = _DATA_URL.match(value)
    if match:
        mime_type, value = match.group(1), value[match.end():]
    if _WHITESPACE.search(value):
        value = _WHITESPACE.sub("", value)
    if not value or len(value) % 4:
        raise InvalidItem("fileData is not valid base64")
    if not value.isascii():
        raise InvalidItem("fileData is not valid base64")
    # Padding only at the very end, at most two "=" ("QUJD====" would decode, and make
    # ``size`` — the reservation and the size limit — wrong). No copy of a large text.
    if value.find("=", 0, len(value) - 2) != -1 or (value[-2] == "=" and value[-1] != "="):
        raise InvalidItem("fileData is not valid base64")
    return Base64Input(value, mime_type)
