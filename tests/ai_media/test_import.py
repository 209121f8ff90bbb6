"""manage.py import_ai_media on SQLite databases the tests build in the spec's layout:
the report, resumability, --update, --dry-run, bad rows by row number, bad databases."""

from __future__ import annotations

import io
import json
import re
import sqlite3
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from ai_media.models import Media, MediaEmbedding, MediaTag, TagCount
from tests.ai_media.factories import item, upsert, vec

pytestmark = pytest.mark.django_db

SPEC_COLUMNS = ("id TEXT PRIMARY KEY, media_type TEXT, thumbnail_url TEXT, image_url TEXT, "
                "ai_tags TEXT, clip_embedding BLOB")


def blob(vector: np.ndarray) -> bytes:
    return vector.astype("<f4").tobytes()


def create(path: Path, columns: str = SPEC_COLUMNS) -> sqlite3.Connection:
    db = sqlite3.connect(path)
    db.execute(f"CREATE TABLE media ({columns})")
    return db


def add(db: sqlite3.Connection, **values: Any) -> None:
    names = ", ".join(values)
    marks = ", ".join("?" for _ in values)
    db.execute(f"INSERT INTO media ({names}) VALUES ({marks})", list(values.values()))  # noqa: S608
    db.commit()


def row(n: int, **override: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "id": f"sq-{n}", "media_type": "video" if n % 3 == 0 else "image",
        "thumbnail_url": f"https://cdn.example.com/t/{n}.jpg" if n % 2 else None,
        "image_url": f"https://cdn.example.com/{n}.jpg",
        "ai_tags": json.dumps({"hair": ["blonde" if n % 2 else "red"], "setting": ["beach"]}),
        "clip_embedding": blob(vec(n)),
    }
    values.update(override)
    return values


def build(path: Path, n: int, columns: str = SPEC_COLUMNS) -> sqlite3.Connection:
    db = create(path, columns)
    for i in range(n):
        add(db, **row(i))
    return db


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("import_ai_media", *[str(a) for a in args], "--no-progress", stdout=out)
    return out.getvalue()


def summary(output: str) -> dict[str, int]:
    match = re.search(r"^(\d+) rows: (\d+) new and (\d+) updated (?:would be )?written, "
                      r"(\d+) already imported \(skipped\), (\d+) errors$", output, re.M)
    assert match, output
    total, new, updated, skipped, errors = map(int, match.groups())
    return {"rows": total, "new": new, "updated": updated, "skipped": skipped,
            "errors": errors}


def error_lines(output: str) -> list[str]:
    return [line.strip() for line in output.splitlines() if line.startswith("  row ")]


def test_imports_the_spec_layout(tmp_path: Path) -> None:
    build(tmp_path / "your.db", 7)
    output = run(tmp_path / "your.db")
    assert summary(output) == {"rows": 7, "new": 7, "updated": 0, "skipped": 0, "errors": 0}
    assert "would be" not in output and error_lines(output) == []
    assert Media.objects.count() == 7 and MediaEmbedding.objects.count() == 7
    m3 = Media.objects.get(pk="sq-3")
    assert m3.media_type == "video" and m3.media_url == "https://cdn.example.com/3.jpg"
    assert m3.thumbnail_url == "https://cdn.example.com/t/3.jpg" and m3.title is None
    assert Media.objects.get(pk="sq-2").thumbnail_url is None
    assert set(MediaTag.objects.filter(media_id="sq-3").values_list("tag_category", "tag_value")
               ) == {("hair", "blonde"), ("setting", "beach")}
    np.testing.assert_array_equal(
        np.asarray(MediaEmbedding.objects.get(media_id="sq-5").embedding, dtype=np.float32),
        vec(5))
    assert dict(TagCount.objects.values_list("tag_value", "count")) == {
        "blonde": 3, "red": 4, "beach": 7}


def test_optional_title_and_created_at(tmp_path: Path) -> None:
    db = create(tmp_path / "x.db", SPEC_COLUMNS + ", title TEXT, created_at TEXT")
    add(db, **row(1), title="One", created_at="2026-02-18T12:00:00Z")
    add(db, **row(2), title=None, created_at="2026-02-18 09:30:00")  # SQLite's own format
    add(db, **row(3), title="Three", created_at=None)
    output = run(tmp_path / "x.db")
    assert summary(output)["new"] == 3
    one, two = Media.objects.get(pk="sq-1"), Media.objects.get(pk="sq-2")
    assert one.title == "One" and one.created_at.isoformat() == "2026-02-18T12:00:00+00:00"
    assert two.title is None and two.created_at.isoformat() == "2026-02-18T09:30:00+00:00"
    assert Media.objects.get(pk="sq-3").title == "Three"


