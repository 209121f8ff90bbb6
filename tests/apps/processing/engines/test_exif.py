"""EXIF: the facts kept in the database, and the private parts removed from originals
without touching a pixel (JPEG segments, PNG chunks, WebP chunks)."""

from __future__ import annotations

import io
import json
import struct
from collections.abc import Callable

import numpy as np
import pytest
from PIL import Image

from apps.processing.engines import exif
from tests.apps.processing import photos
from tests.apps.processing.images import image_bytes

PRIVATE: dict[str, Callable[[], bytes]] = {
    "JPEG": lambda: photos.private_jpeg(orientation=6),
    "PNG": photos.private_png,
    "WEBP": photos.private_webp,
}
SECRETS = (photos.SERIAL.encode(), photos.LENS_SERIAL_VALUE.encode(), photos.OWNER.encode(),
           b"SECRET-SERIAL-42", b"GPSLatitude")


def opened(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data))


# -- extract ----------------------------------------------------------------------------
def test_extract_reads_camera_lens_date_and_exposure() -> None:
    facts = exif.extract(opened(photos.private_jpeg()))
    assert facts["make"] == "Canon" and facts["model"] == "Canon EOS R5"
    assert facts["lens"] == "RF24-70mm F2.8 L IS USM"
    assert facts["software"] == "Firmware 1.8.1"
    assert facts["taken_at"] == "2023-05-06T07:08:09"
    assert facts["exposure_time"] == pytest.approx(0.004)
    assert facts["f_number"] == pytest.approx(2.8) and facts["iso"] == 400
    assert facts["focal_length"] == pytest.approx(50.0)
    assert facts["has_gps"] is True


def test_extract_keeps_no_position_serial_or_owner() -> None:
    facts = exif.extract(opened(photos.private_jpeg()))
    text = json.dumps(facts)  # plain JSON for the database
    for secret in (photos.SERIAL, photos.LENS_SERIAL_VALUE, photos.OWNER, "52", "13.0"):
        assert secret not in text
    assert set(facts) <= {"make", "model", "software", "lens", "exposure_time", "f_number",
                          "iso", "focal_length", "taken_at", "has_gps"}


@pytest.mark.parametrize("fmt", sorted(PRIVATE))
def test_extract_works_for_every_container(fmt: str) -> None:
    facts = exif.extract(opened(PRIVATE[fmt]()))
    assert facts["model"] == "Canon EOS R5" and facts["has_gps"] is True
    assert facts["taken_at"] == "2023-05-06T07:08:09"


def test_extract_without_exif_says_only_that_there_is_no_position() -> None:
    assert exif.extract(opened(image_bytes("JPEG"))) == {"has_gps": False}
    assert exif.extract(opened(image_bytes("PNG"))) == {"has_gps": False}


def test_taken_at_falls_back_to_the_file_date_and_ignores_garbage() -> None:
    fallback = Image.Exif()
    fallback[0x0132] = "2020:02:29 23:59:58"
    facts = exif.extract(opened(image_bytes("JPEG", exif=fallback.tobytes())))
    assert facts["taken_at"] == "2020-02-29T23:59:58"
    garbage = Image.Exif()
    garbage.get_ifd(exif.EXIF_IFD)[photos.DATE_TAKEN] = "sometime in May"
    garbage[0x010F] = "  Canon\x00 "
    facts = exif.extract(opened(image_bytes("JPEG", exif=garbage.tobytes())))
    assert "taken_at" not in facts
    assert facts["make"] == "Canon"  # NULs and padding stripped


# -- strip_private ----------------------------------------------------------------------
@pytest.mark.parametrize("fmt", sorted(PRIVATE))
def test_strip_private_removes_gps_serials_owner_maker_note_and_private_xmp(fmt: str) -> None:
    original = PRIVATE[fmt]()
    for secret in SECRETS:
        assert secret in original  # the fixture really carries them
    cleaned = exif.strip_private(original, fmt)
    assert cleaned is not None
    for secret in SECRETS:
        assert secret not in cleaned, secret
    image = opened(cleaned)
    assert image.format == fmt
    data = image.getexif()
    assert exif.GPS_IFD not in data and data.get_ifd(exif.GPS_IFD) == {}
    sub = data.get_ifd(exif.EXIF_IFD)
    for tag in (photos.BODY_SERIAL, photos.LENS_SERIAL, photos.OWNER_NAME, photos.MAKER_NOTE):
        assert tag not in sub
    assert "xmp" not in image.info and "XML:com.adobe.xmp" not in image.info


