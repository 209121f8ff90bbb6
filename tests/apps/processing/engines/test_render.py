"""Rendering variants: sizes, orientation, colour, metadata, one decode, animation, crops,
and hostile input (always ProbeRefused, never another exception)."""

from __future__ import annotations

import contextlib
import io
import struct
import zlib
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageCms, ImageDraw
from PIL.PngImagePlugin import PngInfo

from apps.processing.engines import render
from apps.processing.engines.probe import ProbeRefused
from apps.processing.engines.render import Limits, Rendition, render_variants
from apps.processing.engines.variant_specs import (
    ENCODINGS,
    OutputFormat,
    VariantSpec,
    parse_spec,
)
from tests.apps.processing import photos
from tests.apps.processing.images import animated_gif, image_bytes

FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "AVIF")
LIMITS = Limits(allowed_formats=FORMATS, max_pixels=100_000_000,
                max_animation_pixels=400_000_000)
RGB = tuple[int, int, int]


def spec(name: str = "s", **raw: Any) -> VariantSpec:
    return parse_spec(name, {"width": 64, "height": 64, "formats": ["png"], **raw})


def run(data: bytes, *specs: VariantSpec, limits: Limits = LIMITS) -> list[Rendition]:
    return render_variants(io.BytesIO(data), specs, limits)


def one(data: bytes, the_spec: VariantSpec, limits: Limits = LIMITS) -> Image.Image:
    (rendition,) = run(data, the_spec, limits=limits)
    image = Image.open(io.BytesIO(rendition.data))
    assert image.size == (rendition.width, rendition.height)
    return image


def close(actual: Any, expected: RGB, tolerance: int = 24) -> bool:
    return all(abs(int(a) - int(e)) <= tolerance for a, e in zip(actual[:3], expected,
                                                               strict=True))


def px(image: Image.Image, point: tuple[int, int]) -> tuple[int, ...]:
    value = image.getpixel(point)
    assert isinstance(value, tuple), value
    return value


def corners(image: Image.Image, inset: int = 3) -> dict[str, tuple[int, ...]]:
    rgb = image.convert("RGB")
    w, h = rgb.size
    return {"top_left": px(rgb, (inset, inset)),
            "top_right": px(rgb, (w - 1 - inset, inset)),
            "bottom_left": px(rgb, (inset, h - 1 - inset)),
            "bottom_right": px(rgb, (w - 1 - inset, h - 1 - inset))}


def assert_upright(image: Image.Image, tolerance: int = 30) -> None:
    found = corners(image)
    for corner, colour in photos.CORNERS.items():
        assert close(found[corner], colour, tolerance), (corner, found)


# -- sizes ------------------------------------------------------------------------------
@pytest.mark.parametrize("source, box, expected", [
    ((400, 300), (100, 100), (100, 75)),
    ((300, 400), (100, 100), (75, 100)),
    ((400, 300), (200, 50), (67, 50)),
    ((400, 100), (100, 100), (100, 25)),
])
def test_contain_fits_within_the_box_keeping_aspect(source: tuple[int, int],
                                                    box: tuple[int, int],
                                                    expected: tuple[int, int]) -> None:
    image = one(image_bytes("PNG", source), spec(width=box[0], height=box[1]))
    assert image.size == expected


@pytest.mark.parametrize("source, box", [((400, 300), (100, 100)), ((300, 400), (100, 100)),
                                         ((400, 300), (200, 50)), ((400, 300), (30, 120))])
def test_cover_fills_the_box_exactly(source: tuple[int, int], box: tuple[int, int]) -> None:
    image = one(image_bytes("PNG", source), spec(width=box[0], height=box[1], fit="cover"))
    assert image.size == box


