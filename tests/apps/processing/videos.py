"""Real videos for processing tests, encoded with PyAV at test time (tiny and fast).

The default clip is 2 s at 10 fps: 1 s of black, then 0.5 s of red, then 0.5 s of blue,
so a poster choice can be told by its colour. The top half of the coloured frames is
lighter than the bottom half, so a rotation can be told too.
"""

from __future__ import annotations

import io
import os

import av
import numpy as np

BLACK = (0, 0, 0)
RED = (200, 30, 30)
BLUE = (30, 30, 200)
FPS = 10


def colour_at(index: int, frames: int = 20, black: int | None = None) -> tuple[int, int, int]:
    """The colour of frame ``index``: ``black`` (default: half the clip) black frames,
    then red up to three quarters of the clip, then blue."""
    if index < (frames // 2 if black is None else black):
        return BLACK
    return RED if index < frames * 3 // 4 else BLUE


def _frame(colour: tuple[int, int, int], size: tuple[int, int]) -> av.VideoFrame:
    width, height = size
    pixels = np.empty((height, width, 3), np.uint8)
    pixels[:] = colour
    if colour != BLACK:  # a lighter top half: orientation is visible
        pixels[: height // 2] = [min(255, c + 50) for c in colour]
    return av.VideoFrame.from_ndarray(pixels, format="rgb24")


def video_bytes(fmt: str = "mp4", codec: str = "libx264", *, size: tuple[int, int] = (64, 48),
                frames: int = 20, fps: int = FPS, black: int | None = None,
                rotation: int | None = None, audio: bool = False) -> bytes:
    """An encoded clip; ``rotation`` writes a display matrix (counter-clockwise degrees)."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=fmt) as container:
        stream = container.add_stream(codec, rate=fps)
        assert isinstance(stream, av.VideoStream)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        if rotation is not None:
            stream.set_display_rotation(rotation)
        sound = container.add_stream("aac", rate=8000) if audio else None
        assert sound is None or isinstance(sound, av.AudioStream)
        for index in range(frames):
            for packet in stream.encode(_frame(colour_at(index, frames, black), size)):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
        if sound is not None:
            _mux_silence(container, sound, seconds=frames / fps)
    return buffer.getvalue()


def _mux_silence(container: av.container.OutputContainer, stream: av.AudioStream,
                 seconds: float) -> None:
    samples = 1024
    for index in range(int(seconds * stream.rate / samples)):
        frame = av.AudioFrame.from_ndarray(np.zeros((1, samples), np.float32),
                                           format="fltp", layout="mono")
        frame.sample_rate, frame.pts = stream.rate, index * samples
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)


def mp4() -> bytes:
    return video_bytes("mp4", "libx264")


def webm() -> bytes:
    return video_bytes("webm", "libvpx-vp9")


def truncated(data: bytes, keep: float = 0.5) -> bytes:
    """The first part of a file, as an interrupted upload leaves it."""
    return data[: int(len(data) * keep)]


def garbage(size: int = 4096) -> bytes:
    return os.urandom(size)