def test_rows_without_tags_or_embedding_and_other_id_types(tmp_path: Path) -> None:
    db = create(tmp_path / "x.db", SPEC_COLUMNS.replace("id TEXT PRIMARY KEY", "id"))
    add(db, **row(1, ai_tags=None, clip_embedding=None))
    add(db, **row(2, ai_tags="", id=42))
    add(db, **row(3, ai_tags=json.dumps({"hair": ["red"]}).encode()))  # JSON stored as a BLOB
    output = run(tmp_path / "x.db")
    assert summary(output)["new"] == 3, output
    assert not MediaTag.objects.filter(media_id__in=["sq-1", "42"]).exists()
    assert not MediaEmbedding.objects.filter(media_id="sq-1").exists()
    assert Media.objects.filter(pk="42").exists()
    assert list(MediaTag.objects.filter(media_id="sq-3").values_list("tag_value", flat=True)) == [
        "red"]


def test_bad_rows_are_reported_by_row_number(tmp_path: Path) -> None:
    db = create(tmp_path / "x.db")
    rows = [row(i) for i in range(10)]
    rows[1]["media_type"] = "gif"
    rows[2]["ai_tags"] = "{not json"
    rows[4]["clip_embedding"] = b"\x00" * 5
    rows[6]["clip_embedding"] = blob(vec(6)[:511])
    rows[7]["image_url"] = "ftp://cdn.example.com/7.jpg"
    rows[8]["ai_tags"] = json.dumps({"hair": "blonde"})
    for values in rows:
        add(db, **values)
    output = run(tmp_path / "x.db", "--chunk", "3")
    assert summary(output) == {"rows": 10, "new": 4, "updated": 0, "skipped": 0, "errors": 6}
    assert sorted(error_lines(output)) == sorted([
        "row 2 (id sq-1): media_type must be 'image' or 'video'",
        "row 3 (id sq-2): ai_tags is not valid JSON",
        "row 5 (id sq-4): clip_embedding is not a float32 BLOB",
        "row 7 (id sq-6): clip_embedding must be 512 finite numbers",
        "row 8 (id sq-7): media_url must be an http(s) URL",
        "row 9 (id sq-8): ai_tags.hair must be a list of strings",
    ])
    assert set(Media.objects.values_list("id", flat=True)) == {"sq-0", "sq-3", "sq-5", "sq-9"}


def test_at_most_50_reasons_are_printed(tmp_path: Path) -> None:
    db = create(tmp_path / "x.db")
    for i in range(55):
        add(db, **row(i, media_type="audio"))
    output = run(tmp_path / "x.db")
    assert summary(output)["errors"] == 55
    lines = error_lines(output)
    assert len(lines) == 50 and lines[0].startswith("row 1 (id sq-0)")


def test_a_rerun_imports_nothing(tmp_path: Path) -> None:
    build(tmp_path / "x.db", 6)
    run(tmp_path / "x.db", "--chunk", "4")
    before = list(Media.objects.order_by("id").values_list("id", "created_at", "title"))
    output = run(tmp_path / "x.db")
    assert summary(output) == {"rows": 6, "new": 0, "updated": 0, "skipped": 6, "errors": 0}
    assert list(Media.objects.order_by("id").values_list("id", "created_at", "title")) == before
    assert TagCount.objects.get(tag_value="beach").count == 6


def test_an_interrupted_import_resumes(tmp_path: Path) -> None:
    db = build(tmp_path / "x.db", 8)
    upsert([item("sq-2", title="already here"), item("sq-5", title="already here")])
    add(db, **row(8, media_type="audio"))  # a bad row after the skipped ones
    output = run(tmp_path / "x.db", "--chunk", "3")
    assert summary(output) == {"rows": 9, "new": 6, "updated": 0, "skipped": 2, "errors": 1}
    assert error_lines(output) == ["row 9 (id sq-8): media_type must be 'image' or 'video'"]
    assert Media.objects.get(pk="sq-2").title == "already here"  # skipped, not overwritten
    assert Media.objects.count() == 8


def test_update_reimports_existing_rows(tmp_path: Path) -> None:
    db = build(tmp_path / "x.db", 4)
    run(tmp_path / "x.db")
    db.execute("UPDATE media SET ai_tags = ?, clip_embedding = NULL WHERE id = 'sq-1'",
               [json.dumps({"pose": ["sitting"]})])
    db.commit()
    add(db, **row(4))
    output = run(tmp_path / "x.db", "--update")
    assert summary(output) == {"rows": 5, "new": 1, "updated": 4, "skipped": 0, "errors": 0}
    assert list(MediaTag.objects.filter(media_id="sq-1").values_list("tag_value", flat=True)
                ) == ["sitting"]
    assert not MediaEmbedding.objects.filter(media_id="sq-1").exists()
    assert TagCount.objects.get(tag_value="beach").count == 4