def test_cover_crops_around_the_centre() -> None:
    """A 120x80 quadrant image covered into 40x40: the middle column of the image, so
    the left half of the output is the left quadrants and the right half the right ones."""
    data = photos.encode(photos.quadrants((120, 80)), "PNG")
    image = one(data, spec(width=40, height=40, fit="cover")).convert("RGB")
    assert image.size == (40, 40)
    assert close(image.getpixel((2, 2)), photos.CORNERS["top_left"])
    assert close(image.getpixel((37, 37)), photos.CORNERS["bottom_right"])


@pytest.mark.parametrize("fit", ["contain", "cover"])
def test_no_upscaling_unless_asked(fit: str) -> None:
    data = image_bytes("PNG", (80, 60))
    assert one(data, spec(width=200, height=200, fit=fit)).size == (80, 60)
    upscaled = one(data, spec(width=200, height=200, fit=fit, upscale=True)).size
    assert upscaled == ((200, 150) if fit == "contain" else (200, 200))


def test_empty_spec_list_renders_nothing() -> None:
    assert render_variants(io.BytesIO(b"not even an image"), [], LIMITS) == []


# -- formats ----------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(ENCODINGS))
def test_every_output_format_decodes_with_its_mime_type(name: str) -> None:
    data = photos.photo_bytes("JPEG", (160, 120))
    (rendition,) = run(data, spec(width=80, height=80, formats=[name]))
    image = Image.open(io.BytesIO(rendition.data))
    pillow_format, mime = ENCODINGS[name]
    assert image.format == pillow_format and Image.MIME[pillow_format] == mime
    assert rendition.format.mime_type == mime
    assert image.size == (80, 60) == (rendition.width, rendition.height)
    image.load()


def test_all_formats_of_all_specs_come_back_from_one_call() -> None:
    big = spec("big", width=100, height=100, formats=["webp", "avif"])
    small = spec("small", width=20, height=20, formats=["jpeg", "png"])
    out = run(photos.photo_bytes("PNG", (200, 100)), small, big)
    assert sorted((r.spec.name, r.format.name, r.width, r.height) for r in out) == [
        ("big", "avif", 100, 50), ("big", "webp", 100, 50),
        ("small", "jpeg", 20, 10), ("small", "png", 20, 10)]


def test_encoder_options_reach_the_encoder() -> None:
    data = photos.photo_bytes("PNG", (200, 150))
    low = run(data, spec(width=200, height=200, formats={"jpeg": {"quality": 20}}))[0]
    high = run(data, spec(width=200, height=200, formats={"jpeg": {"quality": 95}}))[0]
    assert len(low.data) < len(high.data) * 0.6
    progressive = run(data, spec(width=200, height=200,
                                 formats={"jpeg": {"progressive": True}}))[0]
    assert Image.open(io.BytesIO(progressive.data)).info.get("progressive") == 1


# -- orientation ------------------------------------------------------------------------
@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_renders_upright(orientation: int) -> None:
    data = photos.oriented_jpeg(orientation, (120, 80))
    stored = Image.open(io.BytesIO(data))
    assert stored.size == ((80, 120) if orientation >= 5 else (120, 80))
    image = one(data, spec(width=60, height=60))
    assert image.size == (60, 40)  # displayed landscape, whatever the stored pixels
    assert_upright(image)


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_orientation_with_a_draft_decode_and_derived_sizes(orientation: int) -> None:
    data = photos.oriented_jpeg(orientation, (1200, 800))
    out = run(data, spec("l", width=300, height=300), spec("s", width=60, height=60))
    by_name = {r.spec.name: Image.open(io.BytesIO(r.data)) for r in out}
    assert by_name["l"].size == (300, 200) and by_name["s"].size == (60, 40)
    assert_upright(by_name["l"])
    assert_upright(by_name["s"])


@pytest.mark.parametrize("value", [0, 9, 65535])
def test_out_of_range_orientation_is_taken_as_upright(value: int) -> None:
    exif = Image.Exif()
    exif[photos.ORIENTATION] = value
    data = photos.encode(photos.quadrants((120, 80)), "JPEG", quality=95,
                         exif=exif.tobytes())
    image = one(data, spec(width=60, height=60))
    assert image.size == (60, 40)
    assert_upright(image)


