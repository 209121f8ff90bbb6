"""Client names are labels: sanitised for display, never part of a storage key."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import pytest

from apps.storage.naming import sanitize_name, storage_key, variant_key


@pytest.mark.parametrize(("raw", "clean"), [
    ("photo.jpg", "photo.jpg"),
    ("../../etc/passwd", "passwd"),
    ("C:\\Users\\bob\\cv.pdf", "cv.pdf"),
    ("re:port?*.pdf", "re_port__.pdf"),
    ('say "hi" <now>|.txt', "say _hi_ _now__.txt"),
    ("evil\x00name\r\n.png", "evilname.png"),
    ("  ..hidden.  ", "hidden"),
    ("...", "file"),
    ("dir/", "file"),
    ("", "file"),
    (None, "file"),
    ("Cafe\u0301.png", "Caf\u00e9.png"),  # NFC
    ("Отпуск ✓.png", "Отпуск ✓.png"),
])
def test_sanitize_name(raw: str | None, clean: str) -> None:
    assert sanitize_name(raw) == clean


def test_long_names_keep_their_extension() -> None:
    cleaned = sanitize_name("a" * 400 + ".jpeg")
    assert len(cleaned) == 255
    assert cleaned.endswith(".jpeg")


def test_storage_key_is_scope_month_and_id() -> None:
    file_id = UUID("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b")
    key = storage_key(scope="u/42", file_id=file_id, extension=".png",
                      now=datetime(2025, 3, 9, tzinfo=UTC))
    assert key == "u/42/2025/03/0190a1b2c3d47e5f8a9b0c1d2e3f4a5b.png"


def test_variant_key_sits_beside_its_original() -> None:
    key = variant_key("u/42/2025/03/abc.png", "thumb:256x256 crop", ".webp")
    assert key == "u/42/2025/03/abc.variants/thumb_256x256_crop.webp"
