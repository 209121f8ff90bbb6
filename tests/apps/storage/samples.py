"""Real file contents for the storage tests: images made with Pillow, media headers by hand."""

from __future__ import annotations

import io
from collections.abc import Iterator

from PIL import Image

MIB = 1024 * 1024


def image_bytes(fmt: str, size: tuple[int, int] = (16, 12), color: str = "teal") -> bytes:
    """A real, decodable image in ``fmt`` (PNG, JPEG, GIF, WEBP, AVIF)."""
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format=fmt)
    return buffer.getvalue()


def png_bytes(size: tuple[int, int] = (16, 12)) -> bytes:
    return image_bytes("PNG", size)


# ISO base media files start with an ``ftyp`` box: size, "ftyp", major brand, minor
# version, compatible brands.
def ftyp(major: bytes, *compatible: bytes) -> bytes:
    body = b"ftyp" + major + b"\x00\x00\x02\x00" + b"".join(compatible)
    return (len(body) + 4).to_bytes(4, "big") + body


AVIF_HEAD = ftyp(b"avif", b"avif", b"mif1", b"miaf") + b"\x00\x00\x00\x08free"
MP4_HEAD = ftyp(b"isom", b"isom", b"iso2", b"avc1", b"mp41") + b"\x00\x00\x00\x08free"
MOV_HEAD = ftyp(b"qt  ", b"qt  ") + b"\x00\x00\x00\x08wide"
# An EBML header whose DocType is "webm" (then Matroska's "matroska").
WEBM_HEAD = (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\xf2\x81\x04"
             b"\x42\xf3\x81\x08\x42\x82\x84webm\x42\x87\x81\x04\x42\x85\x81\x02")
MKV_HEAD = WEBM_HEAD.replace(b"\x42\x82\x84webm", b"\x42\x82\x88matroska")
PDF_BYTES = (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
             b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n"
             b"%%EOF\n")
HTML_BYTES = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
SVG_BYTES = (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" '
             b'height="10"><script>alert(1)</script></svg>')
TEXT_BYTES = "Plain notes, nothing more.\nZweite Zeile: äöü ✓\n".encode()


def counting_chunks(first: bytes, total: int, chunk_size: int = MIB,
                    counter: list[int] | None = None) -> Iterator[bytes]:
    """``total`` bytes in chunks of ``chunk_size`` starting with ``first``; counts what is
    pulled into ``counter[0]``. The filler chunk is one object, reused, so the generator
    itself allocates nothing per chunk."""
    counter = counter if counter is not None else [0]
    filler = b"\x00" * chunk_size
    head = first + filler[len(first):]
    sent = 0
    while sent < total:
        chunk = head if sent == 0 else filler
        chunk = chunk[: total - sent] if total - sent < len(chunk) else chunk
        sent += len(chunk)
        counter[0] += len(chunk)
        yield chunk
