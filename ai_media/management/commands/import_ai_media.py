"""``manage.py import_ai_media path/to/your.db``: the spec's SQLite layout into ai_media.

Reads ``media`` (``id, media_type, thumbnail_url, image_url, ai_tags`` JSON,
``clip_embedding`` float32 BLOB; ``title`` and ``created_at`` too when the table has
them) in rowid order, in chunks, and upserts each chunk through the same service as
``POST /api/media`` (one transaction a chunk). Resumable: ids already in the database
are skipped (``--update`` re-imports them), so an interrupted run, re-run, imports
nothing twice. ``--dry-run`` validates every row and reports, writing nothing.
"""

from __future__ import annotations

import queue
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from ai_media.models import Media
from ai_media.services import BulkResult, ItemError, media_upsert_many
from ai_media.validation import ItemInvalid, MediaInput, media_input

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
        parsed_tags = orjson.loads(tags) if tags else None
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
        try:
            self._import(path, options)
        except sqlite3.DatabaseError as exc:
            raise CommandError(f"cannot read {path}: {exc}") from None

    def _import(self, path: Path, options: dict[str, Any]) -> None:
        db = _open(path)
        try:
            columns = _columns(db)
            total = db.execute("SELECT count(*) FROM media").fetchone()[0]
        finally:
            db.close()
        totals = BulkResult(errors=[])
        skipped = 0
        with tqdm(total=total, unit="rows", disable=options["no_progress"]) as bar:
            for rows, items, errors in _checked_chunks(path, columns, options["chunk"]):
                if not options["update"]:
                    present = set(Media.objects.filter(pk__in=[i.id for _, i in items])
                                  .values_list("pk", flat=True))
                    skipped += sum(1 for _, i in items if i.id in present)
                    items = [(n, i) for n, i in items if i.id not in present]
                self._write(items, errors, totals, dry_run=options["dry_run"])
                bar.update(rows)
        assert totals.errors is not None
        verb = "would be written" if options["dry_run"] else "written"
        self.stdout.write(
            f"{total} rows: {totals.created} new and {totals.updated} updated {verb}, "
            f"{skipped} already imported (skipped), {len(totals.errors)} errors")
        for error in totals.errors[:50]:
            self.stdout.write(f"  row {error.index + 1} (id {error.id}): {error.error}")

    @staticmethod
    def _write(items: list[tuple[int, MediaInput]], errors: list[ItemError],
               totals: BulkResult, *, dry_run: bool) -> None:
        assert totals.errors is not None
        totals.errors.extend(errors)
        if dry_run:
            present = set(Media.objects.filter(pk__in=[i.id for _, i in items])
                          .values_list("pk", flat=True))
            totals.updated += sum(1 for _, i in items if i.id in present)
            totals.created += sum(1 for _, i in items if i.id not in present)
            return
        # one transaction a chunk: a file is not a request, and the spec's batches of 50
        # exist to isolate bad items, which the service's per-item retry does anyway
        result = media_upsert_many([item for _, item in items], batch_size=len(items) or 1)
        index = [n for n, _ in items]
        totals.errors.extend(ItemError(index[e.index], e.id, e.error)
                             for e in result.errors or [])
        totals.created += result.created
        totals.updated += result.updated


Checked = tuple[int, list[tuple[int, MediaInput]], list[ItemError]]


def _open(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)


def _checked_chunks(path: Path, columns: list[str], size: int) -> Iterator[Checked]:
    """(rows read, checked items by row index, refused rows) chunk by chunk.

    Reading and checking run in a thread of their own, one chunk ahead of the caller's
    writes: the writes mostly wait on PostgreSQL, with the GIL released, so the import
    takes about the longer of the two instead of their sum."""
    chunks: queue.Queue[Checked | BaseException | None] = queue.Queue(maxsize=2)
    stop = threading.Event()  # the consumer has gone: stop reading

    def put(chunk: Checked | BaseException | None) -> None:
        while not stop.is_set():
            try:
                chunks.put(chunk, timeout=0.1)
                return
            except queue.Full:
                continue

    def produce() -> None:
        try:
            db = _open(path)
            try:
                cursor = db.execute(f"SELECT {', '.join(columns)} FROM media "  # noqa: S608
                                    "ORDER BY rowid")
                offset = 0
                while not stop.is_set() and (rows := cursor.fetchmany(size)):
                    put(_check([dict(zip(columns, r, strict=True)) for r in rows],
                                      offset))
                    offset += len(rows)
            finally:
                db.close()
            put(None)
        except BaseException as exc:  # handed to the consumer, raised there
            put(exc)

    producer = threading.Thread(target=produce, name="import_ai_media-reader", daemon=True)
    producer.start()
    try:
        while (chunk := chunks.get()) is not None:
            if isinstance(chunk, BaseException):
                raise chunk
            yield chunk
    finally:
        stop.set()
        producer.join()


def _check(chunk: list[dict[str, Any]], offset: int) -> Checked:
    items, errors = [], []
    for n, row in enumerate(chunk, start=offset):
        try:
            items.append((n, media_input(row_to_item(row))))
        except ItemInvalid as exc:
            errors.append(ItemError(n, None if row["id"] is None else str(row["id"]), str(exc)))
    return len(chunk), items, errors
