"""Built-in pipeline steps, registered by name for feature apps to list."""

from __future__ import annotations

from django.utils import timezone

from apps.processing import registry, variants
from apps.processing.conf import processing_settings
from apps.processing.engines import exif
from apps.processing.engines.probe import open_checked, probe_image, refusing_bad_input
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


REWRITE_MAX_BYTES = 64 * 1024 * 1024


def metadata(stored: StoredFile) -> None:
    """Keep the EXIF worth keeping (camera, lens, date taken) in ``meta["exif"]``; with
    ``STRIP_PRIVATE_METADATA`` rewrite the original without GPS and serial numbers
    (losslessly: the pixels are not re-encoded). Runs before variants, whose keys carry
    the original's hash."""
    if stored.kind not in (MediaKind.IMAGE, MediaKind.GIF):
        return
    limits = variants.render_limits()
    with blob_store.open(stored) as handle, refusing_bad_input():
        image = open_checked(handle, allowed_formats=limits.allowed_formats,
                             max_pixels=limits.max_pixels,
                             max_animation_pixels=limits.max_animation_pixels)
        with image:
            facts, fmt = exif.extract(image), str(image.format)
    meta = {**stored.meta, "exif": facts}
    StoredFile.objects.filter(pk=stored.pk).update(meta=meta)
    stored.meta = meta
    if not processing_settings.STRIP_PRIVATE_METADATA:
        return
    if stored.size > REWRITE_MAX_BYTES:  # rewritten in memory: bounded
        meta = {**stored.meta, "private_metadata": "kept: too large to rewrite"}
        StoredFile.objects.filter(pk=stored.pk).update(meta=meta)
        stored.meta = meta
        return
    with blob_store.open(stored) as handle:
        original = handle.read(stored.size + 1)
    cleaned = exif.strip_private(original, fmt)
    if cleaned is not None:
        blob_store.replace_content(stored, cleaned, reason="private metadata removed")


def make_variants(stored: StoredFile) -> None:
    """Render the configured specs (stale or missing ones only) from one decode."""
    if stored.kind in (MediaKind.IMAGE, MediaKind.GIF):
        variants.variants_generate(stored)


registry.register_step("probe", probe)
registry.register_step("metadata", metadata)
registry.register_step("variants", make_variants)
