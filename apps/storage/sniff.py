"""What a file really is, from its first bytes (never from its name).

A small, dependency-free signature table covering what a media platform accepts and
what it must recognise to refuse (HTML, SVG, scripts, PostScript, archives). The result
also says whether a name's extension or a client's declared type contradicts the bytes.
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass

SNIFF_BYTES = 8192


@dataclass(frozen=True)
class Sniffed:
    mime_type: str
    kind: str  # image | video | gif | document | other
    extension: str
    active: bool = False  # content a browser could execute (HTML, SVG, XML, JS)


_FTYP_IMAGE = {b"avif": "image/avif", b"avis": "image/avif", b"heic": "image/heic",
               b"heix": "image/heic", b"heim": "image/heic", b"heis": "image/heic",
               b"hevc": "image/heic", b"mif1": "image/heif", b"msf1": "image/heif"}
_FTYP_VIDEO = {b"qt  ": "video/quicktime", b"3gp4": "video/3gpp", b"3gp5": "video/3gpp",
               b"3g2a": "video/3gpp2"}
_EXT = {"image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif", "image/webp": ".webp",
        "image/avif": ".avif", "image/heic": ".heic", "image/heif": ".heif", "image/tiff": ".tiff",
        "image/bmp": ".bmp", "video/mp4": ".mp4", "video/quicktime": ".mov", "video/webm": ".webm",
        "video/x-matroska": ".mkv", "video/x-msvideo": ".avi", "video/3gpp": ".3gp",
        "video/3gpp2": ".3g2", "video/ogg": ".ogv", "audio/mp4": ".m4a", "audio/mpeg": ".mp3",
        "audio/wav": ".wav", "application/pdf": ".pdf", "application/zip": ".zip",
        "application/postscript": ".ps", "text/html": ".html", "image/svg+xml": ".svg",
        "application/xml": ".xml", "text/plain": ".txt", "application/json": ".json",
        "application/octet-stream": ".bin", "application/gzip": ".gz",
        "application/x-executable": ".bin", "application/x-msdownload": ".exe"}
_ACTIVE = {"text/html", "image/svg+xml", "application/xml", "application/javascript"}
_HTML_MARKERS = (b"<!doctype html", b"<html", b"<head", b"<body", b"<script", b"<iframe",
                 b"<title", b"<a ", b"<div", b"<img", b"<style", b"<meta", b"<table")


def _kind(mime: str) -> str:
    if mime == "image/gif":
        return "gif"
    if mime.startswith("image/") and mime != "image/svg+xml":
        return "image"
    if mime.startswith("video/"):
        return "video"
    if mime in ("application/pdf", "text/plain", "application/json"):
        return "document"
    return "other"


def _result(mime: str) -> Sniffed:
    return Sniffed(mime, _kind(mime), _EXT.get(mime, ".bin"), mime in _ACTIVE)


def _ftyp(head: bytes) -> str | None:
    if len(head) < 12 or head[4:8] != b"ftyp":
        return None
    box_size = int.from_bytes(head[0:4], "big")
    brands = [head[8:12]] + [head[i:i + 4] for i in range(16, min(box_size, len(head)) - 3, 4)]
    for brand in brands:
        if brand in _FTYP_IMAGE:
            return _FTYP_IMAGE[brand]
    major = head[8:12]
    if major in _FTYP_VIDEO:
        return _FTYP_VIDEO[major]
    if major in (b"M4A ", b"M4B "):
        return "audio/mp4"
    return "video/mp4"


def _text(head: bytes) -> str | None:
    if b"\x00" in head:
        return None
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:  # a multi-byte char may be cut at the end of head
        if exc.start < len(head) - 4:
            return None
        text = head[:exc.start].decode("utf-8")
    lowered = text.lstrip("\ufeff \t\r\n").lower().encode()
    if lowered.startswith(b"<?xml") or lowered.startswith(b"<svg") or b"<svg" in lowered[:1024]:
        return "image/svg+xml" if b"<svg" in lowered else "application/xml"
    if any(marker in lowered[:1024] for marker in _HTML_MARKERS):
        return "text/html"
    if lowered.startswith((b"{", b"[")):
        return "application/json"
    return "text/plain"


_BMP_HEADER_SIZES = (12, 16, 40, 52, 56, 64, 108, 124)


def _is_bmp(head: bytes) -> bool:
    """The "BM" magic and a known DIB header size ("BM" alone starts many text files)."""
    return (head.startswith(b"BM") and len(head) >= 18
            and int.from_bytes(head[14:18], "little") in _BMP_HEADER_SIZES)


def sniff(head: bytes) -> Sniffed:
    """Identify content from its first bytes (SNIFF_BYTES are enough)."""
    signatures: list[tuple[bytes, str]] = [
        (b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"),
        (b"GIF87a", "image/gif"), (b"GIF89a", "image/gif"), (b"II*\x00", "image/tiff"),
        (b"MM\x00*", "image/tiff"), (b"%PDF-", "application/pdf"),
        (b"%!PS", "application/postscript"), (b"\xc5\xd0\xd3\xc6", "application/postscript"),
        (b"PK\x03\x04", "application/zip"), (b"\x1f\x8b", "application/gzip"),
        (b"\x7fELF", "application/x-executable"), (b"MZ", "application/x-msdownload"),
        (b"ID3", "audio/mpeg"), (b"OggS", "video/ogg"),
    ]
    for magic, mime in signatures:
        if head.startswith(magic):
            return _result(mime)
    if _is_bmp(head):
        return _result("image/bmp")
    if head[:4] == b"RIFF" and len(head) >= 12:
        sub = head[8:12]
        return _result({b"WEBP": "image/webp", b"AVI ": "video/x-msvideo",
                        b"WAVE": "audio/wav"}.get(sub, "application/octet-stream"))
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return _result("video/webm" if b"webm" in head[:64] else "video/x-matroska")
    boxed = _ftyp(head)
    if boxed:
        return _result(boxed)
    text = _text(head[:SNIFF_BYTES]) if head else None
    return _result(text or "application/octet-stream")


def claimed_type(name: str | None, declared_type: str | None) -> list[str]:
    """The MIME types a client claims: its declared type and its name's extension."""
    claims = []
    if declared_type:
        claims.append(declared_type.split(";")[0].strip().lower())
    if name:
        guessed, _ = mimetypes.guess_type(name, strict=False)
        if guessed:
            claims.append(guessed)
    return claims


def contradiction(sniffed: Sniffed, claims: list[str]) -> str | None:
    """Why the claims contradict the bytes, or None when they are consistent.

    Claims may differ in format within a kind (a PNG named .jpg is stored as PNG), but
    not in kind, and active content never passes under a passive name.
    """
    for claim in claims:
        if claim in ("application/octet-stream", "binary/octet-stream"):
            continue
        if sniffed.active and claim != sniffed.mime_type:
            return f"content is {sniffed.mime_type}, not {claim}"
        claimed_kind = _kind(claim)
        if claimed_kind in ("image", "video", "gif") or sniffed.kind in ("image", "video", "gif"):
            same = claimed_kind == sniffed.kind or {claimed_kind, sniffed.kind} == {"image", "gif"}
            if not same:
                return f"content is {sniffed.mime_type}, not {claim}"
    return None
