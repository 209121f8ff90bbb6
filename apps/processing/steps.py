"""Built-in pipeline steps, registered by name for feature apps to list.

Each step looks at the file's kind and does nothing for kinds it does not handle, so
one list (``DEFAULT_STEPS``: probe, sanitize, metadata, variants, embed) serves every
upload.
A step raises a PermanentError (the file ends ``failed`` with the reason) for input it
refuses, and lets transient errors (storage, database) propagate for a retry.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from apps.processing import registry, variants
from apps.processing.conf import processing_settings
from apps.processing.embeddings import enqueue_embedding
from apps.processing.engines import exif, svg, video
from apps.processing.engines.probe import (
    colour_and_hash,
    probe_image,
    refusing_bad_input,
)
from apps.processing.engines.render import render_from_image
from apps.processing.engines.variant_specs import parse_spec
from apps.storage.blobs import SANITIZED_FLAG, blob_store
from apps.storage.models import MediaKind, StoredFile

RASTER = (MediaKind.IMAGE, MediaKind.GIF)
SVG_MIME = "image/svg+xml"
REWRITE_MAX_BYTES = 64 * 1024 * 1024  # metadata stripping rewrites in memory: bounded


def _save(stored: StoredFile, meta: dict[str, Any] | None = None, **fields: Any) -> None:
    if meta is not None:
        fields["meta"] = meta
    StoredFile.objects.filter(pk=stored.pk).update(**fields)
    for name, value in fields.items():
        setattr(stored, name, value)


def _video_options() -> dict[str, Any]:
    return {"formats": tuple(processing_settings.VIDEO_FORMATS),
            "max_pixels": int(processing_settings.MAX_VIDEO_PIXELS)}


def probe(stored: StoredFile) -> None:
    """Facts from the bytes: dimensions, frames, orientation, colour and blurhash of an
    image; duration, codec, frame rate and rotation of a video."""
    meta = {**stored.meta, "probed_at": timezone.now().isoformat()}
    if stored.kind in RASTER:
        limits = variants.render_limits()
        with blob_store.open(stored) as handle:
            result = probe_image(handle, allowed_formats=limits.allowed_formats,
                                 max_pixels=limits.max_pixels,
                                 max_animation_pixels=limits.max_animation_pixels)
        meta.update(orientation=result.orientation, format=result.format)
        _save(stored, meta, width=result.width, height=result.height,
              frame_count=result.frame_count, dominant_color=result.dominant_color,
              blurhash=result.blurhash)
    elif stored.kind == MediaKind.VIDEO:
        with blob_store.open(stored) as handle:
            facts = video.probe_video(handle, **_video_options(),
                                      max_duration=float(processing_settings.MAX_VIDEO_DURATION))
        meta.update(format=facts.format, codec=facts.codec, frame_rate=facts.frame_rate,
                    rotation=facts.rotation, has_audio=facts.has_audio,
                    bit_rate=facts.bit_rate)
        _save(stored, meta, width=facts.width, height=facts.height, duration=facts.duration,
              frame_count=facts.frame_count)
    else:
        _save(stored, meta)


def sanitize(stored: StoredFile) -> None:
    """Rewrite an SVG keeping only what draws (never rasterised); mark it servable."""
    if stored.mime_type != SVG_MIME:
        return
    with blob_store.open(stored) as handle:
        data = handle.read(int(processing_settings.SVG_MAX_BYTES) + 1)
    clean = svg.sanitize_svg(data, max_bytes=int(processing_settings.SVG_MAX_BYTES),
                             max_depth=int(processing_settings.SVG_MAX_DEPTH))
    if clean.data != data:
        blob_store.replace_content(stored, clean.data, reason="svg sanitised")
    meta = {**stored.meta, SANITIZED_FLAG: True, "svg_removed": clean.removed[:50]}
    _save(stored, meta, width=clean.width, height=clean.height)


def metadata(stored: StoredFile) -> None:
    """Keep the EXIF worth keeping (camera, lens, date taken) in ``meta["exif"]``; with
    ``STRIP_PRIVATE_METADATA`` rewrite the original without GPS and serial numbers
    (losslessly: the pixels are not re-encoded). Runs before variants, whose keys carry
    the original's hash."""
    if stored.kind not in RASTER:
        return
    limits = variants.render_limits()
    with blob_store.open(stored) as handle, refusing_bad_input():
        image = limits.open(handle)
        with image:
            facts, fmt = exif.extract(image), str(image.format)
    _save(stored, {**stored.meta, "exif": facts})
    if not processing_settings.STRIP_PRIVATE_METADATA:
        return
    if stored.size > REWRITE_MAX_BYTES:
        _save(stored, {**stored.meta, "private_metadata": "kept: too large to rewrite"})
        return
    with blob_store.open(stored) as handle:
        original = handle.read(stored.size + 1)
    cleaned = exif.strip_private(original, fmt)
    if cleaned is not None:
        blob_store.replace_content(stored, cleaned, reason="private metadata removed")


def make_variants(stored: StoredFile) -> None:
    """Images: the configured specs (stale or missing ones) from one decode. Videos: the
    poster frame, then the configured specs rendered from it."""
    if stored.kind in RASTER:
        variants.variants_generate(stored)
    elif stored.kind == MediaKind.VIDEO:
        _poster(stored)


def _poster(stored: StoredFile) -> None:
    poster_ms = stored.meta.get("poster_ms")
    with blob_store.open(stored) as handle:
        frame = video.extract_poster(
            handle, poster_ms=int(poster_ms) if poster_ms is not None else None,
            search_seconds=float(processing_settings.POSTER_SEARCH_SECONDS),
            max_frames=int(processing_settings.POSTER_MAX_FRAMES), **_video_options())
    poster_spec = parse_spec("poster", processing_settings.POSTER_SPEC)
    specs = [poster_spec, *(s for s in variants.configured_specs().values() if s.crop is None)]
    variants.store_renditions(stored, render_from_image(frame, specs))
    colour, placeholder = colour_and_hash(frame)
    _save(stored, dominant_color=colour, blurhash=placeholder)


def embed(stored: StoredFile) -> None:
    """Queue the CLIP embedding (written by the worker on the ``embeddings`` queue, in
    batches there); with no model configured the step records ``disabled`` and passes."""
    if stored.kind not in RASTER:
        return
    if enqueue_embedding([stored.pk]) == 0:
        _save(stored, {**stored.meta, "embedding": "disabled"})


registry.register_step("probe", probe)
registry.register_step("sanitize", sanitize)
registry.register_step("metadata", metadata)
registry.register_step("variants", make_variants)
registry.register_step("embed", embed)