# -- metadata ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(ENCODINGS))
def test_no_exif_xmp_or_comment_reaches_any_output(name: str) -> None:
    source = photos.private_jpeg((96, 64), orientation=1, comment=b"shot at home, 12 Elm St")
    assert b"Exif\0\0" in source and b"GPSLatitude" in source and b"Elm St" in source
    (rendition,) = run(source, spec(width=48, height=48, formats=[name]))
    image = Image.open(io.BytesIO(rendition.data))
    assert len(image.getexif()) == 0
    assert not {"exif", "xmp", "comment", "XML:com.adobe.xmp"} & set(image.info)
    for secret in (photos.SERIAL.encode(), b"GPSLatitude", b"Elm St", b"Canon",
                   b"http://ns.adobe.com/xap/1.0/"):
        assert secret not in rendition.data


def test_png_text_chunks_do_not_reach_the_output() -> None:
    info = PngInfo()
    info.add_text("Author", "Jane Q. Photographer")
    info.add_text("Comment", "home address", zip=True)
    info.add_itxt("Description", "private note")
    source = photos.photo_bytes("PNG", (64, 48), pnginfo=info)
    (rendition,) = run(source, spec(width=32, height=32, formats=["png"]))
    image = Image.open(io.BytesIO(rendition.data))
    image.load()
    assert getattr(image, "text", {}) == {}
    for chunk in (b"tEXt", b"zTXt", b"iTXt", b"eXIf"):
        assert chunk not in rendition.data


# -- colour -----------------------------------------------------------------------------
def _profile_description(data: bytes) -> str | None:
    icc = Image.open(io.BytesIO(data)).info.get("icc_profile")
    if not icc:
        return None
    return str(ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(icc))))


@pytest.mark.parametrize("name", sorted(ENCODINGS))
def test_non_srgb_profile_is_converted_and_output_tagged_srgb(name: str) -> None:
    """The swapped-primaries profile says 'red' means sRGB green: a colour-managed render
    must come out green, tagged with the sRGB profile."""
    source = photos.encode(Image.new("RGB", (64, 48), (255, 0, 0)), "PNG",
                           icc_profile=photos.swapped_primaries_icc())
    (rendition,) = run(source, spec(width=32, height=32, formats=[name]))
    description = _profile_description(rendition.data)
    assert description is not None and "srgb" in description.lower()
    pixel = Image.open(io.BytesIO(rendition.data)).convert("RGB").getpixel((16, 12))
    assert close(pixel, (0, 255, 0), 40), pixel


def test_profile_is_converted_for_jpeg_sources_and_every_size() -> None:
    source = photos.encode(Image.new("RGB", (400, 300), (255, 0, 0)), "JPEG", quality=95,
                           icc_profile=photos.swapped_primaries_icc())
    out = run(source, spec("a", width=200, height=200), spec("b", width=40, height=40))
    for rendition in out:
        assert "srgb" in (_profile_description(rendition.data) or "").lower()
        pixel = Image.open(io.BytesIO(rendition.data)).convert("RGB").getpixel((10, 10))
        assert close(pixel, (0, 255, 0), 40), (rendition.spec.name, pixel)


def test_srgb_tagged_source_keeps_its_colours_and_its_tag() -> None:
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    colour = (200, 120, 40)
    source = photos.encode(Image.new("RGB", (64, 48), colour), "PNG", icc_profile=srgb)
    (rendition,) = run(source, spec(width=32, height=32, formats=["png"]))
    image = Image.open(io.BytesIO(rendition.data))
    assert "srgb" in (_profile_description(rendition.data) or "").lower()
    assert image.convert("RGB").getpixel((16, 12)) == colour


def test_untagged_source_is_taken_as_srgb_and_output_untagged() -> None:
    colour = (10, 200, 90)
    (rendition,) = run(image_bytes("PNG", (64, 48), colour), spec(width=32, height=32))
    image = Image.open(io.BytesIO(rendition.data))
    assert "icc_profile" not in image.info
    assert image.convert("RGB").getpixel((16, 12)) == colour


