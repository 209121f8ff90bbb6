"""Render an image's variants: one decode feeds every size, nothing but pixels comes out.

Speed and memory come from decoding only what the largest output needs: for JPEG,
``draft()`` asks libjpeg for a DCT-scaled decode (1/2, 1/4, 1/8) no smaller than that
output; the rest is ``resize(reducing_gap=...)`` (an integer ``reduce()``, then the spec's filter).
Smaller sizes are made from the smallest rendering already made that is big enough,
not from the original again. Orientation is applied to the small results, not to the
decoded original (a transpose of a 12 MP image costs as much as a resize).

Colour: an embedded ICC profile other than sRGB is converted to sRGB (on the largest
output, not the decoded original), and the output then carries the sRGB profile; without
a profile the pixels are taken as sRGB. No EXIF, XMP or comments reach any output.
"""

from __future__ import annotations

import hashlib
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import IO

from PIL import Image, ImageCms

from apps.processing.engines.probe import (
    frame_count,
    open_checked,
    orientation_of,
    refusing_bad_input,
    upright,
)
from apps.processing.engines.variant_specs import OutputFormat, VariantSpec

_SWAPS = (5, 6, 7, 8)
REDUCING_GAP = 3.0  # reduce() by whole factors while >= 3x the target, filter the rest
_FILTERS = {"hamming": Image.Resampling.HAMMING, "bilinear": Image.Resampling.BILINEAR,
            "bicubic": Image.Resampling.BICUBIC, "lanczos": Image.Resampling.LANCZOS}


@dataclass(frozen=True)
class Limits:
    allowed_formats: tuple[str, ...]
    max_pixels: int
    max_animation_pixels: int
    animated_max_frames: int = 100
    animated_max_pixels: int = 16_000_000  # frames x width x height of one animated output

    def open(self, source: IO[bytes]) -> Image.Image:
        """Open ``source`` with the format allow-list and budgets (no pixels decoded);
        call inside ``refusing_bad_input()``."""
        return open_checked(source, allowed_formats=self.allowed_formats,
                            max_pixels=self.max_pixels,
                            max_animation_pixels=self.max_animation_pixels)


@dataclass(frozen=True)
class Rendition:
    spec: VariantSpec
    format: OutputFormat
    data: bytes
    width: int
    height: int
    animated: bool = False


def _display_size(size: tuple[int, int], orientation: int) -> tuple[int, int]:
    return (size[1], size[0]) if orientation in _SWAPS else size


def _spec_scale(spec: VariantSpec, display: tuple[int, int]) -> float:
    """Output pixels per displayed source pixel (of the crop box, for a crop)."""
    if spec.crop is not None:
        return _scale(spec, spec.crop[2], spec.crop[3])
    return _scale(spec, *display)


def _scale(spec: VariantSpec, width: int, height: int) -> float:
    fit = min if spec.fit == "contain" else max
    scale = fit(spec.width / width, spec.height / height)
    return scale if spec.upscale else min(scale, 1.0)


