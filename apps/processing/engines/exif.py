"""EXIF: the facts worth keeping, and the private parts removed from served originals.

``extract`` reads camera, lens, date taken and exposure into plain JSON for the
database. ``strip_private`` removes GPS position, device serial numbers, the owner's
name and maker notes (opaque blobs that often hold serials) from an original without
re-encoding it: the EXIF block is rewritten and spliced back into the JPEG segments,
PNG chunks or WebP chunks around it; XMP packets that mention GPS or serials are
dropped. Pixels are untouched, so the original stays bit-exact where it matters.
Other containers (AVIF, HEIC) are left as they are and say so.
"""

from __future__ import annotations

import contextlib
import struct
import zlib
from datetime import datetime
from typing import Any

from PIL import Image

EXIF_IFD, GPS_IFD = 0x8769, 0x8825
_PRIVATE_IN_EXIF_IFD = (0xA430, 0xA431, 0xA435, 0x927C)  # owner, body/lens serial, maker note
_PRIVATE_IN_IFD0 = (0xC62F, 0x9C9C, 0x9C9D)  # camera serial (DNG), XP comment/author
_XMP_PRIVATE = (b"gps", b"serialnumber", b"ownername")
_XMP_JPEG = (b"http://ns.adobe.com/xap/1.0/\0", b"http://ns.adobe.com/xmp/extension/\0")
_FIELDS = {0x010F: "make", 0x0110: "model", 0x0131: "software"}
_EXIF_FIELDS = {0xA434: "lens", 0x829A: "exposure_time", 0x829D: "f_number",
                0x8827: "iso", 0x920A: "focal_length"}


def _plain(value: Any) -> Any:
    if isinstance(value, bytes):
        return None
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, (int, str)):
        return value.strip("\x00 ").strip() if isinstance(value, str) else value
    try:
        return round(float(value), 6)  # IFDRational
    except (TypeError, ValueError, ZeroDivisionError):
        return None


def extract(image: Image.Image) -> dict[str, Any]:
    """Camera, lens, date taken and exposure; ``has_gps`` says whether a position exists
    (the position itself is not kept)."""
    exif = image.getexif()
    sub = exif.get_ifd(EXIF_IFD)
    out: dict[str, Any] = {}
    for tag, name in _FIELDS.items():
        if exif.get(tag) is not None:
            out[name] = _plain(exif[tag])
    for tag, name in _EXIF_FIELDS.items():
        if sub.get(tag) is not None:
            out[name] = _plain(sub[tag])
    taken = sub.get(0x9003) or exif.get(0x0132)
    if isinstance(taken, str):
        with contextlib.suppress(ValueError):
            out["taken_at"] = datetime.strptime(taken.strip("\x00 "),
                                                "%Y:%m:%d %H:%M:%S").isoformat()
    out["has_gps"] = bool(exif.get_ifd(GPS_IFD))
    return {k: v for k, v in out.items() if v not in (None, "", [])}


def _stripped_exif(raw: bytes) -> bytes | None:
    """``raw`` (TIFF-structured EXIF, optionally with the ``Exif\\0\\0`` header) without
    its private tags, or None when it had none; empty when it cannot be read."""
    exif = Image.Exif()
    try:
        exif.load(raw)
        sub = exif.get_ifd(EXIF_IFD)
        found = exif.get(GPS_IFD) is not None or any(t in exif for t in _PRIVATE_IN_IFD0) \
            or any(t in sub for t in _PRIVATE_IN_EXIF_IFD)
        if not found:
            return None
        for tag in (GPS_IFD, *_PRIVATE_IN_IFD0):
            exif.pop(tag, None)
        for tag in _PRIVATE_IN_EXIF_IFD:
            sub.pop(tag, None)
        data = exif.tobytes()
    except (SyntaxError, struct.error, ValueError, TypeError, KeyError, IndexError,
            OSError, EOFError):
        return b""  # unreadable: it may hold anything, so the caller drops it whole
    return data if raw.startswith(b"Exif\0\0") else data[6:]


def _xmp_private(packet: bytes) -> bool:
    lowered = packet.lower()
    return any(marker in lowered for marker in _XMP_PRIVATE)


def strip_private(data: bytes, format: str) -> bytes | None:
    """The original without private metadata, or None when there was nothing to remove
    (or the container is not one we rewrite)."""
    rewrite = {"JPEG": _strip_jpeg, "PNG": _strip_png, "WEBP": _strip_webp}.get(format)
    return rewrite(data) if rewrite else None


def _strip_jpeg(data: bytes) -> bytes | None:
    if not data.startswith(b"\xff\xd8"):
        return None
    out, pos, changed = [data[:2]], 2, False
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker == 0xDA or marker == 0xD9:  # start of scan: the rest is image data
            break
        length = struct.unpack(">H", data[pos + 2:pos + 4])[0]
        segment, payload = data[pos:pos + 2 + length], data[pos + 4:pos + 2 + length]
        pos += 2 + length
        if marker == 0xE1 and payload.startswith(b"Exif\0\0"):
            new = _stripped_exif(payload)
            if new is not None:
                changed = True
                if not new:
                    continue
                segment = b"\xff\xe1" + struct.pack(">H", len(new) + 2) + new
        elif marker == 0xE1 and payload.startswith(_XMP_JPEG) and _xmp_private(payload):
            changed = True
            continue
        out.append(segment)
    return b"".join(out) + data[pos:] if changed else None


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _strip_png(data: bytes) -> bytes | None:
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return None
    out, pos, changed = [data[:8]], 8, False
    while pos + 8 <= len(data):
        length = struct.unpack(">I", data[pos:pos + 4])[0]
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        chunk = data[pos:pos + 12 + length]
        pos += 12 + length
        if kind == b"eXIf":
            new = _stripped_exif(body)
            if new is not None:
                changed, chunk = True, _png_chunk(kind, new)
                if not new:
                    continue
        elif kind in (b"iTXt", b"tEXt", b"zTXt") and body.startswith(b"XML:com.adobe.xmp") \
                and _xmp_private(body):
            changed = True
            continue
        out.append(chunk)
        if kind == b"IEND":
            break
    return b"".join(out) if changed else None


def _strip_webp(data: bytes) -> bytes | None:
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return None
    chunks, pos, changed, drop_xmp, drop_exif = [], 12, False, False, False
    while pos + 8 <= len(data):
        kind, length = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        body = data[pos + 8:pos + 8 + length]
        pos += 8 + length + (length & 1)
        if kind == b"EXIF":
            new = _stripped_exif(body)
            if new is not None:
                changed, body = True, new
                if not new:
                    changed = drop_exif = True
                    continue
        elif kind == b"XMP " and _xmp_private(body):
            changed = drop_xmp = True
            continue
        chunks.append([kind, body])
    if not changed:
        return None
    for chunk in chunks:
        if chunk[0] == b"VP8X" and chunk[1] and (drop_xmp or drop_exif):
            flags = chunk[1][0] & ~(0x04 if drop_xmp else 0) & ~(0x08 if drop_exif else 0)
            chunk[1] = bytes([flags]) + chunk[1][1:]  # no XMP / EXIF chunk any more
    payload = b"".join(k + struct.pack("<I", len(b)) + b + (b"\0" if len(b) & 1 else b"")
                       for k, b in chunks)
    return b"RIFF" + struct.pack("<I", len(payload) + 4) + b"WEBP" + payload