def test_a_broken_profile_renders_the_pixels_as_they_are() -> None:
    colour = (10, 200, 90)
    source = photos.encode(Image.new("RGB", (64, 48), colour), "PNG",
                           icc_profile=b"not an icc profile at all" * 8)
    (rendition,) = run(source, spec(width=32, height=32))
    image = Image.open(io.BytesIO(rendition.data))
    assert image.convert("RGB").getpixel((16, 12)) == colour


# -- one decode at the scale the largest output needs -----------------------------------
@pytest.fixture
def decode_spy(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    sizes: list[tuple[int, int]] = []
    original = render._decode

    def spy(image: Image.Image, specs: Any, orientation: int) -> Image.Image:
        decoded = original(image, specs, orientation)
        sizes.append(decoded.size)
        return decoded

    monkeypatch.setattr(render, "_decode", spy)
    return sizes


@pytest.fixture
def resize_spy(monkeypatch: pytest.MonkeyPatch) -> list[tuple[tuple[int, int], tuple[int, int],
                                                               Any]]:
    """Every resize as (source size, target size, filter); a banded resize counts once;
    a whole-factor ``reduce()`` counts as a resize with filter "reduce"."""
    calls: list[tuple[tuple[int, int], tuple[int, int], Any]] = []
    original: Callable[..., Image.Image] = Image.Image.resize
    original_banded = render._resize_banded
    inside_band = [False]

    def spy(self: Image.Image, size: Any, resample: Any = None, *args: Any,
            **kwargs: Any) -> Image.Image:
        if not inside_band[0]:
            calls.append((self.size, tuple(size), resample))
        return original(self, size, resample, *args, **kwargs)

    def banded(image: Image.Image, size: tuple[int, int], resample: Any) -> Image.Image:
        calls.append((image.size, tuple(size), resample))
        inside_band[0] = True
        try:
            return original_banded(image, size, resample)
        finally:
            inside_band[0] = False

    original_reduce: Callable[..., Image.Image] = Image.Image.reduce

    def reduce_spy(self: Image.Image, factor: Any, *args: Any, **kwargs: Any) -> Image.Image:
        out = original_reduce(self, factor, *args, **kwargs)
        if not inside_band[0]:
            calls.append((self.size, out.size, "reduce"))
        return out

    monkeypatch.setattr(Image.Image, "resize", spy)
    monkeypatch.setattr(Image.Image, "reduce", reduce_spy)
    monkeypatch.setattr(render, "_resize_banded", banded)
    return calls


def test_jpeg_is_decoded_at_a_reduced_dct_scale(decode_spy: list[tuple[int, int]],
                                                resize_spy: list[Any]) -> None:
    data = photos.big_photo_jpeg((4000, 3000))
    out = run(data, spec("thumb", width=256, height=256, formats=["jpeg"]),
              spec("preview", width=1024, height=1024, formats=["jpeg"]))
    assert len(decode_spy) == 1  # one decode feeds every size
    decoded = decode_spy[0]
    assert decoded[0] <= 2000 and decoded[1] <= 1500, decoded
    assert decoded[0] >= 1024 and decoded[1] >= 768  # still enough for the preview
    assert {(r.spec.name, r.width, r.height) for r in out} == {("thumb", 256, 192),
                                                               ("preview", 1024, 768)}
    # The 4000x3000 original is never resized: the preview comes from the draft, the
    # thumbnail from the preview.
    sources = {target: source for source, target, _ in resize_spy}
    assert (4000, 3000) not in sources.values()
    assert sources[(1024, 768)] == decoded
    assert sources[(256, 192)] == (1024, 768)


def test_draft_keeps_enough_pixels_for_a_cover_spec(decode_spy: list[tuple[int, int]]) -> None:
    data = photos.big_photo_jpeg((4000, 3000))
    (rendition,) = run(data, spec(width=1000, height=1000, fit="cover", formats=["jpeg"]))
    assert (rendition.width, rendition.height) == (1000, 1000)
    assert decode_spy[0][1] >= 1000  # a 1/4 decode (1000x750) would have to upscale
    assert decode_spy[0] == (2000, 1500)


def test_each_size_is_made_from_the_smallest_rendering_big_enough(resize_spy: list[Any]) -> None:
    data = photos.photo_bytes("PNG", (800, 600))
    run(data, spec("a", width=400, height=400), spec("b", width=200, height=200),
        spec("c", width=50, height=50))
    sources = {target: source for source, target, _ in resize_spy}
    assert sources == {(400, 300): (800, 600), (200, 150): (400, 300), (50, 38): (200, 150)}


def test_the_specs_resampling_filter_is_used(resize_spy: list[Any]) -> None:
    run(photos.photo_bytes("PNG", (200, 100)), spec(width=50, height=50, resample="lanczos"))
    assert resize_spy[0][2] == Image.Resampling.LANCZOS


# -- alpha and modes --------------------------------------------------------------------
def _alpha_png() -> bytes:
    image = Image.new("RGBA", (64, 48), (0, 0, 255, 0))  # transparent (blue underneath)
    ImageDraw.Draw(image).rectangle((16, 12, 47, 35), fill=(255, 0, 0, 255))
    return photos.encode(image, "PNG")


@pytest.mark.parametrize("name", ["webp", "png", "avif"])
def test_alpha_is_kept_where_the_format_has_it(name: str) -> None:
    image = one(_alpha_png(), spec(width=64, height=64, formats=[name]))
    assert image.mode == "RGBA"
    assert px(image, (1, 1))[3] == 0
    centre = px(image, (32, 24))
    assert centre[3] == 255 and close(centre, (255, 0, 0), 30)


def test_alpha_is_flattened_on_white_in_jpeg() -> None:
    image = one(_alpha_png(), spec(width=64, height=64, formats=["jpeg"]))
    assert image.mode == "RGB"
    assert close(image.getpixel((1, 1)), (255, 255, 255), 12)  # not the hidden blue
    assert close(image.getpixel((32, 24)), (255, 0, 0), 30)


def _palette(transparent: bool) -> bytes:
    image = Image.new("P", (60, 40), 0)
    image.putpalette([0, 0, 255, 255, 0, 0] + [0] * 762)
    ImageDraw.Draw(image).rectangle((10, 5, 49, 34), fill=1)
    return photos.encode(image, "PNG", **({"transparency": 0} if transparent else {}))


def _sixteen_bit_rgb_png(colour: tuple[int, int, int]) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body)))

    pixel = b"".join(struct.pack(">H", c * 257) for c in colour)
    rows = b"".join(b"\x00" + pixel * 60 for _ in range(40))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 60, 40, 16, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


