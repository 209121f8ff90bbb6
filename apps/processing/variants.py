"""Variants of stored images: the configured specs, on-demand operations, freshness.

A variant is fresh when it was made from the file's current bytes (``source_sha256``)
under the spec's current definition (``spec_hash``); only fresh variants are served
(``variant_for``), so a changed spec or a replaced original never shows an old rendering.
The operations the author_media API names (optimize, resize, crop) are services here
that produce variants; no feature app does its own image work.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from django.db.models import Exists, OuterRef, Q, QuerySet

from apps.core.errors import DomainError
from apps.processing.conf import processing_settings
from apps.processing.engines.probe import refusing_bad_input
from apps.processing.engines.render import (
    Limits,
    Rendition,
    encode,
    render_variants,
    upright_srgb,
)
from apps.processing.engines.variant_specs import (
    ENCODINGS,
    OutputFormat,
    SpecError,
    VariantSpec,
    parse_spec,
    parse_specs,
)
from apps.storage.blobs import blob_store
from apps.storage.models import (
    MediaKind,
    ProcessingState,
    ScanStatus,
    StoredFile,
    Variant,
    VariantKind,
)

RASTER_KINDS = (MediaKind.IMAGE, MediaKind.GIF)


class NotAnImage(DomainError):
    status_code = 400
    code = "not_an_image"
    default_message = "This operation needs a raster image (JPEG, PNG, GIF, WebP, AVIF)."


class InvalidOperation(DomainError):
    status_code = 400
    code = "invalid_operation"


def configured_specs() -> dict[str, VariantSpec]:
    return parse_specs(processing_settings.VARIANT_SPECS)


def render_limits() -> Limits:
    return Limits(allowed_formats=tuple(processing_settings.IMAGE_FORMATS),
                  max_pixels=int(processing_settings.MAX_IMAGE_PIXELS),
                  max_animation_pixels=int(processing_settings.MAX_ANIMATION_PIXELS),
                  animated_max_frames=int(processing_settings.ANIMATED_MAX_FRAMES),
                  animated_max_pixels=int(processing_settings.ANIMATED_MAX_PIXELS))


def is_fresh(variant: Variant, stored: StoredFile, spec: VariantSpec) -> bool:
    return variant.spec_hash == spec.hash and variant.source_sha256 == stored.sha256


def fresh_variants(stored: StoredFile) -> list[Variant]:
    """The variants that match the file's bytes and their spec's current definition."""
    specs = configured_specs()
    out = []
    for variant in stored.variants.all():
        spec = specs.get(variant.spec)
        if variant.source_sha256 != stored.sha256:
            continue
        if spec is None or variant.spec_hash == spec.hash:  # ad-hoc (resize/crop) or fresh
            out.append(variant)
    return out


def variant_for(stored: StoredFile, spec_name: str, format: str | None = None) -> Variant | None:
    """The fresh variant of ``spec_name`` (in ``format``, else the spec's first format)."""
    spec = configured_specs().get(spec_name)
    wanted = format or (spec.formats[0].name if spec else None)
    for variant in stored.variants.all():
        if variant.spec != spec_name or (wanted and variant.format != wanted):
            continue
        if variant.source_sha256 == stored.sha256 and (spec is None or is_fresh(variant, stored,
                                                                                spec)):
            return variant
    return None


def store_renditions(stored: StoredFile, renditions: Iterable[Rendition]) -> list[Variant]:
    return [blob_store.put_variant(
        stored, r.data, spec=r.spec.name, spec_hash=r.spec.hash, kind=r.spec.kind,
        format=r.format.name, mime_type=r.format.mime_type, width=r.width, height=r.height)
        for r in renditions]


def _render(stored: StoredFile, specs: Sequence[VariantSpec]) -> list[Rendition]:
    if stored.kind not in RASTER_KINDS:
        raise NotAnImage()
    with blob_store.open(stored) as handle:
        return render_variants(handle, specs, render_limits())


def variants_generate(stored: StoredFile, *, spec_names: Sequence[str] | None = None,
                      force: bool = False) -> list[Variant]:
    """Render the configured specs that are missing or stale (all of them with ``force``),
    from one decode; drop formats a spec no longer lists. Returns what was written."""
    specs = configured_specs()
    if spec_names is not None:
        unknown = set(spec_names) - set(specs)
        if unknown:
            raise SpecError(f"no variant spec named {', '.join(sorted(unknown))}")
        specs = {name: specs[name] for name in spec_names}
    existing = list(stored.variants.filter(spec__in=list(specs)))
    for variant in existing:
        spec = specs[variant.spec]
        if variant.format not in {f.name for f in spec.formats}:
            blob_store.delete_variant(variant)
    todo = [spec for spec in specs.values()
            if force or not all(any(v.spec == spec.name and v.format == f.name
                                    and is_fresh(v, stored, spec) for v in existing)
                                for f in spec.formats)]
    if not todo:
        return []
    return store_renditions(stored, _render(stored, todo))


def stale_files(spec: VariantSpec) -> QuerySet[StoredFile]:
    """Processed raster files lacking a fresh variant of ``spec`` in one of its formats
    (missing, made under an older definition, or from older bytes)."""
    fresh = Variant.objects.filter(stored_file=OuterRef("pk"), spec=spec.name,
                                   spec_hash=spec.hash, source_sha256=OuterRef("sha256"))
    complete = Q()
    for fmt in spec.formats:
        complete &= Q(Exists(fresh.filter(format=fmt.name)))
    return servable_images().exclude(complete).order_by("pk")


def servable_images() -> QuerySet[StoredFile]:
    """Processed raster files the scanner cleared and nobody quarantined: the only ones
    a re-render may decode (as the regenerate_variants task checks with is_servable)."""
    return StoredFile.objects.filter(kind__in=RASTER_KINDS,
                                     processing_state=ProcessingState.READY,
                                     scan_status=ScanStatus.CLEAN, is_quarantined=False)


# -- operations (author_media: optimize, resize, crop) ----------------------------------
def _ad_hoc(name: str, kind: str, raw: dict[str, object]) -> VariantSpec:
    try:
        return replace(parse_spec(name, raw), kind=kind)
    except SpecError as exc:
        raise InvalidOperation(str(exc)) from None


def _one(stored: StoredFile, spec: VariantSpec) -> Variant:
    return store_renditions(stored, _render(stored, [spec]))[0]


def _format_for(stored: StoredFile, format: str | None) -> str:
    if format is None:
        return "png" if stored.mime_type == "image/png" else "webp"
    if format not in ENCODINGS:
        raise InvalidOperation(f"format must be one of {sorted(ENCODINGS)}")
    return format


def resize_spec(*, stored: StoredFile, width: int | None, height: int | None,
                fit: str = "contain", format: str | None = None) -> VariantSpec:
    """The validated spec :func:`image_resize` renders, computed without decoding: a caller
    (the author_media API) names the variant, and refuses bad input, before queueing."""
    if stored.kind not in RASTER_KINDS or not stored.width or not stored.height:
        raise NotAnImage()
    if width is None and height is None:
        raise InvalidOperation("Give a width, a height, or both.")
    width = width or max(1, round(stored.width * (height or 0) / stored.height))
    height = height or max(1, round(stored.height * width / stored.width))
    fmt = _format_for(stored, format)
    return _ad_hoc(f"resize-{width}x{height}-{fit}", VariantKind.RESIZED,
                   {"width": width, "height": height, "fit": fit, "formats": [fmt]})


def image_resize(*, stored: StoredFile, width: int | None, height: int | None,
                 fit: str = "contain", format: str | None = None) -> Variant:
    """A resized rendering; with one dimension given, the other follows the aspect ratio."""
    return _one(stored, resize_spec(stored=stored, width=width, height=height, fit=fit,
                                    format=format))


def crop_spec(*, stored: StoredFile, x: int, y: int, width: int, height: int,
              aspect: float | None = None, format: str | None = None) -> VariantSpec:
    """The validated spec :func:`image_crop` renders (the box already fitted to
    ``aspect``), computed without decoding, like :func:`resize_spec`."""
    if stored.kind not in RASTER_KINDS or not stored.width or not stored.height:
        raise NotAnImage()
    if aspect is not None:
        if not 0.01 <= aspect <= 100:
            raise InvalidOperation("aspect must be a width/height ratio between 0.01 and 100.")
        x, y, width, height = _fit_aspect(x, y, width, height, aspect)
    if min(x, y) < 0 or width < 1 or height < 1 or x + width > stored.width \
            or y + height > stored.height:
        raise InvalidOperation(f"The crop box must lie within the {stored.width}x"
                               f"{stored.height} image.")
    fmt = _format_for(stored, format)
    spec = _ad_hoc(f"crop-{x}-{y}-{width}x{height}", VariantKind.CROPPED,
                   {"width": width, "height": height, "formats": [fmt]})
    return replace(spec, crop=(x, y, width, height))


def image_crop(*, stored: StoredFile, x: int, y: int, width: int, height: int,
               aspect: float | None = None, format: str | None = None) -> Variant:
    """A region of the upright image, in its displayed pixels; with ``aspect`` (w/h) the
    box shrinks around its centre to that ratio."""
    return _one(stored, crop_spec(stored=stored, x=x, y=y, width=width, height=height,
                                  aspect=aspect, format=format))


def _fit_aspect(x: int, y: int, width: int, height: int, aspect: float) -> tuple[int, ...]:
    if width / height > aspect:
        new_width = max(1, round(height * aspect))
        return x + (width - new_width) // 2, y, new_width, height
    new_height = max(1, round(width / aspect))
    return x, y + (height - new_height) // 2, width, new_height


OPTIMIZED_SPEC = "optimized"  # the spec name of image_optimize's variant (one per file)


@dataclass(frozen=True)
class Optimized:
    variant: Variant | None  # None: the original is already as small as we can make it
    original_size: int
    optimized_size: int

    @property
    def ratio(self) -> float:
        """optimized / original: 0.6 means 40% smaller."""
        return round(self.optimized_size / self.original_size, 4) if self.original_size else 1.0


_OPTIMIZE = {"JPEG": OutputFormat("jpeg", (("optimize", True), ("progressive", True),
                                           ("quality", 85))),
             "PNG": OutputFormat("png", (("optimize", True),)),
             "WEBP": OutputFormat("webp", (("method", 6), ("quality", 85))),
             "AVIF": OutputFormat("avif", (("quality", 70),))}


def image_optimize(*, stored: StoredFile) -> Optimized:
    """Re-encode in the same format at full size, upright, without metadata; kept as the
    "optimized" variant only when smaller than the original."""
    if stored.kind not in RASTER_KINDS:
        raise NotAnImage()
    with blob_store.open(stored) as handle, refusing_bad_input():
        limits = render_limits()
        image = limits.open(handle)
        with image:
            fmt = _OPTIMIZE.get(str(image.format))
            if fmt is None or getattr(image, "n_frames", 1) > 1:
                return Optimized(None, stored.size, stored.size)
            upright, tagged = upright_srgb(image)
            data = encode(upright, fmt, with_srgb_profile=tagged)
    if len(data) >= stored.size:
        return Optimized(None, stored.size, stored.size)
    spec = VariantSpec(name=OPTIMIZED_SPEC, width=upright.width, height=upright.height,
                       formats=(fmt,), kind=VariantKind.OPTIMIZED)
    variant = blob_store.put_variant(stored, data, spec=OPTIMIZED_SPEC, spec_hash=spec.hash,
                                     kind=VariantKind.OPTIMIZED, format=fmt.name,
                                     mime_type=fmt.mime_type, width=upright.width,
                                     height=upright.height)
    return Optimized(variant, stored.size, len(data))