@pytest.mark.parametrize("fmt", sorted(PRIVATE))
def test_strip_private_keeps_camera_date_and_orientation(fmt: str) -> None:
    original = PRIVATE[fmt]()
    cleaned = exif.strip_private(original, fmt)
    assert cleaned is not None
    data = opened(cleaned).getexif()
    assert data[0x010F] == "Canon" and data[0x0110] == "Canon EOS R5"
    assert data.get(photos.ORIENTATION) == opened(original).getexif().get(photos.ORIENTATION)
    sub = data.get_ifd(exif.EXIF_IFD)
    assert sub[photos.DATE_TAKEN] == "2023:05:06 07:08:09"
    assert sub[photos.LENS_MODEL] == "RF24-70mm F2.8 L IS USM"
    facts = exif.extract(opened(cleaned))
    assert facts["has_gps"] is False and facts["taken_at"] == "2023-05-06T07:08:09"
    assert facts["exposure_time"] == pytest.approx(0.004)


@pytest.mark.parametrize("fmt", sorted(PRIVATE))
def test_strip_private_leaves_every_pixel_as_it_was(fmt: str) -> None:
    original = PRIVATE[fmt]()
    cleaned = exif.strip_private(original, fmt)
    assert cleaned is not None
    before, after = opened(original), opened(cleaned)
    assert (after.size, after.mode) == (before.size, before.mode)
    assert after.tobytes() == before.tobytes()


def test_jpeg_scan_data_is_copied_byte_for_byte() -> None:
    original = photos.private_jpeg()
    cleaned = exif.strip_private(original, "JPEG")
    assert cleaned is not None and len(cleaned) < len(original)
    scan = original[original.index(b"\xff\xda"):]
    assert cleaned.endswith(scan)
    assert cleaned.startswith(b"\xff\xd8")


def test_orientation_6_jpeg_stays_orientation_6() -> None:
    cleaned = exif.strip_private(photos.private_jpeg(orientation=6), "JPEG")
    assert cleaned is not None
    assert opened(cleaned).getexif()[photos.ORIENTATION] == 6


def test_png_is_still_a_valid_png_with_correct_crcs() -> None:
    cleaned = exif.strip_private(photos.private_png(), "PNG")
    assert cleaned is not None and cleaned.endswith(b"IEND\xaeB`\x82")
    image = opened(cleaned)
    image.verify()  # checks every chunk's CRC


def test_webp_riff_header_and_flags_are_rewritten() -> None:
    cleaned = exif.strip_private(photos.private_webp(), "WEBP")
    assert cleaned is not None
    assert cleaned[:4] == b"RIFF" and cleaned[8:12] == b"WEBP"
    assert struct.unpack("<I", cleaned[4:8])[0] == len(cleaned) - 8
    assert cleaned[12:16] == b"VP8X"
    flags = cleaned[20]
    assert not flags & 0x04  # XMP flag cleared: the XMP chunk is gone
    assert flags & 0x08  # the (cleaned) EXIF chunk is still there
    assert b"XMP " not in cleaned


def test_lossy_webp_is_rewritten_too() -> None:
    original = photos.private_webp(lossless=False)
    cleaned = exif.strip_private(original, "WEBP")
    assert cleaned is not None and photos.SERIAL.encode() not in cleaned
    assert opened(cleaned).tobytes() == opened(original).tobytes()


@pytest.mark.parametrize("make", [
    lambda: image_bytes("JPEG"),
    lambda: image_bytes("PNG"),
    lambda: image_bytes("WEBP"),
    lambda: image_bytes("JPEG", exif=photos.public_exif(6).tobytes()),
    lambda: image_bytes("PNG", exif=photos.public_exif().tobytes()),
    lambda: image_bytes("WEBP", exif=photos.public_exif().tobytes()),
    lambda: image_bytes("JPEG", xmp=photos.PUBLIC_XMP),
    lambda: photos.png_with_xmp(image_bytes("PNG"), photos.PUBLIC_XMP),
    lambda: image_bytes("WEBP", xmp=photos.PUBLIC_XMP),
], ids=["jpeg", "png", "webp", "jpeg-public-exif", "png-public-exif", "webp-public-exif",
        "jpeg-public-xmp", "png-public-xmp", "webp-public-xmp"])
def test_nothing_private_means_none(make: Callable[[], bytes]) -> None:
    data = make()
    assert exif.strip_private(data, str(opened(data).format)) is None