@pytest.mark.parametrize("make, centre", [
    (lambda: _palette(False), (255, 0, 0)),
    (lambda: _palette(True), (255, 0, 0)),
    (lambda: photos.encode(Image.new("L", (60, 40), 90), "PNG"), (90, 90, 90)),
    (lambda: photos.encode(Image.new("LA", (60, 40), (90, 255)), "PNG"), (90, 90, 90)),
    (lambda: photos.encode(Image.new("1", (60, 40), 1), "PNG"), (255, 255, 255)),
    (lambda: photos.encode(Image.new("CMYK", (60, 40), (0, 255, 255, 0)), "JPEG",
                           quality=95), (255, 0, 0)),
    (lambda: photos.encode(Image.new("L", (60, 40), 90), "JPEG", quality=95), (90, 90, 90)),
    (lambda: _sixteen_bit_rgb_png((18, 86, 154)), (18, 86, 154)),
    (lambda: photos.encode(Image.new("RGB", (60, 40), (30, 60, 90)), "GIF"), (30, 60, 90)),
    (lambda: photos.photo_bytes("WEBP", (60, 40)), None),
    (lambda: photos.photo_bytes("AVIF", (60, 40)), None),
], ids=["palette", "palette+transparency", "L", "LA", "1-bit", "CMYK-jpeg", "L-jpeg",
        "16-bit-rgb", "gif", "webp", "avif"])
