"""Photo-like test images: NumPy gradients + noise + shapes, EXIF, XMP and ICC profiles.

Everything is generated at test time (no binary fixtures). ``private_exif`` carries what
``exif.strip_private`` must remove (GPS, serials, owner, maker note) next to what it must
keep (make, model, lens, date taken, orientation); ``swapped_primaries_icc`` is a small
hand-written ICC v2 matrix/TRC profile whose red and green colorants are exchanged, so a
colour-managed conversion to sRGB turns pure red into green: unmistakable in a test.
"""

from __future__ import annotations

import io
import struct
from functools import lru_cache
from typing import Any

import numpy as np
from PIL import Image, ImageDraw
from PIL.TiffImagePlugin import IFDRational

ORIENTATION = 0x0112
EXIF_IFD, GPS_IFD = 0x8769, 0x8825
BODY_SERIAL, LENS_SERIAL, OWNER_NAME, MAKER_NOTE = 0xA431, 0xA435, 0xA430, 0x927C
DATE_TAKEN, LENS_MODEL = 0x9003, 0xA434

SERIAL = "SN-0451-7788-XYZ"
LENS_SERIAL_VALUE = "LENS-99-1234"
OWNER = "Jane Q. Photographer"
MAKER_NOTE_VALUE = b"MAKERNOTE\x00SECRET-SERIAL-42\x00" + bytes(range(32))

# Where each corner of an upright test image is: quadrant colours, far apart in RGB.
CORNERS = {"top_left": (230, 20, 20), "top_right": (20, 200, 20),
           "bottom_left": (20, 20, 230), "bottom_right": (240, 240, 20)}

# EXIF orientation n: the transposes that turn the stored pixels upright (as Pillow's
# exif_transpose does), and their inverses (upright -> stored), to build test files.
TO_UPRIGHT: dict[int, list[Image.Transpose]] = {
    1: [], 2: [Image.Transpose.FLIP_LEFT_RIGHT], 3: [Image.Transpose.ROTATE_180],
    4: [Image.Transpose.FLIP_TOP_BOTTOM], 5: [Image.Transpose.TRANSPOSE],
    6: [Image.Transpose.ROTATE_270], 7: [Image.Transpose.TRANSVERSE],
    8: [Image.Transpose.ROTATE_90]}
TO_STORED: dict[int, list[Image.Transpose]] = {
    1: [], 2: [Image.Transpose.FLIP_LEFT_RIGHT], 3: [Image.Transpose.ROTATE_180],
    4: [Image.Transpose.FLIP_TOP_BOTTOM], 5: [Image.Transpose.TRANSPOSE],
    6: [Image.Transpose.ROTATE_90], 7: [Image.Transpose.TRANSVERSE],
    8: [Image.Transpose.ROTATE_270]}


