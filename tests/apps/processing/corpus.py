"""A hostile corpus, generated at test time: every file and the state it must end in.

Outcomes: ``ready`` (processed), ``failed`` (refused by an engine, with a reason),
``infected`` (quarantined by the scanner), ``refused:<code>`` (refused at upload), or
``ready|failed`` where either is a correct answer (a bit-flipped JPEG may still decode).
"""

from __future__ import annotations

import io
import random
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass

from PIL import Image

from tests.apps.processing import videos
from tests.apps.processing.engines.test_clamd import EICAR


@dataclass(frozen=True)
class Sample:
    name: str
    make: Callable[[], bytes]
    outcome: str


def _photo(fmt: str, size: tuple[int, int] = (96, 64), **save: object) -> bytes:
    image = Image.linear_gradient("L").resize(size).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, fmt, **save)
    return buffer.getvalue()


def noisy(fmt: str, size: tuple[int, int] = (160, 120), **save: object) -> bytes:
    """An image that does not compress: a cut at half its length cuts pixel data."""
    pixels = random.Random(f"{fmt}{size}").randbytes(size[0] * size[1] * 3)  # reproducible
    image = Image.frombytes("RGB", size, pixels)
    buffer = io.BytesIO()
    image.save(buffer, fmt, **save)
    return buffer.getvalue()


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_bomb(side: int = 100_000) -> bytes:
    """A tiny PNG whose header claims side x side pixels (10 gigapixels by default)."""
    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    data = zlib.compress(b"\0" * 1024, 9)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", data)
            + _png_chunk(b"IEND", b""))


def gif_frames(frames: int, size: tuple[int, int] = (32, 32)) -> bytes:
    colours = [((i * 37) % 256, (i * 91) % 256, (i * 53) % 256) for i in range(frames)]
    images = [Image.new("RGB", size, colour) for colour in colours]
    buffer = io.BytesIO()
    images[0].save(buffer, "GIF", save_all=True, append_images=images[1:], duration=20,
                   loop=0, optimize=False, disposal=1)
    return buffer.getvalue()


def gif_screen_bomb(frames: int = 5, side: int = 10_000) -> bytes:
    """``frames`` 1x1 frames on a side x side logical screen: frames x screen pixels is
    over the animation budget while the file is a few hundred bytes."""
    data = bytearray(gif_frames(frames, (1, 1)))
    data[6:10] = struct.pack("<HH", side, side)
    return bytes(data)


def bit_flipped(data: bytes, flips: int = 40, seed: int = 7) -> bytes:
    """Flip bits past the first 200 bytes (headers intact, payload damaged)."""
    rng = random.Random(seed)
    mutable = bytearray(data)
    for _ in range(flips):
        position = rng.randrange(min(200, len(data) // 2), len(data))
        mutable[position] ^= 1 << rng.randrange(8)
    return bytes(mutable)


def psd() -> bytes:
    return b"8BPS\x00\x01" + b"\x00" * 6 + struct.pack(">HIIHH", 3, 64, 64, 8, 3) + b"\0" * 512


HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"
SVG_SCRIPT = (b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'
              b'<script>alert(1)</script><a xlink:href="javascript:alert(2)"><circle r="4"/></a>'
              b'<foreignObject><iframe src="https://evil.example"/></foreignObject></svg>')
SVG_XXE = (b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
           b'<svg xmlns="http://www.w3.org/2000/svg"><text>&x;</text></svg>')
SVG_LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
              b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
              b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
              b'<svg xmlns="http://www.w3.org/2000/svg"><text>&lol3;</text></svg>')
HLS = b"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n"
SVG_ONLOAD = (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)">'
              b'<rect width="4" height="4" onclick="alert(2)"/>'
              b'<set attributeName="onmouseover" to="alert(3)"/>'
              b'<animate attributeName="href" to="javascript:alert(4)"/></svg>')
SVG_EXTERNAL = (b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'
                b'<style>@import url(https://evil.example/x.css); rect{fill:url(https://evil.example/p)}'
                b'</style><image href="https://evil.example/track.png" width="4" height="4"/>'
                b'<use xlink:href="https://evil.example/sprite.svg#icon"/>'
                b'<a href="https://evil.example/"><rect width="4" height="4"/></a></svg>')