@pytest.mark.parametrize("name", ["png", "jpeg", "webp"])
def test_every_input_mode_renders(make: Callable[[], bytes], centre: RGB | None,
                                  name: str) -> None:
    image = one(make(), spec(width=30, height=30, formats=[name]))
    assert image.size == (30, 20)
    image.load()
    if centre is not None:
        tolerance = 32 if name == "jpeg" else 16  # chroma subsampling of saturated red
        assert close(image.convert("RGB").getpixel((15, 10)), centre, tolerance)


def test_palette_transparency_survives_as_alpha() -> None:
    image = one(_palette(True), spec(width=60, height=60, formats=["png"]))
    assert image.mode == "RGBA"
    assert px(image, (1, 1))[3] == 0 and px(image, (30, 20))[3] == 255


@pytest.mark.parametrize("value", [1000, 32768, 65535])
def test_sixteen_bit_greyscale_keeps_its_tones(value: int) -> None:
    """A 16-bit greyscale PNG (scans, astro, depth maps): mid-grey must stay mid-grey.
    Pillow's plain convert('RGB') clips 16-bit samples at 255, turning it white."""
    data = photos.encode(Image.fromarray(np.full((40, 60), value, np.uint16)), "PNG")
    assert Image.open(io.BytesIO(data)).mode.startswith("I;16")
    image = one(data, spec(width=30, height=30, formats=["png"]))
    expected = round(value / 257)
    assert close(image.convert("RGB").getpixel((15, 10)), (expected,) * 3, 2)


# -- animation --------------------------------------------------------------------------
GIF_DURATIONS = [40, 80, 120, 160, 40, 80, 120, 160]
GIF_COLOURS = [((i * 60) % 256, 255 - (i * 40) % 256, (i * 90) % 256) for i in range(8)]


def _animated_gif() -> bytes:
    frames = [Image.new("RGB", (64, 48), colour) for colour in GIF_COLOURS]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:],
                   duration=GIF_DURATIONS, loop=0)
    return buffer.getvalue()


def _frames(data: bytes) -> list[tuple[int, RGB]]:
    image = Image.open(io.BytesIO(data))
    out = []
    for index in range(getattr(image, "n_frames", 1)):
        image.seek(index)
        image.load()
        out.append((int(image.info.get("duration", 0)),
                    image.convert("RGB").getpixel((5, 5))))
    return out  # type: ignore[return-value]


ANIMATED = spec("preview", width=32, height=32, formats=["webp", "png"], animated=True)


def test_animated_source_gets_an_animated_webp_with_its_timing() -> None:
    out = {r.format.name: r for r in run(_animated_gif(), ANIMATED)}
    webp = out["webp"]
    assert webp.animated and (webp.width, webp.height) == (32, 24)
    frames = _frames(webp.data)
    assert [d for d, _ in frames] == GIF_DURATIONS
    for (_, pixel), colour in zip(frames, GIF_COLOURS, strict=True):
        assert close(pixel, colour, 12), (pixel, colour)


def test_still_formats_of_an_animated_source_come_from_its_first_frame() -> None:
    out = {r.format.name: r for r in run(_animated_gif(), ANIMATED)}
    png = Image.open(io.BytesIO(out["png"].data))
    assert not out["png"].animated and getattr(png, "n_frames", 1) == 1
    assert close(png.convert("RGB").getpixel((5, 5)), GIF_COLOURS[0], 6)


def test_specs_not_marked_animated_get_a_still_webp() -> None:
    out = run(_animated_gif(), spec(width=32, height=32, formats=["webp"]))
    assert not out[0].animated
    assert len(_frames(out[0].data)) == 1


