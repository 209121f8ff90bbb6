"""import_ai_media on a SQLite database the test builds: import, re-run, dry run."""

from __future__ import annotations

import io
import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command

from ai_media.models import Media, MediaEmbedding, TagCount

pytestmark = pytest.mark.django_db


def build(path: Path, n: int) -> None:
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE media (id TEXT PRIMARY KEY, media_type TEXT, thumbnail_url TEXT,"
               " image_url TEXT, ai_tags TEXT, clip_embedding BLOB)")
    rng = np.random.default_rng(0)
    for i in range(n):
        db.execute("INSERT INTO media VALUES (?, ?, ?, ?, ?, ?)", (
            f"sq-{i}", "image", None, f"https://cdn.example.com/{i}.jpg",
            json.dumps({"hair": ["blonde"]}), rng.normal(size=512).astype("<f4").tobytes()))
    db.execute("INSERT INTO media VALUES ('bad', 'image', NULL, 'ftp://x', NULL, x'0000')")
    db.commit()
    db.close()


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("import_ai_media", *args, "--no-progress", stdout=out)
    return out.getvalue()


def test_import_rerun_and_dry_run(tmp_path: Path) -> None:
    path = tmp_path / "your.db"
    build(path, 7)
    dry = run(str(path), "--dry-run")
    assert "7 new" in dry and "1 errors" in dry and not Media.objects.exists()
    first = run(str(path), "--chunk", "3")
    assert "7 new" in first and "1 errors" in first
    assert Media.objects.count() == 7 and MediaEmbedding.objects.count() == 7
    assert TagCount.objects.get(tag_value="blonde").count == 7
    again = run(str(path))
    assert "0 new" in again and "7 already imported" in again
    assert TagCount.objects.get(tag_value="blonde").count == 7
