"""``manage.py import_admin_media export.jsonl``: media from a JSON Lines export.

Each line is one media in the shape ``GET /api/admin/media`` answers with (``id``,
``url``, ``type``, ``mediaType``, ``supabaseId``, ``recordId``, ``taskId``,
``aspectRatio``, ``uploadSource``, ``category``, ``meta``, ``isDelete``, ``createdAt``,
``updatedAt``), checked like ``POST`` checks a media (ingest.media_fields). Lines are
written in batches, one INSERT … ON CONFLICT each (the triggers keep the category entries
and tallies exact per statement). Resumable: ids already in the table are skipped
(``--update`` overwrites them), so a re-run after an interruption imports nothing twice.
A bad line is reported with its number and skipped; ``--dry-run`` checks every line and
writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone
from tqdm import tqdm

from admin_media.errors import InvalidRequest
from admin_media.ingest import media_fields
from admin_media.models import Media

BATCH = 500
SHOWN_ERRORS = 20
UPDATABLE = ["supabase_id", "record_id", "task_id", "url", "type", "media_type",
             "aspect_ratio", "upload_source", "category", "meta", "is_delete", "created_at",
             "updated_at"]


class Command(BaseCommand):
    help = "Import media from a JSON Lines export (one media per line, as GET shows it)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument("--dry-run", action="store_true",
                            help="Check every line and report; write nothing.")
        parser.add_argument("--update", action="store_true",
                            help="Overwrite media whose id is already in the table.")
        parser.add_argument("--batch", type=int, default=BATCH)
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["path"]
        if not path.is_file():
            raise CommandError(f"no such file: {path}")
        if options["batch"] < 1:
            raise CommandError("--batch must be at least 1")
        counts = {"new": 0, "updated": 0, "skipped": 0}
        errors: list[str] = []
        with path.open("rb") as raw, tqdm(total=path.stat().st_size, unit="B",
                                          unit_scale=True, disable=options["no_progress"],
                                          desc="import_admin_media") as bar:
            for batch in _batches(raw, options["batch"], errors, bar):
                if not options["dry_run"]:
                    _write(batch, update=options["update"], counts=counts)
                else:
                    counts["new"] += len(batch)
        verb = "would import" if options["dry_run"] else "imported"
        self.stdout.write(f"{verb}: {counts['new']} new, {counts['updated']} updated, "
                          f"{counts['skipped']} skipped (already imported), "
                          f"{len(errors)} errors")
        for line in errors[:SHOWN_ERRORS]:
            self.stdout.write(f"  {line}")
        if len(errors) > SHOWN_ERRORS:
            self.stdout.write(f"  … and {len(errors) - SHOWN_ERRORS} more")


def _batches(raw: Any, size: int, errors: list[str], bar: Any
             ) -> Iterator[dict[str, dict[str, Any]]]:
    """Checked lines, ``size`` at a time, by id (a repeated id: the last line wins)."""
    batch: dict[str, dict[str, Any]] = {}
    for number, line in enumerate(raw, start=1):
        bar.update(len(line))
        if not line.strip():
            continue
        try:
            fields = _fields(line)
        except InvalidRequest as exc:
            errors.append(f"line {number}: {exc.message}")
            continue
        batch[fields["id"]] = fields
        if len(batch) >= size:
            yield batch
            batch = {}
    if batch:
        yield batch


def _fields(line: bytes) -> dict[str, Any]:
    try:
        body = orjson.loads(line)
    except orjson.JSONDecodeError:
        raise InvalidRequest("not valid JSON") from None
    if not isinstance(body, dict):
        raise InvalidRequest("not a JSON object")
    if not body.get("id"):
        raise InvalidRequest("id is missing")  # a made-up id would import it twice
    fields = media_fields(body, exported=True)
    now = timezone.now()
    fields.setdefault("created_at", now)
    fields.setdefault("updated_at", fields["created_at"])
    return fields


def _write(batch: dict[str, dict[str, Any]], *, update: bool, counts: dict[str, int]) -> None:
    with transaction.atomic():
        existing = set(Media.objects.filter(pk__in=list(batch)).values_list("pk", flat=True))
        rows = [Media(**fields) for media_id, fields in batch.items()
                if update or media_id not in existing]
        if update:
            Media.objects.bulk_create(rows, update_conflicts=True, unique_fields=["id"],
                                      update_fields=UPDATABLE)
        else:
            Media.objects.bulk_create(rows, ignore_conflicts=True)
    counts["updated"] += len(existing) if update else 0
    counts["skipped"] += 0 if update else len(existing)
    counts["new"] += len(batch) - len(existing)
