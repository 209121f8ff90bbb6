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
    ]
