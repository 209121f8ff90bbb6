"""``manage.py import_ai_media path/to/your.db``: the spec's SQLite layout into ai_media.

Reads ``media`` (``id, media_type, thumbnail_url, image_url, ai_tags`` JSON,
``clip_embedding`` float32 BLOB; ``title`` and ``created_at`` too when the table has
them) in rowid order, in chunks, and upserts each chunk through the same service as
``POST /api/media`` (one transaction a chunk). Resumable: ids already in the database
are skipped (``--update`` re-imports them), so an interrupted run, re-run, imports
nothing twice. ``--dry-run`` validates every row and reports, writing nothing.

Chunks are written by ``--workers`` threads (default 2), each on its own database
connection: a chunk's COPYs and commit mostly wait on PostgreSQL, which then works on
two chunks at once while Python prepares the next. Inside a caller's transaction
(``atomic()``) the command writes in that transaction, on its one connection.
"""

from __future__ import annotations

import contextlib
import functools
import queue
import sqlite3
import threading
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, connections
from tqdm import tqdm

from ai_media.models import EMBEDDING_DIMENSIONS, Media
from ai_media.services import BulkResult, ItemError, media_upsert_many
from ai_media.validation import ItemInvalid, MediaInput, media_input

CHUNK = 500
WORKERS = 2
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
        if len(blob) != 4 * EMBEDDING_DIMENSIONS:
            raise ItemInvalid(f"clip_embedding must be {EMBEDDING_DIMENSIONS} finite numbers")
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
        parser.add_argument("--workers", type=int, default=WORKERS,
                            help="Chunks written at once, each on its own connection.")
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
        if options["chunk"] < 1 or options["workers"] < 1:
            raise CommandError("--chunk and --workers must be at least 1")
        totals = Written(errors=[])
        write = functools.partial(_write_chunk, dry_run=options["dry_run"],
                                  update=options["update"])
        # a caller's transaction, and a dry run's reads, stay on this thread's connection
        workers = 1 if connection.in_atomic_block or options["dry_run"] else options["workers"]
        with contextlib.closing(_checked_chunks(path, columns, options["chunk"])) as chunks, \
                tqdm(total=total, unit="rows", disable=options["no_progress"]) as bar:
            for written in _in_parallel(write, chunks, workers):
                totals.add(written)
                bar.update(written.rows)
        errors = sorted(totals.errors or [], key=lambda error: error.index)
        verb = "would be written" if options["dry_run"] else "written"
        self.stdout.write(
            f"{total} rows: {totals.created} new and {totals.updated} updated {verb}, "
            f"{totals.skipped} already imported (skipped), {len(errors)} errors")
        for error in errors[:50]:
            self.stdout.write(f"  row {error.index + 1} (id {error.id}): {error.error}")


@dataclass
class Written(BulkResult):
    """What became of some rows of the file."""

    rows: int = 0
    skipped: int = 0

    def add(self, other: Written) -> None:
        assert self.errors is not None and other.errors is not None
        self.rows, self.skipped = self.rows + other.rows, self.skipped + other.skipped
        self.created, self.updated = self.created + other.created, self.updated + other.updated
        self.errors.extend(other.errors)


def _write_chunk(chunk: Checked, *, dry_run: bool, update: bool) -> Written:
    """One chunk's checked rows written (or, dry, counted) in one transaction."""
    rows, items, errors = chunk
    written = Written(rows=rows, errors=list(errors))
    assert written.errors is not None
    present = set(Media.objects.filter(pk__in=[i.id for _, i in items])
                  .values_list("pk", flat=True))
    if not update:
        written.skipped = sum(1 for _, i in items if i.id in present)
        items = [(n, i) for n, i in items if i.id not in present]
    if dry_run:
        written.updated = sum(1 for _, i in items if i.id in present)
        written.created = len(items) - written.updated
        return written
    # one transaction a chunk: a file is not a request, and the spec's batches of 50
    # exist to isolate bad items, which the service's per-item retry does anyway
    result = media_upsert_many([item for _, item in items], batch_size=len(items) or 1)
    index = [n for n, _ in items]
    written.errors.extend(ItemError(index[e.index], e.id, e.error) for e in result.errors or [])
    written.created, written.updated = result.created, result.updated
    return written


def _in_parallel(write: Callable[[Checked], Written], chunks: Iterable[Checked],
                 workers: int) -> Iterator[Written]:
    """``write`` over ``chunks`` by ``workers`` threads (inline for one), each closing
    its connection when done; results as they come. A failed write stops the others
    and is raised here."""
    if workers == 1:
        yield from map(write, chunks)
        return
    todo: queue.Queue[Checked | None] = queue.Queue(maxsize=workers)
    done: queue.Queue[Written | BaseException] = queue.Queue()
    failed = threading.Event()  # a write failed, or the caller went away: all stop

    def work() -> None:
        try:
            while not failed.is_set():
                try:
                    chunk = todo.get(timeout=0.1)
                except queue.Empty:
                    continue
                if chunk is None:
                    return
                try:
                    done.put(write(chunk))
                except BaseException as exc:  # raised by the caller
                    failed.set()
                    done.put(exc)
        finally:
            connections.close_all()

    def hand_over(chunk: Checked | None) -> None:
        while not failed.is_set():
            try:
                todo.put(chunk, timeout=0.1)
                return
            except queue.Full:
                continue

    threads = [threading.Thread(target=work, name=f"import_ai_media-writer-{n}", daemon=True)
               for n in range(workers)]
    for thread in threads:
        thread.start()
    finished = False
    try:
        for chunk in chunks:
            hand_over(chunk)
            while not done.empty():
                yield _result(done.get())
        for _ in threads:
            hand_over(None)
        finished = True
    finally:
        if not finished:
            failed.set()
        for thread in threads:
            thread.join()
    while not done.empty():
        yield _result(done.get())


def _result(value: Written | BaseException) -> Written:
    if isinstance(value, BaseException):
        raise value
    return value


Checked = tuple[int, list[tuple[int, MediaInput]], list[ItemError]]


def _open(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)


def _checked_chunks(path: Path, columns: list[str], size: int
                    ) -> Generator[Checked, None, None]:
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