def test_animation_is_cut_at_the_frame_limit() -> None:
    limits = replace(LIMITS, animated_max_frames=3)
    webp = next(r for r in run(_animated_gif(), ANIMATED, limits=limits)
                if r.format.name == "webp")
    assert [d for d, _ in _frames(webp.data)] == GIF_DURATIONS[:3]


def test_animation_is_cut_at_the_pixel_budget() -> None:
    limits = replace(LIMITS, animated_max_pixels=32 * 24 * 2)  # two frames of the output
    webp = next(r for r in run(_animated_gif(), ANIMATED, limits=limits)
                if r.format.name == "webp")
    assert webp.animated and len(_frames(webp.data)) == 2


def test_a_budget_of_one_frame_gives_a_still() -> None:
    limits = replace(LIMITS, animated_max_pixels=100)  # less than one frame
    webp = next(r for r in run(_animated_gif(), ANIMATED, limits=limits)
                if r.format.name == "webp")
    assert not webp.animated and len(_frames(webp.data)) == 1


def test_animated_webp_source_is_animated_too() -> None:
    frames = [Image.new("RGB", (40, 40), colour) for colour in GIF_COLOURS[:4]]
    buffer = io.BytesIO()
    frames[0].save(buffer, "WEBP", save_all=True, append_images=frames[1:], duration=70,
                   lossless=True)
    (webp,) = run(buffer.getvalue(), spec(width=20, height=20, formats=["webp"],
                                          animated=True))
    assert webp.animated and [d for d, _ in _frames(webp.data)] == [70] * 4


def test_animation_over_the_probe_budget_is_refused() -> None:
    with pytest.raises(ProbeRefused, match="animation budget"):
        run(animated_gif(10, (100, 100)), ANIMATED,
            limits=replace(LIMITS, max_animation_pixels=99_999))


# -- crops ------------------------------------------------------------------------------
def crop_spec(box: tuple[int, int, int, int], width: int, height: int,
              name: str = "png") -> VariantSpec:
    return VariantSpec("crop", width, height, formats=(OutputFormat(name),), crop=box)


@pytest.mark.parametrize("orientation", [1, 3, 6, 8])
@pytest.mark.parametrize("box, corner", [((0, 0, 60, 40), "top_left"),
                                         ((60, 0, 60, 40), "top_right"),
                                         ((0, 40, 60, 40), "bottom_left"),
                                         ((60, 40, 60, 40), "bottom_right")])
def test_crop_takes_the_region_in_display_coordinates(orientation: int,
                                                      box: tuple[int, int, int, int],
                                                      corner: str) -> None:
    data = photos.oriented_jpeg(orientation, (120, 80))
    image = one(data, crop_spec(box, 60, 40)).convert("RGB")
    assert image.size == (60, 40)
    for point in [(5, 5), (30, 20), (54, 34)]:
        assert close(image.getpixel(point), photos.CORNERS[corner], 30), (point, corner)


def test_crop_is_scaled_like_any_spec() -> None:
    data = photos.oriented_jpeg(6, (120, 80))
    image = one(data, crop_spec((60, 0, 60, 40), 30, 30)).convert("RGB")
    assert image.size == (30, 20)
    assert close(image.getpixel((15, 10)), photos.CORNERS["top_right"], 30)


def test_crop_of_a_large_jpeg_after_a_draft_decode(decode_spy: list[tuple[int, int]]) -> None:
    data = photos.oriented_jpeg(6, (1600, 1200))
    image = one(data, crop_spec((800, 600, 800, 600), 100, 100)).convert("RGB")
    assert decode_spy[0][0] < 1200  # decoded below full size
    assert image.size == (100, 75)
    assert close(image.getpixel((50, 37)), photos.CORNERS["bottom_right"], 30)
    assert close(image.getpixel((3, 3)), photos.CORNERS["bottom_right"], 30)