def _output_size(spec: VariantSpec, width: int, height: int) -> tuple[int, int]:
    """The resized (uncropped) size, in display orientation."""
    scale = _scale(spec, width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _cover_box(spec: VariantSpec, size: tuple[int, int]) -> tuple[int, int, int, int] | None:
    if spec.fit != "cover":
        return None
    width, height = min(spec.width, size[0]), min(spec.height, size[1])
    left, top = (size[0] - width) // 2, (size[1] - height) // 2
    return left, top, left + width, top + height


@lru_cache(maxsize=32)
def _srgb_transform(profile_hash: str, icc: bytes, mode: str) -> ImageCms.ImageCmsTransform | None:
    del profile_hash  # the cache key; the bytes may be large
    source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    description = ImageCms.getProfileDescription(source) or ""
    if "srgb" in description.lower().replace(" ", "") and mode in ("RGB", "RGBA"):
        return None  # already sRGB: nothing to convert
    out_mode = "RGBA" if mode in ("RGBA", "LA", "PA") else "RGB"
    return ImageCms.buildTransform(source, _srgb_profile(), mode, out_mode,
                                   renderingIntent=ImageCms.Intent.PERCEPTUAL)


@lru_cache(maxsize=1)
def _srgb_profile() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


@lru_cache(maxsize=1)
def srgb_icc() -> bytes:
    return bytes(_srgb_profile().tobytes())


def _to_srgb(image: Image.Image, icc: bytes | None) -> tuple[Image.Image, bool]:
    """Convert to sRGB RGB/RGBA; True when the output should carry the sRGB profile."""
    if icc:
        try:
            transform = _srgb_transform(hashlib.sha256(icc).hexdigest(), icc, image.mode)
        except (OSError, ImageCms.PyCMSError, ValueError):
            transform = None  # a broken profile: take the pixels as they are
        else:
            if transform is not None:
                return ImageCms.applyTransform(image, transform) or image, True
            return _plain_mode(image), True
    return _plain_mode(image), False


def _plain_mode(image: Image.Image) -> Image.Image:
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N"):
        # 16-bit samples: scale to 8 bits (convert() would clip everything above 255)
        image = image.convert("I").point(lambda value: value * (1 / 257)).convert("L")
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    wanted = "RGBA" if has_alpha else "RGB"
    return image if image.mode == wanted else image.convert(wanted)


def upright_srgb(image: Image.Image) -> tuple[Image.Image, bool]:
    """The whole image, upright and in sRGB (for full-size re-encodes such as optimize)."""
    return _to_srgb(upright(image, orientation_of(image)), image.info.get("icc_profile"))


def encode(image: Image.Image, fmt: OutputFormat, *, with_srgb_profile: bool) -> bytes:
    """Encode pixels only: the image's ``info`` (EXIF, XMP, comments) is never written."""
    if fmt.name == "jpeg" and image.mode != "RGB":
        flat = Image.new("RGB", image.size, (255, 255, 255))
        flat.paste(image, mask=image.getchannel("A") if image.mode == "RGBA" else None)
        image = flat
    image.info = {}
    options = fmt.save_options()
    if with_srgb_profile:
        options["icc_profile"] = srgb_icc()
    buffer = io.BytesIO()
    image.save(buffer, fmt.pillow_format, **options)
    return buffer.getvalue()


def _decode(image: Image.Image, specs: Sequence[VariantSpec],
            orientation: int) -> Image.Image:
    """Load at the smallest JPEG DCT scale that still serves the largest output."""
    display = _display_size(image.size, orientation)
    scale = max(_spec_scale(s, display) for s in specs)
    need = (math.ceil(display[0] * scale), math.ceil(display[1] * scale))
    image.draft(None, _display_size(need, orientation))  # no-op for non-JPEG
    image.load()
    return image


def render_variants(source: IO[bytes], specs: Sequence[VariantSpec],
                    limits: Limits) -> list[Rendition]:
    """All formats of all ``specs`` from one decode of ``source``.

    Raises ProbeRefused (a PermanentError) for input the probe would refuse.
    """
    if not specs:
        return []
    with refusing_bad_input():
        image = limits.open(source)
        with image:
            orientation = orientation_of(image)
            display = _display_size(image.size, orientation)
            icc = image.info.get("icc_profile")
            animated = frame_count(image) > 1
            decoded = _decode(image, specs, orientation)
            # Every resize first; for a still, the decoded pixels go before any encoding.
            planned = _plan_stills(decoded, specs, orientation, display, icc)
            if not animated:
                image.close()  # frees the decoded pixels; the renderings hold their own
            out = _encode_stills(planned, orientation)
            if animated:
                out = _with_animations(out, image, specs, orientation, display, limits)
    return out


def render_from_image(image: Image.Image, specs: Sequence[VariantSpec]) -> list[Rendition]:
    """The still renderings of an image already in memory (a video's poster frame)."""
    return _render_stills(image, specs, 1, image.size, image.info.get("icc_profile"))


def _render_stills(decoded: Image.Image, specs: Sequence[VariantSpec], orientation: int,
                   display: tuple[int, int], icc: bytes | None) -> list[Rendition]:
    return _encode_stills(_plan_stills(decoded, specs, orientation, display, icc), orientation)


BAND_ROWS = 128  # output rows per band of the first resize: see _resize_banded
_BANDED_MODES = ("RGB", "RGBA", "L", "LA", "CMYK")  # 8-bit, no palette: paste is exact


def _resize_banded(image: Image.Image, size: tuple[int, int],
                   resample: Image.Resampling) -> Image.Image:
    """``image.resize(size, resample)`` in bands of output rows: the same pixels (the
    filter reads outside each band's box, clipped to the image, not to the box), but
    Pillow's horizontal-pass intermediate is a band's, not the whole image's (width x
    source height: half the decoded image's size for a 2x reduction)."""
    if (image.mode not in _BANDED_MODES or image.width / size[0] >= REDUCING_GAP
            or image.height / size[1] >= REDUCING_GAP):  # reduce() shrinks it first anyway
        return image.resize(size, resample, reducing_gap=REDUCING_GAP)
    out = Image.new(image.mode, size)
    scale = image.height / size[1]
    for top in range(0, size[1], BAND_ROWS):
        bottom = min(top + BAND_ROWS, size[1])
        out.paste(image.resize((size[0], bottom - top), resample,
                               box=(0, top * scale, image.width, bottom * scale)), (0, top))
    return out


def _shrink(source: Image.Image, size: tuple[int, int],
            resample: Image.Resampling) -> Image.Image:
    """A smaller size from a rendering already filtered: by a whole factor (1024 -> 256),
    ``reduce()`` averages each n x n block — an area-average downscale, 6x cheaper than
    the filter — else the spec's filter."""
    factor = source.width / size[0]
    if factor >= 2 and factor.is_integer() and source.height == size[1] * factor:
        return source.reduce(int(factor))
    return source.resize(size, resample, reducing_gap=REDUCING_GAP)


_Planned = tuple[VariantSpec, Image.Image, bool] | list[Rendition]


def _plan_stills(decoded: Image.Image, specs: Sequence[VariantSpec], orientation: int,
                 display: tuple[int, int], icc: bytes | None) -> list[_Planned]:
    """Every resize (and crop) the specs need, largest first, before any encoding."""
    ordered = sorted(specs, key=lambda s: _spec_scale(s, display), reverse=True)
    bases: list[Image.Image] = []  # uncropped renderings, in stored orientation, sRGB
    tagged = False
    planned: list[_Planned] = []
    for spec in ordered:
        if spec.crop is not None:
            planned.append(_render_crop(decoded, spec, orientation, display, icc))
            continue
        size = _output_size(spec, *display)
        stored_size = _display_size(size, orientation)
        source = next((b for b in reversed(bases)
                       if b.width >= stored_size[0] and b.height >= stored_size[1]), None)
        if source is None:
            resized = _resize_banded(decoded, stored_size, _FILTERS[spec.resample])
            resized, tagged = _to_srgb(resized, icc)
        else:
            resized = _shrink(source, stored_size, _FILTERS[spec.resample])
        bases.append(resized)
        planned.append((spec, resized, tagged))
    return planned


def _encode_stills(planned: list[_Planned], orientation: int) -> list[Rendition]:
    out: list[Rendition] = []
    for item in planned:
        if isinstance(item, list):  # a crop, already rendered
            out.extend(item)
            continue
        spec, resized, tagged = item
        oriented = upright(resized, orientation)
        box = _cover_box(spec, oriented.size)
        final = oriented.crop(box) if box else oriented
        for fmt in spec.formats:
            out.append(Rendition(spec, fmt, encode(final, fmt, with_srgb_profile=tagged),
                                 final.width, final.height))
    return out


def _render_crop(decoded: Image.Image, spec: VariantSpec, orientation: int,
                 display: tuple[int, int], icc: bytes | None) -> list[Rendition]:
    """A region of the upright image (display pixels), scaled like any spec."""
    assert spec.crop is not None
    x, y, width, height = spec.crop
    oriented = upright(decoded, orientation)
    ratio = oriented.width / display[0]  # < 1 after a draft decode
    box = (x * ratio, y * ratio, (x + width) * ratio, (y + height) * ratio)
    size = _output_size(spec, width, height)
    region = oriented.resize(size, _FILTERS[spec.resample], box=box, reducing_gap=REDUCING_GAP)
    region, tagged = _to_srgb(region, icc)
    cover = _cover_box(spec, region.size)
    final = region.crop(cover) if cover else region
    return [Rendition(spec, fmt, encode(final, fmt, with_srgb_profile=tagged),
                      final.width, final.height) for fmt in spec.formats]


def _with_animations(stills: list[Rendition], image: Image.Image,
                     specs: Sequence[VariantSpec], orientation: int, display: tuple[int, int],
                     limits: Limits) -> list[Rendition]:
    """Replace the WebP still of each ``animated`` spec by an animated WebP."""
    out = list(stills)
    for spec in specs:
        webp = next((f for f in spec.formats if f.name == "webp"), None)
        if not spec.animated or webp is None or spec.crop is not None:
            continue
        rendition = _animated_webp(image, spec, webp, orientation, display, limits)
        out = [r for r in out if not (r.spec is spec and r.format is webp)] + [rendition]
    return out


def _animated_webp(image: Image.Image, spec: VariantSpec, fmt: OutputFormat, orientation: int,
                   display: tuple[int, int], limits: Limits) -> Rendition:
    size = _output_size(spec, *display)
    budget = max(1, limits.animated_max_pixels // (size[0] * size[1]))
    frames, durations = [], []
    for index in range(min(frame_count(image), limits.animated_max_frames, budget)):
        image.seek(index)
        frame = image.convert("RGBA").resize(_display_size(size, orientation),
                                             _FILTERS[spec.resample],
                                             reducing_gap=REDUCING_GAP)
        frame = upright(frame, orientation)
        box = _cover_box(spec, frame.size)
        frames.append(frame.crop(box) if box else frame)
        durations.append(int(image.info.get("duration", 100) or 100))
    buffer = io.BytesIO()
    frames[0].save(buffer, "WEBP", save_all=True, append_images=frames[1:], duration=durations,
                   loop=0, **fmt.save_options())
    image.seek(0)
    return Rendition(spec, fmt, buffer.getvalue(), frames[0].width, frames[0].height,
                     animated=len(frames) > 1)
