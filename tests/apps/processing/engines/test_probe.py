"""Image probe: header facts before decoding, budgets, allow-list, corrupt input."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image

from apps.processing.engines.blurhash import _CHARS, encode
from apps.processing.engines.probe import ProbeRefused, probe_image
from tests.apps.processing.images import animated_gif, image_bytes, jpeg_with_orientation

FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "AVIF")


def probe(data: bytes, *, formats: tuple[str, ...] = FORMATS, max_pixels: int = 100_000_000,
          max_animation_pixels: int = 400_000_000) -> object:
    return probe_image(io.BytesIO(data), allowed_formats=formats, max_pixels=max_pixels,
                       max_animation_pixels=max_animation_pixels)


@pytest.mark.parametrize("fmt, mime", [("JPEG", "image/jpeg"), ("PNG", "image/png"),
                                       ("WEBP", "image/webp"), ("AVIF", "image/avif")])
def test_every_allowed_format(fmt: str, mime: str) -> None:
    result = probe(image_bytes(fmt, (64, 48), (200, 30, 30)))
    assert result.mime_type == mime and result.kind == "image"
    assert (result.width, result.height, result.frame_count) == (64, 48, 1)
    r, g, b = (int(result.dominant_color[i:i + 2], 16) for i in (1, 3, 5))
    assert abs(r - 200) < 12 and g < 45 and b < 45
    assert len(result.blurhash) == 28 and result.blurhash[0] == "L"


def test_animated_gif_counts_frames() -> None:
    result = probe(animated_gif(7))
    assert result.kind == "gif" and result.frame_count == 7


def test_exif_orientation_swaps_displayed_dimensions() -> None:
    result = probe(jpeg_with_orientation(6, (80, 40)))
    assert result.orientation == 6
    assert (result.width, result.height) == (40, 80)


def _png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG that claims huge dimensions (a decompression bomb's header)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = lambda kind, body: (struct.pack(">I", len(body)) + kind + body  # noqa: E731
                                + struct.pack(">I", zlib.crc32(kind + body)))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 16)) + chunk(b"IEND", b""))


def test_pixel_budget_is_checked_before_decoding() -> None:
    with pytest.raises(ProbeRefused, match="budget"):
        probe(_png_header_only(12_000, 9_000))  # 108 MP
    with pytest.raises(ProbeRefused, match="budget"):
        probe(image_bytes("PNG", (100, 100)), max_pixels=9_999)


def test_animation_budget_counts_frames() -> None:
    with pytest.raises(ProbeRefused, match="animation budget"):
        probe(animated_gif(50, (100, 100)), max_animation_pixels=100 * 100 * 49)


@pytest.mark.parametrize("data", [
    image_bytes("JPEG")[:200],                     # truncated
    image_bytes("PNG")[:40],                       # truncated header
    b"GIF89a" + b"\x00" * 32,                      # a GIF signature and nothing else
    b"\x89PNG\r\n\x1a\n" + b"\xff" * 64,           # garbage after the signature
])
def test_corrupt_input_is_refused_with_a_reason(data: bytes) -> None:
    with pytest.raises(ProbeRefused) as refused:
        probe(data)
    assert str(refused.value)


def test_formats_outside_the_allow_list_never_open() -> None:
    tiff = image_bytes("TIFF")
    with pytest.raises(ProbeRefused, match="not an accepted image"):
        probe(tiff)
    assert probe(tiff, formats=(*FORMATS, "TIFF")).mime_type == "image/tiff"
    eps = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n"
    with pytest.raises(ProbeRefused, match="not an accepted image"):
        probe(eps)


def test_blurhash_of_a_flat_image_encodes_its_colour() -> None:
    pixels = [(10, 120, 240)] * (8 * 8)
    value = encode(pixels, 8, 8)
    dc = sum(_CHARS.index(c) * 83 ** (3 - i) for i, c in enumerate(value[2:6]))
    assert ((dc >> 16) & 255, (dc >> 8) & 255, dc & 255) == (10, 120, 240)
    assert len(value) == 28 and value == encode(pixels, 8, 8)
    assert encode([(0, 0, 0)] * 32 + [(255, 255, 255)] * 32, 8, 8) != value
    with pytest.raises(ValueError):
        encode(pixels, 8, 8, x_components=10)


def test_probe_does_not_decode_full_resolution_for_jpeg() -> None:
    data = image_bytes("JPEG", (4000, 3000))
    image = Image.open(io.BytesIO(data))
    image.draft("RGB", (64, 64))
    assert image.size[0] <= 500  # DCT scaling applies: the probe decodes at 1/8 scale
    assert probe(data).width == 4000
