"""``manage.py recalculate_storage_usage [--user ID …] [--dry-run]``: recount each
author's StorageUsage from their files and variants, report the drift, and fix it.

The counters are maintained in the transactions that change storage, so drift means a
bug or a hand edit; this is the operator's check and repair. Each user's row is locked
while it is recounted, so uploads in flight wait rather than race the recount.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from apps.core.ids import parse_uuid
from apps.storage.models import StoredFile
from author_media.conf import QUOTA_BUCKET
from author_media.models import StorageUsage
from author_media.usage import usage_recalculate


class Command(BaseCommand):
    help = "Recount authors' storage usage from their files; report and fix drift."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", action="append", default=[],
                            help="a user id (UUID); repeat for several; default: every author")
        parser.add_argument("--dry-run", action="store_true", help="report, change nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        ids = self._users(options["user"])
        drifted = 0
        for user_id in tqdm(ids, desc="users", unit="user", disable=len(ids) < 2):
            drift = usage_recalculate(user_id=user_id, fix=not options["dry_run"])
            if drift:
                drifted += 1
                details = ", ".join(f"{field} {old} -> {new}"
                                    for field, (old, new) in sorted(drift.items()))
                self.stdout.write(f"{user_id}: {details}")
        verb = "would be fixed" if options["dry_run"] else "fixed"
        self.stdout.write(self.style.SUCCESS(
            f"{len(ids)} user(s) checked, {drifted} with drift ({verb})."))

    def _users(self, given: list[str]) -> list[Any]:
        if given:
            maybe = [parse_uuid(value) for value in given]
            parsed = [p for p in maybe if p is not None]
            if len(parsed) != len(maybe):
                raise CommandError("--user takes user ids (UUIDs)")
            known = set(get_user_model().objects.filter(pk__in=parsed)
                        .values_list("pk", flat=True))
            missing = [str(p) for p in parsed if p not in known]
            if missing:
                raise CommandError(f"no such user: {', '.join(missing)}")
            return parsed
        with_files = StoredFile.objects.filter(quota_bucket=QUOTA_BUCKET,
                                               owner_user__isnull=False)
        return sorted(set(with_files.values_list("owner_user_id", flat=True))
                      | set(StorageUsage.objects.values_list("user_id", flat=True)))