SVG_EXTERNAL_DTD = (b'<?xml version="1.0"?><!DOCTYPE svg SYSTEM "https://evil.example/svg.dtd">'
                    b'<svg xmlns="http://www.w3.org/2000/svg"><rect width="4" height="4"/></svg>')
PHP = b"<?php echo shell_exec($_GET['c']); ?>\n"
PDF_JS = (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R /OpenAction 3 0 R >> endobj\n"
          b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
          b"3 0 obj << /S /JavaScript /JS (app.alert\\(document.cookie\\)) >> endobj\n"
          b"trailer << /Root 1 0 R >>\n%%EOF\n"
          b"<html><body><script>alert(document.domain)</script></body></html>\n")
EPS = (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 16 16\n"
       b"(/etc/passwd) (r) file pop\nnewpath 0 0 moveto 16 16 lineto stroke showpage\n%%EOF\n")


def fits() -> bytes:
    """A FITS image (8-bit, 16x16): 2880-byte header of 80-column cards, then data."""
    cards = ["SIMPLE  =                    T", "BITPIX  =                    8",
             "NAXIS   =                    2", "NAXIS1  =                   16",
             "NAXIS2  =                   16", "END"]
    header = b"".join(card.ljust(80).encode() for card in cards).ljust(2880, b" ")
    return header + bytes(range(256)).ljust(2880, b"\0")


def jpeg_html() -> bytes:
    """A JPEG that is also an HTML page: markup in a COM segment and after the image."""
    jpeg = _photo("JPEG", (64, 48))
    markup = b"<html><body><script>alert(document.cookie)</script></body></html>"
    comment = b"\xff\xfe" + struct.pack(">H", len(markup) + 2) + markup
    return jpeg[:2] + comment + jpeg[2:] + markup


def titled_mp4(title: bytes) -> bytes:
    """An MP4 whose title metadata is ``title`` (any bytes, UTF-8 or not)."""
    import av

    marker = b"TITLE-MARKER-%d" % len(title)
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        container.metadata["title"] = marker.decode()
        stream = container.add_stream("libx264", rate=10)
        assert isinstance(stream, av.VideoStream)
        stream.width, stream.height, stream.pix_fmt = 32, 24, "yuv420p"
        for index in range(5):
            frame = Image.new("RGB", (32, 24), (200, 30 + index * 40, 30))
            for packet in stream.encode(av.VideoFrame.from_image(frame)):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    data = buffer.getvalue()
    assert data.count(marker) == 1 and len(title) == len(marker)
    return data.replace(marker, title)


def bad_metadata_mp4() -> bytes:
    """Metadata that is not UTF-8: PyAV's open raised UnicodeDecodeError on it."""
    return titled_mp4(b"\xb2\xff\xfe" * 5)


def unknown_codec_mp4() -> bytes:
    """A video track whose codec FFmpeg has no decoder for (no codec context)."""
    return titled_mp4(b"TITLE-MARKER-15").replace(b"avc1", b"zzzz")