def test_crop_and_plain_specs_from_one_decode() -> None:
    data = photos.oriented_jpeg(8, (120, 80))
    out = run(data, spec("whole", width=60, height=60),
              crop_spec((0, 40, 60, 40), 60, 40))
    by_name = {r.spec.name: Image.open(io.BytesIO(r.data)) for r in out}
    assert_upright(by_name["whole"])
    assert close(by_name["crop"].convert("RGB").getpixel((30, 20)),
                 photos.CORNERS["bottom_left"], 30)


# -- hostile and broken input -----------------------------------------------------------
def _png_header_only(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body)))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 16)) + chunk(b"IEND", b""))


def _avif_with_garbage_payload() -> bytes:
    data = photos.photo_bytes("AVIF", (32, 24))
    start = data.index(b"mdat") + 4
    return data[:start] + b"\x00" * (len(data) - start)


JPEG = photos.photo_bytes("JPEG", (64, 48))
PNG = photos.photo_bytes("PNG", (64, 48))
BAD_INPUTS: dict[str, tuple[Callable[[], bytes], Limits]] = {
    "empty": (lambda: b"", LIMITS),
    "garbage": (lambda: b"definitely not an image " * 20, LIMITS),
    "truncated-jpeg": (lambda: JPEG[: len(JPEG) // 2], LIMITS),
    "jpeg-header-only": (lambda: JPEG[:20], LIMITS),
    "truncated-png": (lambda: PNG[: len(PNG) // 2], LIMITS),
    "truncated-webp": (lambda: photos.photo_bytes("WEBP", (64, 48))[:80], LIMITS),
    "pixel-bomb-header": (lambda: _png_header_only(12_000, 9_000), LIMITS),
    "over-pixel-budget": (lambda: PNG, replace(LIMITS, max_pixels=64 * 48 - 1)),
    "gif-not-allowed": (lambda: image_bytes("GIF"), replace(LIMITS, allowed_formats=("JPEG",))),
    "tiff": (lambda: image_bytes("TIFF"), LIMITS),
    "bmp": (lambda: image_bytes("BMP"), LIMITS),
    "pdf": (lambda: b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF", LIMITS),
    "eps": (lambda: b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n", LIMITS),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_is_refused(case: str) -> None:
    make, limits = BAD_INPUTS[case]
    with pytest.raises(ProbeRefused):
        run(make(), spec(formats=["webp", "png"], animated=True), limits=limits)


@pytest.mark.parametrize("cut", [95, 97, 103, 105, 107, 109])
def test_truncated_animated_gif_is_refused_not_crashed(cut: int) -> None:
    """An interrupted upload of a GIF: Pillow raises IndexError / struct.error while
    counting frames; that must become ProbeRefused like any other truncation."""
    data = animated_gif(4)[:cut]
    with contextlib.suppress(ProbeRefused):  # refused, or rendered what is there: both fine
        run(data, ANIMATED)


def test_avif_with_undecodable_payload_is_refused_not_crashed() -> None:
    """libavif reports a broken payload as RuntimeError."""
    with pytest.raises(ProbeRefused):
        run(_avif_with_garbage_payload(), spec())


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "GIF"])
def test_random_corruption_never_raises_anything_but_probe_refused(fmt: str) -> None:
    source = photos.photo_bytes(fmt, (40, 30)) if fmt != "GIF" else animated_gif(3)
    rng = np.random.default_rng(17)
    unexpected: list[str] = []
    for _ in range(40):
        data = bytearray(source)
        for _ in range(int(rng.integers(1, 6))):
            data[int(rng.integers(0, len(data)))] = int(rng.integers(0, 256))
        try:
            run(bytes(data), spec(width=16, height=16, formats=["png", "webp"],
                                  animated=True))
        except ProbeRefused:
            pass
        except Exception as exc:  # the finding, reported below
            unexpected.append(f"{type(exc).__name__}: {exc}")
    assert unexpected == []
