"""Built-in pipeline steps, registered by name for feature apps to list."""

from __future__ import annotations

from django.utils import timezone

from apps.processing import registry
from apps.processing.conf import processing_settings
from apps.processing.engines.probe import probe_image
from apps.storage.blobs import blob_store
from apps.storage.models import MediaKind, StoredFile


def probe(stored: StoredFile) -> None:
    """Read dimensions, frames, orientation, colour and blurhash from an image's bytes.

    Raises ProbeRefused (a PermanentError: the file ends ``failed`` with the reason) for
    formats outside the allow-list, images over the pixel budget and corrupt files.
    Other kinds (video: its own engine) only record that the step ran.
    """
    fields: dict[str, object] = {}
    meta = {**stored.meta, "probed_at": timezone.now().isoformat()}
    if stored.kind in (MediaKind.IMAGE, MediaKind.GIF):
        with blob_store.open(stored) as handle:
            result = probe_image(
                handle,
                allowed_formats=tuple(processing_settings.IMAGE_FORMATS),
                max_pixels=int(processing_settings.MAX_IMAGE_PIXELS),
                max_animation_pixels=int(processing_settings.MAX_ANIMATION_PIXELS),
            )
        fields = {"width": result.width, "height": result.height,
                  "frame_count": result.frame_count, "dominant_color": result.dominant_color,
                  "blurhash": result.blurhash}
        meta["orientation"] = result.orientation
        meta["format"] = result.format
    StoredFile.objects.filter(pk=stored.pk).update(meta=meta, **fields)
    stored.meta = meta
    for name, value in fields.items():
        setattr(stored, name, value)


registry.register_step("probe", probe)