def avi_hls(playlist: bytes = HLS) -> bytes:
    """An AVI whose one (subtitle) stream carries a GAB2 packet holding an HLS playlist:
    the shape of FFmpeg's old avi/GAB2 -> hls local-file read (CVE-2017-9993 and kin)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return kind + struct.pack("<I", len(body)) + body + (b"\0" if len(body) & 1 else b"")

    def riff_list(kind: bytes, body: bytes) -> bytes:
        return chunk(b"LIST", kind + body)

    avih = struct.pack("<IIIIIIIIII16x", 40000, 0, 0, 0x10, 1, 0, 1, 0, 0, 0)
    strh = b"txts" + struct.pack("<4sIHHIIIIIIIIhhhh", b"\0\0\0\0", 0, 0, 0, 0, 1, 25, 0, 1,
                                 0, 0, 0, 0, 0, 0, 0)
    name = "playlist".encode("utf-16-le")
    gab2 = (b"GAB2\0" + struct.pack("<H", 2) + struct.pack("<I", len(name)) + name
            + struct.pack("<HI", 4, len(playlist)) + playlist)
    header = riff_list(b"hdrl", chunk(b"avih", avih)
                       + riff_list(b"strl", chunk(b"strh", strh) + chunk(b"strf", b"")))
    body = b"AVI " + header + riff_list(b"movi", chunk(b"00tx", gab2))
    return b"RIFF" + struct.pack("<I", len(body)) + body


def corpus() -> list[Sample]:
    jpeg = _photo("JPEG", (400, 300), quality=90)
    return [
        Sample("photo.jpg", lambda: jpeg, "ready"),
        Sample("photo.png", lambda: _photo("PNG"), "ready"),
        Sample("photo.webp", lambda: _photo("WEBP"), "ready"),
        Sample("photo.avif", lambda: _photo("AVIF"), "ready"),
        Sample("still.gif", lambda: _photo("GIF"), "ready"),
        Sample("thousands.gif", lambda: gif_frames(2000), "ready"),
        Sample("over-animation-budget.gif", gif_screen_bomb, "failed"),
        Sample("photo.tiff", lambda: _photo("TIFF"), "failed"),  # off by default
        Sample("truncated.jpg", lambda: jpeg[: len(jpeg) // 2], "failed"),
        Sample("truncated.png", lambda: _photo("PNG", (300, 200))[:300], "failed"),
        Sample("flipped.jpg", lambda: bit_flipped(jpeg), "ready|failed"),
        Sample("flipped.png", lambda: bit_flipped(_photo("PNG", (300, 200))), "failed"),
        Sample("bomb.png", png_bomb, "failed"),
        Sample("page.png", lambda: HTML, "refused:type_mismatch"),
        Sample("layers.jpg", psd, "refused:type_mismatch"),
        Sample("script.svg", lambda: SVG_SCRIPT, "ready"),
        Sample("xxe.svg", lambda: SVG_XXE, "failed"),
        Sample("laughs.svg", lambda: SVG_LAUGHS, "failed"),
        Sample("eicar.txt", lambda: EICAR, "infected"),
        Sample("empty.png", lambda: b"", "refused:empty"),
        Sample("clip.mp4", videos.mp4, "ready"),
        Sample("clip.webm", videos.webm, "ready"),
        Sample("cut.mp4", lambda: videos.truncated(videos.mp4(), keep=0.2), "failed"),
        Sample("playlist.m3u8", lambda: HLS, "ready"),  # plain text: stored, never demuxed
        Sample("noise.mp4", lambda: b"\x00\x00\x00\x18ftypisom" + videos.garbage(), "failed"),
        # the hardening issue's upload corpus (tests/hardening/test_upload_corpus.py)
        Sample("a.jpg.php", lambda: PHP, "ready"),  # plain text: stored, never run
        Sample("a.php%00.jpg", lambda: PHP, "refused:type_mismatch"),
        Sample("tiff-as.jpg", lambda: _photo("TIFF"), "failed"),  # TIFF is off by default
        Sample("eps.png", lambda: EPS, "refused:type_mismatch"),
        Sample("fits.png", fits, "refused:type_mismatch"),
        Sample("pdf.png", lambda: PDF_JS, "refused:type_mismatch"),
        Sample("drawing.eps", lambda: EPS, "ready"),  # stored as is: never decoded
        Sample("bomb-50k.png", lambda: png_bomb(50_000), "failed"),
        Sample("truncated.webp", lambda: videos.truncated(noisy("WEBP")), "failed"),
        Sample("flipped.webp", lambda: bit_flipped(noisy("WEBP")), "ready|failed"),
        Sample("truncated.gif", lambda: gif_frames(20)[:700], "ready|failed"),
        Sample("flipped.gif", lambda: bit_flipped(gif_frames(20)), "ready|failed"),
        Sample("onload.svg", lambda: SVG_ONLOAD, "ready"),  # sanitised
        Sample("external.svg", lambda: SVG_EXTERNAL, "ready"),  # sanitised
        Sample("external-dtd.svg", lambda: SVG_EXTERNAL_DTD, "ready"),  # never fetched; dropped
        Sample("hls.avi", avi_hls, "failed"),  # no video stream; the playlist never opened
        Sample("polyglot.jpg", jpeg_html, "ready"),  # served as image/jpeg only
        Sample("polyglot.pdf", lambda: PDF_JS, "ready"),  # served as an attachment only
        # found by the fuzz of the video probe (test_upload_corpus.py): both raised out
        # of the pipeline (UnicodeDecodeError, AttributeError) before video.py handled them
        Sample("bad-metadata.mp4", bad_metadata_mp4, "ready"),
        Sample("unknown-codec.mp4", unknown_codec_mp4, "failed"),
    ]
