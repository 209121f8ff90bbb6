"""sniff() names what bytes are; claimed_type() and contradiction() compare with claims."""

from __future__ import annotations

import pytest

from apps.storage.sniff import SNIFF_BYTES, Sniffed, claimed_type, contradiction, sniff
from tests.apps.storage.samples import (
    AVIF_HEAD,
    HTML_BYTES,
    MKV_HEAD,
    MOV_HEAD,
    MP4_HEAD,
    PDF_BYTES,
    SVG_BYTES,
    TEXT_BYTES,
    WEBM_HEAD,
    ftyp,
    image_bytes,
)


@pytest.mark.parametrize(("fmt", "mime", "kind", "ext"), [
    ("JPEG", "image/jpeg", "image", ".jpg"),
    ("PNG", "image/png", "image", ".png"),
    ("GIF", "image/gif", "gif", ".gif"),
    ("WEBP", "image/webp", "image", ".webp"),
    ("AVIF", "image/avif", "image", ".avif"),
    ("TIFF", "image/tiff", "image", ".tiff"),
    ("BMP", "image/bmp", "image", ".bmp"),
])
def test_real_images_made_by_pillow(fmt: str, mime: str, kind: str, ext: str) -> None:
    result = sniff(image_bytes(fmt)[:SNIFF_BYTES])
    assert result == Sniffed(mime, kind, ext, active=False)


@pytest.mark.parametrize(("head", "mime", "kind", "ext"), [
    (AVIF_HEAD, "image/avif", "image", ".avif"),
    (ftyp(b"avis", b"avis", b"msf1"), "image/avif", "image", ".avif"),  # AVIF sequence
    (ftyp(b"isom", b"mp41", b"avif"), "image/avif", "image", ".avif"),  # compatible brand
    (ftyp(b"mif1", b"mif1", b"miaf"), "image/heif", "image", ".heif"),
    (ftyp(b"heic", b"mif1", b"heic"), "image/heic", "image", ".heic"),
    (MP4_HEAD, "video/mp4", "video", ".mp4"),
    (ftyp(b"mp42", b"mp42", b"isom"), "video/mp4", "video", ".mp4"),
    (MOV_HEAD, "video/quicktime", "video", ".mov"),
    (ftyp(b"M4A ", b"M4A "), "audio/mp4", "other", ".m4a"),
    (WEBM_HEAD, "video/webm", "video", ".webm"),
    (MKV_HEAD, "video/x-matroska", "video", ".mkv"),
    (b"RIFF\x24\x00\x00\x00AVI LIST", "video/x-msvideo", "video", ".avi"),
    (b"RIFF\x24\x00\x00\x00WAVEfmt ", "audio/wav", "other", ".wav"),
    (PDF_BYTES, "application/pdf", "document", ".pdf"),
    (b"PK\x03\x04\x14\x00\x00\x00", "application/zip", "other", ".zip"),
    (b"\x7fELF\x02\x01\x01", "application/x-executable", "other", ".bin"),
    (b"%!PS-Adobe-3.0\n", "application/postscript", "other", ".ps"),
], ids=lambda v: v if isinstance(v, str) else None)
def test_media_headers(head: bytes, mime: str, kind: str, ext: str) -> None:
    result = sniff(head)
    assert (result.mime_type, result.kind, result.extension) == (mime, kind, ext)
    assert result.active is False


@pytest.mark.parametrize(("data", "mime"), [
    (HTML_BYTES, "text/html"),
    (b"\xef\xbb\xbf  \n<html><body>hi</body></html>", "text/html"),
    (b"Hello <script>alert(1)</script>", "text/html"),
    (SVG_BYTES, "image/svg+xml"),
    (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/svg+xml"),
    (b"<?xml version='1.0'?><feed/>", "application/xml"),
])
def test_active_content_is_recognised(data: bytes, mime: str) -> None:
    result = sniff(data)
    assert result.mime_type == mime
    assert result.active is True
    assert result.kind == "other"


@pytest.mark.parametrize(("data", "mime", "kind"), [
    (TEXT_BYTES, "text/plain", "document"),
    (b'{"a": 1}', "application/json", "document"),
    (b"BMW service notes: oil changed.\n" * 3, "text/plain", "document"),
    (b"\x00\x01\x02\x03binary", "application/octet-stream", "other"),
    (b"\xff\xfe\xfd not utf-8 at all \xff", "application/octet-stream", "other"),
])
def test_text_and_unknown_bytes(data: bytes, mime: str, kind: str) -> None:
    result = sniff(data)
    assert (result.mime_type, result.kind) == (mime, kind)
    assert result.active is False


def test_multibyte_character_cut_at_the_end_of_the_head_is_still_text() -> None:
    data = ("é" * SNIFF_BYTES).encode()  # 2 bytes each: the head ends mid-character
    head = data[:SNIFF_BYTES - 1]
    assert sniff(head).mime_type == "text/plain"


def test_html_hidden_behind_a_long_preamble_is_caught_within_the_first_kilobyte() -> None:
    assert sniff(b" " * 900 + b"<iframe src=x>").mime_type == "text/html"


def test_claimed_type_combines_declared_type_and_extension() -> None:
    assert claimed_type("a.JPG", "image/png; charset=binary") == ["image/png", "image/jpeg"]
    assert claimed_type("noext", None) == []
    assert claimed_type(None, None) == []
    assert claimed_type("clip.webm", None) == ["video/webm"]


@pytest.mark.parametrize(("data", "claims"), [
    (image_bytes("PNG"), ["image/jpeg"]),          # a format within the kind: fine
    (image_bytes("PNG"), ["image/gif"]),           # image and gif are interchangeable
    (image_bytes("GIF"), ["image/png"]),
    (image_bytes("JPEG"), ["application/octet-stream"]),
    (MP4_HEAD, ["video/quicktime"]),
    (PDF_BYTES, ["text/plain"]),                   # neither is a media kind
    (HTML_BYTES, ["text/html"]),                   # active content under its own type
    (SVG_BYTES, ["image/svg+xml"]),
    (TEXT_BYTES, []),
])
def test_consistent_claims(data: bytes, claims: list[str]) -> None:
    assert contradiction(sniff(data), claims) is None


@pytest.mark.parametrize(("data", "claims"), [
    (HTML_BYTES, ["image/png"]),
    (HTML_BYTES, ["text/plain"]),                  # active content never passes as passive
    (SVG_BYTES, ["image/png"]),
    (image_bytes("PNG"), ["video/mp4"]),
    (MP4_HEAD, ["image/jpeg"]),
    (image_bytes("JPEG"), ["application/pdf"]),
    (TEXT_BYTES, ["image/webp"]),
    (image_bytes("PNG"), ["image/png", "video/mp4"]),  # every claim must hold
])
def test_contradicting_claims(data: bytes, claims: list[str]) -> None:
    why = contradiction(sniff(data), claims)
    assert why is not None
    assert sniff(data).mime_type in why
