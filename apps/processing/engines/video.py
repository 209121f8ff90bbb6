"""Probe a video and pick its poster frame with PyAV, reading nothing but the input.

A video container can point elsewhere: an HLS or ffconcat playlist names other files
and URLs, image2 expands patterns, tee/subfile wrap other inputs. So the input is
always handed to FFmpeg as a Python file object (a path is opened here first), with
``protocol_whitelist`` set to a name no protocol has: a demuxer that tries to open a
nested resource is refused by FFmpeg itself. ``format_whitelist`` makes
``avformat_open_input`` refuse any demuxer outside the allow-list after sniffing and
before it reads a header, so a playlist demuxer never gets to parse its playlist; the
format is checked again here after opening.

Budgets come before pixels: the declared size and duration are checked on the header,
the decoders get ``max_pixels`` (so a stream that lies in its header still cannot
allocate past the budget), and every decode loop is bounded in frames and packets.
Corrupt or truncated input raises VideoRefused with a reason; errors raised by the
file object itself (storage going away) are not FFmpeg's and pass through unchanged,
so the caller can retry them.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator
from contextlib import ExitStack, closing, contextmanager, suppress
from dataclasses import dataclass
from typing import IO

import av
import av.error
import numpy as np
from av.container import InputContainer
from av.stream import Disposition
from av.video.frame import VideoFrame
from av.video.stream import VideoStream
from PIL import Image

from apps.processing.errors import PermanentError

# Demuxers accepted, as FFmpeg names them; a demuxer whose name lists several
# ("mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm") is accepted when any of them is listed.
VIDEO_FORMATS: tuple[str, ...] = ("mov", "matroska", "webm", "avi", "mpegts", "ogg")
MAX_VIDEO_PIXELS = 7680 * 4320  # 8K UHD, 33.2 MP
MAX_VIDEO_DURATION = 6 * 3600  # seconds
POSTER_SEARCH_SECONDS = 3.0
POSTER_MAX_FRAMES = 600  # decoded per poster search, whatever the frame rate
BLACK_LUMA = 16.0  # mean luma (0-255) under which a flat frame counts as black

_BLACK_SPREAD = 12.0  # luma standard deviation above which a dark frame has content
_NO_PROTOCOL = "none"  # matches no protocol: nested opens (playlists, drefs) all fail
_PROBE_MAX_PACKETS = 1024  # to reach the first frame (a stream may start mid-GOP)
_FALLBACK_AT = 1.0  # seconds: the poster when every searched frame is black
_EPSILON = 1e-3
_MIME = {"avi": "video/x-msvideo", "mpegts": "video/mp2t", "ogg": "video/ogg"}
_WEBM_CODECS = {"vp8", "vp9", "av1", "opus", "vorbis"}
_TRANSPOSE = {90: Image.Transpose.ROTATE_90, 180: Image.Transpose.ROTATE_180,
              270: Image.Transpose.ROTATE_270}

Source = str | os.PathLike[str] | IO[bytes]


class VideoRefused(PermanentError):
    """The file is not an acceptable video (container, size, corruption): a reason is given."""


@dataclass(frozen=True)
class VideoProbe:
    format: str  # FFmpeg's demuxer name, e.g. "mov,mp4,m4a,3gp,3g2,mj2"
    mime_type: str
    duration: float | None  # seconds; None when the container does not say
    width: int  # as displayed: swapped when the stream is rotated by 90 or 270 degrees
    height: int
    rotation: int  # counter-clockwise degrees applied for display: 0, 90, 180 or 270
    codec: str
    frame_rate: float | None
    frame_count: int | None  # from the container's index; None when it has none
    has_audio: bool
    bit_rate: int | None  # bits per second of the whole file

    @property
    def kind(self) -> str:
        return "video"


def probe_video(source: Source, *, formats: tuple[str, ...] = VIDEO_FORMATS,
                max_pixels: int = MAX_VIDEO_PIXELS,
                max_duration: float = MAX_VIDEO_DURATION) -> VideoProbe:
    """Describe ``source`` (a path, or a seekable binary file); raise VideoRefused.

    One frame is decoded: it proves the stream decodes, and the display rotation is
    side data that PyAV exposes on frames only.
    """
    with _refusing(max_pixels), _opened(source, formats, max_pixels) as container:
        stream = _video_stream(container, max_pixels)
        duration = _duration(container, stream)
        _check_limits(stream.width, stream.height, duration, max_pixels, max_duration)
        with closing(_frames(container, stream, 1, max_packets=_PROBE_MAX_PACKETS)) as frames:
            first = next(frames, None)
        if first is None:
            raise VideoRefused("no decodable video frame")
        frame = first[0]
        _check_limits(frame.width, frame.height, None, max_pixels, max_duration)
        rotation = _rotation(frame)
        width, height = stream.width or frame.width, stream.height or frame.height
        if rotation in (90, 270):
            width, height = height, width
        return VideoProbe(
            format=container.format.name, mime_type=_mime_type(container),
            duration=duration, width=width, height=height, rotation=rotation,
            codec=stream.codec_context.name, frame_rate=_frame_rate(stream),
            frame_count=stream.frames or None,
            has_audio=any(s.type == "audio" for s in container.streams),
            bit_rate=container.bit_rate or None)


def extract_poster(source: Source, *, poster_ms: int | None = None,
                   search_seconds: float = POSTER_SEARCH_SECONDS,
                   black_threshold: float = BLACK_LUMA,
                   max_frames: int = POSTER_MAX_FRAMES,
                   formats: tuple[str, ...] = VIDEO_FORMATS,
                   max_pixels: int = MAX_VIDEO_PIXELS) -> Image.Image:
    """The poster of ``source`` as an upright RGB image; raise VideoRefused.

    ``poster_ms`` picks the first frame at or after that time (clamped to the
    duration); without it, the first frame that is not black within
    ``search_seconds``, so fade-ins do not give black posters. At most
    ``max_frames`` frames are decoded either way.
    """
    with _refusing(max_pixels), _opened(source, formats, max_pixels) as container:
        stream = _video_stream(container, max_pixels)
        _check_limits(stream.width, stream.height, None, max_pixels, None)
        duration = _duration(container, stream)
        if poster_ms is None:
            fallback_at = min(_FALLBACK_AT, duration / 2) if duration else _FALLBACK_AT
            frame = _first_non_black(container, stream, search_seconds, black_threshold,
                                     fallback_at, max_frames)
        else:
            target = max(0.0, poster_ms / 1000)
            frame = _frame_at(container, stream, min(target, duration or target), max_frames)
        _check_limits(frame.width, frame.height, None, max_pixels, None)
        image = frame.to_image().convert("RGB")
        rotation = _rotation(frame)
        return image.transpose(_TRANSPOSE[rotation]) if rotation else image


@contextmanager
def _refusing(max_pixels: int) -> Iterator[None]:
    """Turn FFmpeg's failures into a reason; storage errors are not FFmpeg's and pass."""
    try:
        yield
    except av.error.ArgumentError as exc:
        # What a decoder says when a frame is over its max_pixels, among other things.
        raise VideoRefused(f"undecodable video: corrupt, or frames over the "
                           f"{max_pixels / 1e6:.1f} MP budget ({exc})") from None
    except (av.error.FFmpegError, EOFError, MemoryError) as exc:
        raise VideoRefused(f"corrupt or truncated video: {exc}") from None
    except UnicodeError as exc:  # text PyAV decodes (metadata, side data) that is not
        raise VideoRefused(f"unreadable text in the video: {exc}") from None


@contextmanager
def _opened(source: Source, formats: tuple[str, ...],
            max_pixels: int) -> Iterator[InputContainer]:
    """Open ``source`` so that FFmpeg reads it and nothing else, with allowed demuxers."""
    if not formats or any("," in name or not name.strip() for name in formats):
        raise ValueError(f"formats must be single demuxer names, got {formats!r}")
    with ExitStack() as stack:
        if isinstance(source, str | os.PathLike):
            file: IO[bytes] = stack.enter_context(open(source, "rb"))
        else:
            file = source
            file.seek(0)
        try:
            container = av.open(
                file, "r",
                options={"max_pixels": str(max_pixels)},  # codecs probed at open
                container_options={"format_whitelist": ",".join(formats),
                                   "protocol_whitelist": _NO_PROTOCOL},
                # metadata is the uploader's text: bytes that are not UTF-8 must not
                # make the open raise UnicodeDecodeError out of the pipeline
                metadata_errors="replace")
        except av.error.ArgumentError:
            # EINVAL from avformat_open_input: the sniffed demuxer is not whitelisted.
            raise VideoRefused(
                f"not an accepted video container (accepted: {', '.join(formats)})"
            ) from None
        except (av.error.FFmpegError, EOFError) as exc:
            raise VideoRefused(f"not a readable video: {exc}") from None
        stack.enter_context(container)
        if not set(container.format.name.split(",")) & set(formats):
            raise VideoRefused(f"container {container.format.name!r} is not accepted")
        yield container


def _video_stream(container: InputContainer, max_pixels: int) -> VideoStream:
    """The main video stream; cover art in an audio file does not count."""
    streams = [s for s in container.streams.video
               if not s.disposition & Disposition.attached_pic]
    if not streams:
        raise VideoRefused("no video stream")
    stream = container.streams.best("video")
    if stream not in streams:
        stream = streams[0]
    assert isinstance(stream, VideoStream)
    if stream.codec_context is None:  # a codec id FFmpeg has no decoder for
        raise VideoRefused("no decoder for the video stream's codec")
    # The decoder enforces the budget too: a header can understate the frame size.
    stream.codec_context.options = {"max_pixels": str(max_pixels)}
    return stream


def _duration(container: InputContainer, stream: VideoStream) -> float | None:
    if container.duration is not None and container.duration > 0:
        return container.duration / av.time_base
    if stream.duration is not None and stream.time_base is not None and stream.duration > 0:
        return float(stream.duration * stream.time_base)
    return None


def _check_limits(width: int, height: int, duration: float | None, max_pixels: int,
                  max_duration: float | None) -> None:
    if width * height > max_pixels:
        raise VideoRefused(f"{width}x{height} is over the {max_pixels / 1e6:.1f} MP budget")
    if duration is not None and max_duration is not None and duration > max_duration:
        raise VideoRefused(f"{duration:.0f} s is over the {max_duration:.0f} s limit")


def _frames(container: InputContainer, stream: VideoStream, max_frames: int, *,
            max_packets: int | None = None) -> Generator[tuple[VideoFrame, float], None, None]:
    """Decoded frames with their time from the stream's start, within a budget.

    Packets are bounded too: a stream of packets that never decode must not be read
    to its end. A packet the decoder rejects is skipped, as FFmpeg's CLI does.
    """
    packet_budget = max_packets if max_packets is not None else 2 * max_frames + 64
    start = _start_seconds(stream)
    rate = _frame_rate(stream) or 25.0
    decoded = 0
    for packets, packet in enumerate(container.demux(stream), 1):
        if packets > packet_budget:
            return
        try:
            frames = stream.decode(packet)
        except av.error.InvalidDataError:
            continue
        for frame in frames:
            time = frame.time
            yield frame, (time - start if time is not None else decoded / rate)
            decoded += 1
            if decoded >= max_frames:
                return


def _first_non_black(container: InputContainer, stream: VideoStream, search_seconds: float,
                     threshold: float, fallback_at: float, max_frames: int) -> VideoFrame:
    """The first frame with content; else the one at ``fallback_at``; else the first."""
    first = fallback = None
    with closing(_frames(container, stream, max_frames)) as frames:
        for frame, time in frames:
            if first is None:
                first = frame
            if time > search_seconds + _EPSILON:
                break
            if fallback is None and time >= fallback_at - _EPSILON:
                fallback = frame
            if not _is_black(frame, threshold):
                return frame
    if first is None:
        raise VideoRefused("no decodable video frame")
    return fallback if fallback is not None else first


def _frame_at(container: InputContainer, stream: VideoStream, target: float,
              max_frames: int) -> VideoFrame:
    """The first frame at or after ``target`` seconds, or the last one reached.

    Seek lands on the keyframe before the target; decoding forward from there is
    bounded, so a very long GOP yields the last frame decoded within the budget.
    """
    if target > 0 and stream.time_base is not None:
        offset = int((_start_seconds(stream) + target) / stream.time_base)
        with suppress(av.error.FFmpegError):  # unseekable: decode from the start instead
            container.seek(offset, stream=stream, backward=True)
    last = None
    with closing(_frames(container, stream, max_frames)) as frames:
        for frame, time in frames:
            if time >= target - _EPSILON:
                return frame
            last = frame
    if last is None:
        raise VideoRefused("no decodable video frame")
    return last


def _is_black(frame: VideoFrame, threshold: float) -> bool:
    """Dark and flat on a 32-pixel-wide thumbnail: cheap at any resolution."""
    height = max(1, round(32 * frame.height / max(frame.width, 1)))
    rgb = frame.reformat(width=32, height=height, format="rgb24").to_ndarray()
    luma = rgb.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    return float(luma.mean()) < threshold and float(luma.std()) < _BLACK_SPREAD


def _rotation(frame: VideoFrame) -> int:
    """Display-matrix rotation, rounded to a quarter turn; flips are not applied."""
    return (round(frame.rotation / 90) * 90) % 360


def _start_seconds(stream: VideoStream) -> float:
    if stream.start_time is None or stream.time_base is None:
        return 0.0
    return float(stream.start_time * stream.time_base)


def _frame_rate(stream: VideoStream) -> float | None:
    rate = stream.average_rate or stream.guessed_rate
    return float(rate) if rate else None


def _mime_type(container: InputContainer) -> str:
    names = container.format.name.split(",")
    if "mov" in names:
        brand = container.metadata.get("major_brand", "").strip().lower()
        return ("video/quicktime" if brand == "qt" else
                "video/3gpp" if brand.startswith("3g") else "video/mp4")
    if "matroska" in names:
        codecs = {s.codec_context.name for s in container.streams
                  if s.type in ("video", "audio") and s.codec_context is not None}
        return "video/webm" if codecs <= _WEBM_CODECS else "video/x-matroska"
    return next((_MIME[n] for n in names if n in _MIME), "application/octet-stream")
