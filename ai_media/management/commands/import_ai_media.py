"""``manage.py import_ai_media path/to/your.db``: the spec's SQLite layout into ai_media.

Reads ``media`` (``id, media_type, thumbnail_url, image_url, ai_tags`` JSON,
``clip_embedding`` float32 BLOB; ``title`` and ``created_at`` too when the table has
them) in rowid order, in chunks, and upserts each chunk through the same service as
``POST /api/media``. Resumable: ids already in the database are skipped (``--update``
re-imports them), so an interrupted run, re-run, imports nothing twice. ``--dry-run``
validates every row and reports, writing nothing.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from ai_media.models import Media
from ai_media.services import BulkResult, ItemError, media_upsert_many
from ai_media.validation import ItemInvalid, media_input

CHUNK = 500
_REQUIRED = ("id", "media_type", "thumbnail_url", "image_url", "ai_tags", "clip_embedding")
_OPTIONAL = ("title", "created_at")


def _columns(db: sqlite3.Connection) -> list[str]:
    present = {row[1] for row in db.execute("PRAGMA table_info(media)")}
    if not present:
        raise CommandError("the database has no 'media' table")
    missing = [c for c in _REQUIRED if c not in present]
    if missing:
        raise CommandError(f"the media table lacks column(s): {', '.join(missing)}")
    return [*_REQUIRED, *(c for c in _OPTIONAL if c in present)]


def row_to_item(row: dict[str, Any]) -> dict[str, Any]:
    """One SQLite row as an API item; ItemInvalid for what cannot be read at all."""
    if row["id"] is None:  # a generated id would make every re-run import the row again
        raise ItemInvalid("id is missing")
    tags = row.get("ai_tags")
    if isinstance(tags, bytes):
        tags = tags.decode("utf-8", "replace")
    try:
        parsed_tags = json.loads(tags) if tags else None
    except ValueError:
        raise ItemInvalid("ai_tags is not valid JSON") from None
    blob = row.get("clip_embedding")
    embedding = None
    if blob is not None:
        if not isinstance(blob, bytes) or len(blob) % 4:
            raise ItemInvalid("clip_embedding is not a float32 BLOB")
        embedding = np.frombuffer(blob, dtype="<f4")
    item = {"id": None if row["id"] is None else str(row["id"]),
            "media_type": row["media_type"], "thumbnail_url": row["thumbnail_url"],
            "media_url": row["image_url"], "ai_tags": parsed_tags, "clip_embedding": embedding}
    for name in _OPTIONAL:
        if row.get(name) is not None:
            item[name] = str(row[name])
    return item


class Command(BaseCommand):
    help = "Import media, tags and CLIP embeddings from a SQLite database (the spec's layout)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument("--dry-run", action="store_true",
                            help="Validate and report; write nothing.")
        parser.add_argument("--update", action="store_true",
                            help="Re-import ids that are already in the database.")
        parser.add_argument("--chunk", type=int, default=CHUNK)
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["path"]
        if not path.is_file():
            raise CommandError(f"{path} is not a file")
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            self._import(db, options)
        except sqlite3.DatabaseError as exc:
            raise CommandError(f"cannot read {path}: {exc}") from None
        finally:
            db.close()

    def _import(self, db: sqlite3.Connection, options: dict[str, Any]) -> None:
        columns = _columns(db)
        total = db.execute("SELECT count(*) FROM media").fetchone()[0]
        cursor = db.execute(f"SELECT {', '.join(columns)} FROM media ORDER BY rowid")  # noqa: S608
        totals = BulkResult(errors=[])
        skipped = offset = 0
        with tqdm(total=total, unit="rows", disable=options["no_progress"]) as bar:
            while rows := cursor.fetchmany(options["chunk"]):
                chunk = [dict(zip(columns, row, strict=True)) for row in rows]
                items, errors = self._items(chunk, offset)
                if not options["update"]:
                    present = set(Media.objects.filter(
                        pk__in=[i["id"] for _, i in items if i["id"]]).values_list("pk", flat=True))
                    skipped += sum(1 for _, i in items if i["id"] in present)
                    items = [(n, i) for n, i in items if i["id"] not in present]
                self._write(items, errors, totals, dry_run=options["dry_run"])
                offset += len(rows)
                bar.update(len(rows))
        assert totals.errors is not None
        verb = "would be written" if options["dry_run"] else "written"
        self.stdout.write(
            f"{total} rows: {totals.created} new and {totals.updated} updated {verb}, "
            f"{skipped} already imported (skipped), {len(totals.errors)} errors")
        for error in totals.errors[:50]:
            self.stdout.write(f"  row {error.index + 1} (id {error.id}): {error.error}")

    @staticmethod
    def _items(chunk: list[dict[str, Any]], offset: int
               ) -> tuple[list[tuple[int, dict[str, Any]]], list[ItemError]]:
        items, errors = [], []
        for n, row in enumerate(chunk, start=offset):
            try:
                items.append((n, row_to_item(row)))
            except ItemInvalid as exc:
                errors.append(ItemError(n, None if row["id"] is None else str(row["id"]),
                                        str(exc)))
        return items, errors

    @staticmethod
    def _write(items: list[tuple[int, dict[str, Any]]], errors: list[ItemError],
               totals: BulkResult, *, dry_run: bool) -> None:
        assert totals.errors is not None
        totals.errors.extend(errors)
        if dry_run:
            present = set(Media.objects.filter(pk__in=[i["id"] for _, i in items])
                          .values_list("pk", flat=True))
            for n, item in items:
                try:
                    media_input(item)
                except ItemInvalid as exc:
                    totals.errors.append(ItemError(n, item["id"], str(exc)))
                    continue
                if item["id"] in present:
                    totals.updated += 1
                else:
                    totals.created += 1
            return
        result = media_upsert_many([item for _, item in items])
        index = [n for n, _ in items]
        totals.errors.extend(ItemError(index[e.index], e.id, e.error)
                             for e in result.errors or [])
        totals.created += result.created
        totals.updated += result.updated
