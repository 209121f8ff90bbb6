"""Client file names are labels, never paths: sanitise them, and make keys ourselves."""

from __future__ import annotations

import posixpath
import re
import unicodedata
from datetime import UTC, datetime
from uuid import UUID

# C0 and C1 controls; bidirectional controls (U+202E turns "report<RLO>fdp.exe" into a
# name that reads "reportexe.pdf"), which a label has no use for; lone surrogates, which
# no database or header can carry.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
                      "\ud800-\udfff]")
_UNSAFE = re.compile(r'[\\/:*?"<>|]')


def sanitize_name(name: str | None, *, max_length: int = 255) -> str:
    """A display-safe file name: no directories, control or bidirectional characters,
    or reserved marks."""
    cleaned = unicodedata.normalize("NFC", name or "")
    cleaned = cleaned.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = _UNSAFE.sub("_", _CONTROL.sub("", cleaned)).strip().strip(".")
    if not cleaned:
        return "file"
    if len(cleaned) > max_length:
        stem, ext = posixpath.splitext(cleaned)
        ext = ext[:16]
        cleaned = stem[: max_length - len(ext)] + ext
    return cleaned


def storage_key(*, scope: str, file_id: UUID, extension: str, now: datetime | None = None) -> str:
    """``<scope>/<yyyy>/<mm>/<id><ext>``: unique, unguessable, and sortable by month."""
    when = now or datetime.now(UTC)
    return f"{scope}/{when:%Y}/{when:%m}/{file_id.hex}{extension}"


def variant_key(original_key: str, spec: str, extension: str) -> str:
    stem = posixpath.splitext(original_key)[0]
    safe_spec = re.sub(r"[^A-Za-z0-9_.-]", "_", spec)
    return f"{stem}.variants/{safe_spec}{extension}"