@pytest.mark.parametrize("fmt", sorted(PRIVATE))
def test_private_xmp_alone_is_removed_and_public_exif_kept(fmt: str) -> None:
    public = photos.public_exif().tobytes()
    if fmt == "PNG":
        data = photos.png_with_xmp(image_bytes("PNG", exif=public), photos.PRIVATE_XMP)
    else:
        data = image_bytes(fmt, exif=public, xmp=photos.PRIVATE_XMP)
    cleaned = exif.strip_private(data, fmt)
    assert cleaned is not None
    assert b"GPSLatitude" not in cleaned and photos.SERIAL.encode() not in cleaned
    assert opened(cleaned).getexif()[0x0110] == "Z 6"
    assert opened(cleaned).tobytes() == opened(data).tobytes()


def test_gps_alone_is_enough_to_rewrite() -> None:
    only_gps = Image.Exif()
    only_gps[0x010F] = "Apple"
    only_gps.get_ifd(exif.GPS_IFD)[1] = "S"
    only_gps.get_ifd(exif.GPS_IFD)[2] = (33.0, 51.0, 0.0)
    data = image_bytes("JPEG", exif=only_gps.tobytes())
    cleaned = exif.strip_private(data, "JPEG")
    assert cleaned is not None
    assert exif.extract(opened(cleaned)) == {"make": "Apple", "has_gps": False}


@pytest.mark.parametrize("fmt, make", [
    ("GIF", lambda: image_bytes("GIF")),
    ("AVIF", lambda: image_bytes("AVIF", exif=photos.private_exif().tobytes())),
    ("TIFF", lambda: image_bytes("TIFF")),
    ("BMP", lambda: image_bytes("BMP")),
])
def test_unsupported_containers_are_left_alone(fmt: str, make: Callable[[], bytes]) -> None:
    assert exif.strip_private(make(), fmt) is None


@pytest.mark.parametrize("fmt", sorted(PRIVATE))
def test_data_that_is_not_the_named_container_is_left_alone(fmt: str) -> None:
    other = {"JPEG": "PNG", "PNG": "WEBP", "WEBP": "JPEG"}[fmt]
    assert exif.strip_private(PRIVATE[other](), fmt) is None
    assert exif.strip_private(b"", fmt) is None


# -- malformed input: never an exception ------------------------------------------------
@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow: "Corrupt EXIF data"
@pytest.mark.parametrize("fmt", sorted(PRIVATE))
def test_truncated_containers_never_raise(fmt: str) -> None:
    """An original cut anywhere (an interrupted upload) must not crash the metadata step:
    strip_private runs outside the probe's error translation."""
    data = PRIVATE[fmt]()
    raised: dict[str, int] = {}
    for cut in range(0, len(data), 3):
        try:
            result = exif.strip_private(data[:cut], fmt)
        except Exception as exc:  # the finding, reported below
            raised.setdefault(f"{type(exc).__name__}: {exc}", cut)
            continue
        assert result is None or isinstance(result, bytes)
    assert raised == {}


def _jpeg_with_app1(payload: bytes) -> bytes:
    jpeg = photos.photo_bytes("JPEG", (32, 24))
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + jpeg[2:]


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow: "Corrupt EXIF data"
def test_unreadable_exif_block_does_not_raise() -> None:
    """A JPEG whose APP1 says 'Exif' but holds no TIFF structure (seen from broken
    editors): browsers show it, extract() tolerates it, strip_private must too."""
    data = _jpeg_with_app1(b"Exif\0\0" + b"XX\x00\x2a" + b"\0" * 20)
    assert exif.extract(opened(data)) == {"has_gps": False}
    result = exif.strip_private(data, "JPEG")
    if result is not None:
        assert opened(result).tobytes() == opened(data).tobytes()


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow: "Corrupt EXIF data"
def test_corrupted_exif_entries_never_raise() -> None:
    original = photos.private_jpeg()
    start = original.index(b"Exif\0\0") + 6
    rng = np.random.default_rng(5)
    raised: dict[str, int] = {}
    for attempt in range(150):
        data = bytearray(original)
        for _ in range(4):
            data[start + int(rng.integers(0, 200))] = int(rng.integers(0, 256))
        try:
            exif.strip_private(bytes(data), "JPEG")
        except Exception as exc:  # the finding, reported below
            raised.setdefault(type(exc).__name__, attempt)
    assert raised == {}


def test_jpeg_with_nothing_but_markers_is_left_alone() -> None:
    assert exif.strip_private(b"\xff\xd8\xff\xd9", "JPEG") is None
    assert exif.strip_private(b"\xff\xd8", "JPEG") is None
    assert exif.strip_private(b"\x89PNG\r\n\x1a\n", "PNG") is None
    assert exif.strip_private(b"RIFF\x04\x00\x00\x00WEBP", "WEBP") is None
