"""Built-in pipeline steps. The real engines (probe, thumbnails, scan, CLIP) replace
these no-ops in their own issue; the pipeline around them is already the real one."""

from __future__ import annotations

from django.utils import timezone

from apps.processing import registry
from apps.storage.models import StoredFile


def probe(stored: StoredFile) -> None:
    """No-op probe: records that the step ran (its engine comes later)."""
    stored.meta = {**stored.meta, "probed_at": timezone.now().isoformat()}
    StoredFile.objects.filter(pk=stored.pk).update(meta=stored.meta)


registry.register_step("probe", probe)
