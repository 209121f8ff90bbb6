"""Probe an image from its bytes: what it is, how big, and a colour and placeholder.

Everything is decided from the header before any pixel is decoded: Pillow is opened
with an explicit ``formats=`` allow-list (so EPS/PS/PDF/FITS never reach their
decoders), and the pixel budget (frames x pixels for animations) is checked on the
header's dimensions. Only then is a draft-scale (JPEG DCT scaling) thumbnail decoded for
the dominant colour and the blurhash. Corrupt or truncated input raises ProbeRefused
with a reason; nothing here crashes a worker.
"""

from __future__ import annotations

import struct
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO

from PIL import Image, UnidentifiedImageError

from apps.processing.engines import blurhash
from apps.processing.errors import PermanentError

_MIME = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp",
         "AVIF": "image/avif", "TIFF": "image/tiff", "HEIF": "image/heif"}
_ORIENTATION_TAG = 0x0112


class ProbeRefused(PermanentError):
    """The file is not an acceptable image (format, size, corruption): a reason is given."""


@dataclass(frozen=True)
class ImageProbe:
    mime_type: str
    format: str
    width: int
    height: int
    frame_count: int
    orientation: int
    dominant_color: str
    blurhash: str

    @property
    def kind(self) -> str:
        return "gif" if self.format == "GIF" else "image"


def _check_budget(width: int, height: int, frames: int, max_pixels: int,
                  max_animation_pixels: int) -> None:
    if width <= 0 or height <= 0:
        raise ProbeRefused("image has no dimensions")
    if width * height > max_pixels:
        raise ProbeRefused(f"{width}x{height} is over the {max_pixels // 1_000_000} MP budget")
    if frames > 1 and width * height * frames > max_animation_pixels:
        raise ProbeRefused(f"{frames} frames of {width}x{height} are over the animation budget")


_UPRIGHT = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
            4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
            6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
            8: Image.Transpose.ROTATE_90}


def upright(image: Image.Image, orientation: int) -> Image.Image:
    """The image as displayed, given its EXIF orientation (1-8)."""
    method = _UPRIGHT.get(orientation)
    return image.transpose(method) if method is not None else image


def colour_and_hash(image: Image.Image) -> tuple[str, str]:
    orientation = orientation_of(image)
    image.draft("RGB", (64, 64))  # JPEG: decode at 1/2..1/8 scale; others: no-op
    # Not exif_transpose(): it re-parses the copy's EXIF, and an unreadable
    # block (which the JPEG plugin tolerates) would refuse a perfectly good image.
    small = upright(image.convert("RGB"), orientation)
    small.thumbnail((32, 32), reducing_gap=1.0)
    raw = small.tobytes()  # RGB, row-major
    pixels = [(raw[i], raw[i + 1], raw[i + 2]) for i in range(0, len(raw), 3)]
    r, g, b = (sum(p[i] for p in pixels) // len(pixels) for i in range(3))
    return f"#{r:02x}{g:02x}{b:02x}", blurhash.encode(pixels, small.width, small.height)


@contextmanager
def refusing_bad_input() -> Iterator[None]:
    """Turn what Pillow raises on hostile or broken input into ProbeRefused with a reason."""
    try:
        yield
    except ProbeRefused:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError) as exc:
        raise ProbeRefused(f"not an accepted image: {exc}") from None
    except (OSError, SyntaxError, ValueError, EOFError, MemoryError, RuntimeError,
            IndexError, struct.error) as exc:  # libavif: RuntimeError; GIF: IndexError
        raise ProbeRefused(f"corrupt or truncated image: {exc}") from None


def open_checked(source: IO[bytes], *, allowed_formats: tuple[str, ...], max_pixels: int,
                 max_animation_pixels: int) -> Image.Image:
    """Open with the format allow-list and check the budgets on the header alone.

    Call inside ``refusing_bad_input()``; nothing is decoded yet when this returns.
    """
    with warnings.catch_warnings():
        # Our budget below is the rule; Pillow's own (an error past 2x 89 MP) stays
        # as a hard ceiling.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        image = Image.open(source, formats=list(allowed_formats))
    try:
        width, height = image.size
        _check_budget(width, height, frame_count(image), max_pixels, max_animation_pixels)
    except BaseException:
        image.close()
        raise
    return image


def frame_count(image: Image.Image) -> int:
    return int(getattr(image, "n_frames", 1) or 1)


def orientation_of(image: Image.Image) -> int:
    value = int(image.getexif().get(_ORIENTATION_TAG, 1) or 1)
    return value if 1 <= value <= 8 else 1


def probe_image(source: IO[bytes], *, allowed_formats: tuple[str, ...],
                max_pixels: int, max_animation_pixels: int) -> ImageProbe:
    """Probe ``source`` (a seekable binary file); raise ProbeRefused for bad input."""
    with refusing_bad_input():
        image = open_checked(source, allowed_formats=allowed_formats, max_pixels=max_pixels,
                             max_animation_pixels=max_animation_pixels)
        with image:
            width, height = image.size
            frames = frame_count(image)
            orientation = orientation_of(image)
            fmt = str(image.format)
            colour, placeholder = colour_and_hash(image)
    if orientation in (5, 6, 7, 8):
        width, height = height, width  # as displayed
    return ImageProbe(mime_type=_MIME.get(fmt, f"image/{fmt.lower()}"), format=fmt,
                      width=width, height=height, frame_count=frames,
                      orientation=orientation, dominant_color=colour, blurhash=placeholder)
