"""``manage.py regenerate_variants --spec thumb-256 --progress``: rebuild stale variants.

Only files whose variant of the spec is missing, made under an older definition or from
older bytes are touched, so after changing one spec in settings this re-renders just
that spec. ``--all`` re-renders every file regardless; ``--queue`` hands the work to the
workers (the ``media`` queue) instead of doing it in this process.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from apps.processing import variants
from apps.processing.engines.variant_specs import SpecError
from apps.processing.errors import PermanentError
from apps.storage.models import StoredFile


class Command(BaseCommand):
    help = "Re-render variants that are missing or stale for the given spec(s)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--spec", action="append", dest="specs", metavar="NAME",
                            help="A spec name from PROCESSING['VARIANT_SPECS'] (repeatable; "
                                 "default: every spec).")
        parser.add_argument("--all", action="store_true",
                            help="Re-render every processed image, fresh or not.")
        parser.add_argument("--progress", action="store_true", help="Show a progress bar.")
        parser.add_argument("--queue", action="store_true",
                            help="Queue one task per file for the workers instead.")
        parser.add_argument("--batch", type=int, default=500, help="Rows read per query.")

    def handle(self, *args: Any, **options: Any) -> None:
        specs = variants.configured_specs()
        names = options["specs"] or list(specs)
        unknown = sorted(set(names) - set(specs))
        if unknown:
            raise CommandError(f"Unknown spec(s): {', '.join(unknown)}. "
                               f"Configured: {', '.join(sorted(specs))}.")
        files = StoredFile.objects.none()
        for name in names:
            files = files | variants.stale_files(specs[name])
        if options["all"]:
            files = variants.servable_images()
        total = files.count()
        done = failed = 0
        bar = tqdm(total=total, unit="file", disable=not options["progress"],
                   file=self.stderr._out)
        for stored in files.order_by("pk").iterator(chunk_size=options["batch"]):
            if options["queue"]:
                from apps.processing.tasks import regenerate_variants

                regenerate_variants.apply_async(kwargs={"stored_file_id": str(stored.pk),
                                                        "spec_names": names,
                                                        "force": options["all"]})
                done += 1
            else:
                try:
                    variants.variants_generate(stored, spec_names=names, force=options["all"])
                    done += 1
                except (PermanentError, SpecError) as exc:
                    failed += 1
                    self.stderr.write(f"{stored.pk}: {exc}")
            bar.update(1)
        bar.close()
        verb = "queued" if options["queue"] else "regenerated"
        self.stdout.write(f"{done} file(s) {verb}, {failed} failed, for spec(s) "
                          f"{', '.join(names)}.")