def photo(size: tuple[int, int] = (320, 240), seed: int = 1) -> Image.Image:
    """An RGB image with the statistics of a photo: smooth gradients, sensor-like noise,
    and a few hard-edged shapes (so encoders have real detail to work on)."""
    width, height = size
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    red = 255 * x / max(1, width - 1)
    green = 255 * y / max(1, height - 1)
    blue = 128 + 100 * np.sin(x / max(1, width) * 6.3) * np.cos(y / max(1, height) * 4.1)
    pixels = np.stack([red, green, blue], axis=-1)
    pixels += rng.normal(0, 12, pixels.shape).astype(np.float32)
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        x0, y0 = int(rng.integers(0, width)), int(rng.integers(0, height))
        x1 = x0 + int(rng.integers(1, max(2, width // 3)))
        y1 = y0 + int(rng.integers(1, max(2, height // 3)))
        fill = tuple(int(c) for c in rng.integers(0, 256, 3))
        if rng.random() < 0.5:
            draw.ellipse((x0, y0, x1, y1), fill=fill)
        else:
            draw.rectangle((x0, y0, x1, y1), fill=fill)
    return image


def encode(image: Image.Image, fmt: str, **save: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **save)
    return buffer.getvalue()


def photo_bytes(fmt: str = "JPEG", size: tuple[int, int] = (320, 240), seed: int = 1,
                **save: Any) -> bytes:
    return encode(photo(size, seed), fmt, **save)


@lru_cache(maxsize=4)
def big_photo_jpeg(size: tuple[int, int] = (4000, 3000)) -> bytes:
    """A 12 MP camera-sized JPEG (cached). Drawn at a quarter of the size and scaled up:
    noise at full size would cost seconds, and the decode scale is what tests look at."""
    small = photo((max(1, size[0] // 4), max(1, size[1] // 4)), seed=7)
    return encode(small.resize(size, Image.Resampling.BILINEAR), "JPEG", quality=90)


def quadrants(size: tuple[int, int] = (120, 80)) -> Image.Image:
    """An upright image whose four quadrants have the CORNERS colours."""
    width, height = size
    image = Image.new("RGB", size)
    draw = ImageDraw.Draw(image)
    half_w, half_h = width // 2, height // 2
    draw.rectangle((0, 0, half_w - 1, half_h - 1), fill=CORNERS["top_left"])
    draw.rectangle((half_w, 0, width - 1, half_h - 1), fill=CORNERS["top_right"])
    draw.rectangle((0, half_h, half_w - 1, height - 1), fill=CORNERS["bottom_left"])
    draw.rectangle((half_w, half_h, width - 1, height - 1), fill=CORNERS["bottom_right"])
    return image


def stored_for_orientation(upright: Image.Image, orientation: int) -> Image.Image:
    """The pixels a camera would store so that ``orientation`` displays ``upright``."""
    image = upright
    for method in TO_STORED[orientation]:
        image = image.transpose(method)
    return image


def oriented_jpeg(orientation: int, size: tuple[int, int] = (120, 80), **save: Any) -> bytes:
    """A JPEG displaying ``quadrants(size)`` upright through EXIF ``orientation``."""
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    stored = stored_for_orientation(quadrants(size), orientation)
    return encode(stored, "JPEG", quality=95, exif=exif.tobytes(), **save)


def private_exif(orientation: int = 1) -> Image.Exif:
    """EXIF with what must be kept and what must be removed."""
    exif = Image.Exif()
    exif[0x010F] = "Canon"
    exif[0x0110] = "Canon EOS R5"
    exif[ORIENTATION] = orientation
    exif[0x0131] = "Firmware 1.8.1"
    sub = exif.get_ifd(EXIF_IFD)
    sub[DATE_TAKEN] = "2023:05:06 07:08:09"
    sub[LENS_MODEL] = "RF24-70mm F2.8 L IS USM"
    sub[0x829A] = IFDRational(1, 250)  # exposure time
    sub[0x829D] = IFDRational(28, 10)  # f-number
    sub[0x8827] = 400  # ISO
    sub[0x920A] = IFDRational(50, 1)  # focal length
    sub[BODY_SERIAL] = SERIAL
    sub[LENS_SERIAL] = LENS_SERIAL_VALUE
    sub[OWNER_NAME] = OWNER
    sub[MAKER_NOTE] = MAKER_NOTE_VALUE
    gps = exif.get_ifd(GPS_IFD)
    gps[1] = "N"
    gps[2] = (52.0, 31.0, 12.0)
    gps[3] = "E"
    gps[4] = (13.0, 24.0, 17.0)
    return exif


def public_exif(orientation: int = 1) -> Image.Exif:
    """EXIF with camera facts only: nothing private to remove."""
    exif = Image.Exif()
    exif[0x010F] = "Nikon"
    exif[0x0110] = "Z 6"
    exif[ORIENTATION] = orientation
    exif.get_ifd(EXIF_IFD)[DATE_TAKEN] = "2021:01:02 03:04:05"
    return exif


PRIVATE_XMP = (
    b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>'
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
    b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" '
    b'xmlns:aux="http://ns.adobe.com/exif/1.0/aux/" '
    b'exif:GPSLatitude="52,31.2N" exif:GPSLongitude="13,24.28E" '
    b'aux:SerialNumber="' + SERIAL.encode() + b'"/>'
    b'</rdf:RDF></x:xmpmeta><?xpacket end="w"?>')
PUBLIC_XMP = (
    b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>'
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
    b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" dc:format="image/jpeg"/>'
    b'</rdf:RDF></x:xmpmeta><?xpacket end="w"?>')


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    import zlib

    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_with_xmp(png: bytes, xmp: bytes) -> bytes:
    """``png`` with an iTXt ``XML:com.adobe.xmp`` chunk right after IHDR."""
    ihdr_end = 8 + 12 + struct.unpack(">I", png[8:12])[0]
    chunk = _png_chunk(b"iTXt", b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + xmp)
    return png[:ihdr_end] + chunk + png[ihdr_end:]


def private_jpeg(size: tuple[int, int] = (96, 64), *, orientation: int = 1,
                 xmp: bytes | None = PRIVATE_XMP, seed: int = 3, **save: Any) -> bytes:
    options: dict[str, Any] = {"quality": 90, "exif": private_exif(orientation).tobytes()}
    if xmp is not None:
        options["xmp"] = xmp
    return photo_bytes("JPEG", size, seed=seed, **options, **save)


def private_png(size: tuple[int, int] = (48, 32), *, xmp: bytes | None = PRIVATE_XMP) -> bytes:
    data = photo_bytes("PNG", size, seed=4, exif=private_exif().tobytes())
    return png_with_xmp(data, xmp) if xmp is not None else data


def private_webp(size: tuple[int, int] = (48, 32), *, xmp: bytes | None = PRIVATE_XMP,
                 lossless: bool = True) -> bytes:
    options: dict[str, Any] = {"exif": private_exif().tobytes(), "lossless": lossless}
    if xmp is not None:
        options["xmp"] = xmp
    return photo_bytes("WEBP", size, seed=5, **options)


# -- ICC ---------------------------------------------------------------------------------
def _s15(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def _xyz(x: float, y: float, z: float) -> bytes:
    return b"XYZ \0\0\0\0" + _s15(x) + _s15(y) + _s15(z)


def _desc(text: str) -> bytes:
    ascii_text = text.encode("ascii") + b"\0"
    body = b"desc\0\0\0\0" + struct.pack(">I", len(ascii_text)) + ascii_text
    body += b"\0" * 8  # Unicode: language code 0, count 0
    body += b"\0\0" + b"\0" + b"\0" * 67  # ScriptCode: code 0, count 0, 67 bytes
    return body


def _curve(gamma: float) -> bytes:
    return b"curv\0\0\0\0" + struct.pack(">IH", 1, round(gamma * 256)) + b"\0\0"


# D50-adapted colorants of sRGB (as in the ICC sRGB profiles).
SRGB_RED, SRGB_GREEN, SRGB_BLUE = ((0.4361, 0.2225, 0.0139), (0.3851, 0.7169, 0.0971),
                                   (0.1431, 0.0606, 0.7141))


def matrix_profile(description: str, red: tuple[float, float, float],
                   green: tuple[float, float, float], blue: tuple[float, float, float],
                   gamma: float = 2.2) -> bytes:
    """A minimal ICC v2 RGB display profile (matrix + gamma TRC), hand-assembled."""
    curve = _curve(gamma)
    tags = [(b"desc", _desc(description)), (b"wtpt", _xyz(0.9642, 1.0, 0.8249)),
            (b"rXYZ", _xyz(*red)), (b"gXYZ", _xyz(*green)), (b"bXYZ", _xyz(*blue)),
            (b"rTRC", curve), (b"gTRC", curve), (b"bTRC", curve),
            (b"cprt", b"text\0\0\0\0public domain\0")]
    offset = 128 + 4 + 12 * len(tags)
    table, blobs = b"", b""
    for signature, data in tags:
        while (offset + len(blobs)) % 4:
            blobs += b"\0"
        table += signature + struct.pack(">II", offset + len(blobs), len(data))
        blobs += data
    body = struct.pack(">I", len(tags)) + table + blobs
    while len(body) % 4:
        body += b"\0"
    size = 128 + len(body)
    header = (struct.pack(">I", size) + b"lcms" + struct.pack(">I", 0x02100000)
              + b"mntr" + b"RGB " + b"XYZ " + b"\0" * 12 + b"acsp" + b"APPL"
              + struct.pack(">I", 0) + b"\0" * 4 + b"\0" * 4 + b"\0" * 8
              + struct.pack(">I", 0) + _s15(0.9642) + _s15(1.0) + _s15(0.8249)
              + b"\0" * 4 + b"\0" * 16 + b"\0" * 28)
    assert len(header) == 128, len(header)
    return header + body


def swapped_primaries_icc() -> bytes:
    """RGB profile whose 'red' is sRGB's green and vice versa (description has no 'sRGB')."""
    return matrix_profile("Swapped RG test", SRGB_GREEN, SRGB_RED, SRGB_BLUE)