def test_dry_run_writes_nothing(tmp_path: Path) -> None:
    db = build(tmp_path / "x.db", 5)
    add(db, **row(5, image_url="not a url"))
    output = run(tmp_path / "x.db", "--dry-run")
    assert "would be written" in output
    assert summary(output) == {"rows": 6, "new": 5, "updated": 0, "skipped": 0, "errors": 1}
    assert error_lines(output) == ["row 6 (id sq-5): media_url must be an http(s) URL"]
    assert not Media.objects.exists() and not TagCount.objects.exists()
    assert not MediaEmbedding.objects.exists()


def test_dry_run_after_an_import(tmp_path: Path) -> None:
    db = build(tmp_path / "x.db", 3)
    run(tmp_path / "x.db")
    add(db, **row(3))
    assert summary(run(tmp_path / "x.db", "--dry-run")) == {
        "rows": 4, "new": 1, "updated": 0, "skipped": 3, "errors": 0}
    assert summary(run(tmp_path / "x.db", "--dry-run", "--update")) == {
        "rows": 4, "new": 1, "updated": 3, "skipped": 0, "errors": 0}
    assert Media.objects.count() == 3


def test_rows_without_an_id_are_reported_not_duplicated(tmp_path: Path) -> None:
    db = create(tmp_path / "x.db", SPEC_COLUMNS.replace("id TEXT PRIMARY KEY", "id TEXT"))
    add(db, **row(1))
    add(db, **row(2, id=None))
    first = run(tmp_path / "x.db")
    second = run(tmp_path / "x.db")
    assert Media.objects.count() == 1  # a re-run would otherwise copy the row again
    assert summary(first)["errors"] == 1 and summary(second)["errors"] == 1
    assert error_lines(first) == ["row 2 (id None): id is missing"]


def test_a_missing_table_or_columns_is_a_command_error(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "none.db")
    db.execute("CREATE TABLE other (id TEXT)")
    db.commit()
    with pytest.raises(CommandError, match="the database has no 'media' table"):
        run(tmp_path / "none.db")
    create(tmp_path / "cols.db", "id TEXT, media_type TEXT, thumbnail_url TEXT, ai_tags TEXT")
    with pytest.raises(CommandError) as caught:
        run(tmp_path / "cols.db")
    assert str(caught.value) == "the media table lacks column(s): image_url, clip_embedding"
    assert not Media.objects.exists()


def test_a_path_that_is_not_a_database_is_a_command_error(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="is not a file"):
        run(tmp_path / "missing.db")
    with pytest.raises(CommandError, match="is not a file"):
        run(tmp_path)
    (tmp_path / "junk.db").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(CommandError, match="cannot read"):
        run(tmp_path / "junk.db")


def test_the_database_is_opened_read_only(tmp_path: Path) -> None:
    build(tmp_path / "x.db", 2)
    before = (tmp_path / "x.db").read_bytes()
    run(tmp_path / "x.db")
    assert (tmp_path / "x.db").read_bytes() == before


@pytest.mark.django_db(transaction=True)
def test_parallel_writers_import_every_row_once_and_report_in_row_order(
        tmp_path: Path) -> None:
    """Outside a transaction the chunks go to writer threads on their own connections."""
    db = build(tmp_path / "x.db", 23)
    add(db, **row(23, media_type="audio"))
    add(db, **row(24, image_url="ftp://x"))
    upsert([item("sq-4", title="already here")])
    output = run(tmp_path / "x.db", "--chunk", "3", "--workers", "3")
    assert summary(output) == {"rows": 25, "new": 22, "updated": 0, "skipped": 1, "errors": 2}
    assert error_lines(output) == ["row 24 (id sq-23): media_type must be 'image' or 'video'",
                                   "row 25 (id sq-24): media_url must be an http(s) URL"]
    assert Media.objects.count() == 23 and MediaEmbedding.objects.count() == 22
    assert TagCount.objects.get(tag_value="beach").count == 22
    assert not [t for t in threading.enumerate() if t.name.startswith("import_ai_media-")]


@pytest.mark.django_db(transaction=True)
def test_a_failed_writer_stops_the_import(tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from ai_media.management.commands import import_ai_media

    build(tmp_path / "x.db", 30)
    real = import_ai_media.media_upsert_many
    calls: list[int] = []

    def failing(items: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("the database went away")
        return real(items, **kwargs)

    monkeypatch.setattr(import_ai_media, "media_upsert_many", failing)
    with pytest.raises(RuntimeError, match="went away"):
        run(tmp_path / "x.db", "--chunk", "2", "--workers", "2")
    assert len(calls) < 15  # stopped, not run to the end
    assert not [t for t in threading.enumerate() if t.name.startswith("import_ai_media-")]


@pytest.mark.parametrize("option", ["--chunk", "--workers"])
def test_chunk_and_workers_must_be_positive(tmp_path: Path, option: str) -> None:
    build(tmp_path / "x.db", 1)
    with pytest.raises(CommandError, match="at least 1"):
        run(tmp_path / "x.db", option, "0")
