"""Video engine: probe facts, poster choice, budgets, corrupt input, nested-resource safety."""

from __future__ import annotations

import ctypes
import ctypes.util
import io
import os
import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import av
import pytest
from PIL import Image

from apps.processing.engines.video import Source, VideoRefused, extract_poster, probe_video
from tests.apps.processing.videos import (
    BLUE,
    RED,
    garbage,
    mp4,
    truncated,
    video_bytes,
    webm,
)


def close_to(pixel: tuple[int, ...], colour: tuple[int, int, int], tolerance: int = 20) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, colour, strict=True))


def bottom_left(image: Image.Image) -> tuple[int, ...]:
    """A pixel of the darker (bottom) half of an upright coloured frame."""
    pixel = image.getpixel((4, image.height - 4))
    assert isinstance(pixel, tuple)
    return pixel


@pytest.fixture(scope="module")
def clip() -> bytes:
    return mp4()


# --- probe --------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt, codec, mime, codec_name", [
    ("mp4", "libx264", "video/mp4", "h264"),
    ("webm", "libvpx-vp9", "video/webm", "vp9"),
    ("matroska", "libx264", "video/x-matroska", "h264"),
    ("avi", "mpeg4", "video/x-msvideo", "mpeg4"),
    ("mpegts", "mpeg2video", "video/mp2t", "mpeg2video"),
    ("ogg", "libvpx", "video/ogg", "vp8"),
])
def test_probe_reads_the_facts(fmt: str, codec: str, mime: str, codec_name: str) -> None:
    result = probe_video(io.BytesIO(video_bytes(fmt, codec)))
    assert result.mime_type == mime and result.codec == codec_name and result.kind == "video"
    assert (result.width, result.height, result.rotation) == (64, 48, 0)
    assert result.duration == pytest.approx(2.0, abs=0.15)
    assert result.frame_rate == pytest.approx(10.0, abs=0.01)
    assert result.has_audio is False
    assert result.bit_rate is None or result.bit_rate > 0


def test_probe_mp4_has_frame_count_and_audio() -> None:
    result = probe_video(io.BytesIO(video_bytes(audio=True)))
    assert result.format == "mov,mp4,m4a,3gp,3g2,mj2"
    assert result.frame_count == 20 and result.has_audio is True


def test_path_and_file_object_give_the_same_answer(tmp_path: Path, clip: bytes) -> None:
    path = tmp_path / "clip.mp4"
    path.write_bytes(clip)
    assert probe_video(path) == probe_video(str(path)) == probe_video(io.BytesIO(clip))
    with path.open("rb") as file:
        from_file = extract_poster(file, poster_ms=1600)
    assert from_file.tobytes() == extract_poster(path, poster_ms=1600).tobytes()


def test_file_object_is_read_from_its_start(clip: bytes) -> None:
    file = io.BytesIO(clip)
    file.seek(100)
    assert probe_video(file).width == 64


def test_rotation_swaps_displayed_size_and_turns_the_poster() -> None:
    data = video_bytes(rotation=90)
    result = probe_video(io.BytesIO(data))
    assert result.rotation == 90 and (result.width, result.height) == (48, 64)
    poster = extract_poster(io.BytesIO(data), poster_ms=1200)
    assert poster.size == (48, 64)
    # Turned a quarter counter-clockwise, the lighter top half is now on the left.
    left, right = poster.getpixel((4, 32)), poster.getpixel((44, 32))
    assert isinstance(left, tuple) and isinstance(right, tuple)
    assert close_to(left, (250, 80, 80)) and close_to(right, RED)


# --- poster ------------------------------------------------------------------------------

def test_default_poster_skips_black_frames(clip: bytes) -> None:
    poster = extract_poster(io.BytesIO(clip))
    assert poster.mode == "RGB" and poster.size == (64, 48)
    assert close_to(bottom_left(poster), RED)


@pytest.mark.parametrize("poster_ms, colour", [(1000, RED), (1400, RED), (1500, BLUE),
                                               (1900, BLUE), (60_000, BLUE)])
def test_poster_ms_picks_the_frame_at_that_time(clip: bytes, poster_ms: int,
                                                colour: tuple[int, int, int]) -> None:
    poster = extract_poster(io.BytesIO(clip), poster_ms=poster_ms)
    assert close_to(bottom_left(poster), colour)


def test_poster_ms_zero_is_the_first_frame_even_if_black(clip: bytes) -> None:
    assert close_to(bottom_left(extract_poster(io.BytesIO(clip), poster_ms=0)), (0, 0, 0))


def test_poster_search_is_bounded(clip: bytes) -> None:
    # Three frames decoded, all black: the first frame is the poster, not a red one.
    poster = extract_poster(io.BytesIO(clip), max_frames=3)
    assert close_to(bottom_left(poster), (0, 0, 0))
    # A search window shorter than the black intro gives up in the same way.
    poster = extract_poster(io.BytesIO(clip), search_seconds=0.5)
    assert close_to(bottom_left(poster), (0, 0, 0))


def test_all_black_video_still_has_a_poster() -> None:
    data = video_bytes(frames=8, black=8)  # 0.8 s, every frame black
    assert close_to(bottom_left(extract_poster(io.BytesIO(data))), (0, 0, 0))


# --- budgets and bad input ---------------------------------------------------------------

@pytest.mark.parametrize("fmt, codec", [("mp4", "libx264"), ("webm", "libvpx-vp9"),
                                        ("mpegts", "mpeg2video")])
def test_pixel_budget(fmt: str, codec: str) -> None:
    # mp4 declares its size in the header; for the others, the decoders' max_pixels
    # stops FFmpeg's own probing, and then decoding, from allocating a frame.
    data = video_bytes(fmt, codec)
    for call in (probe_video, extract_poster):
        with pytest.raises(VideoRefused, match="budget"):
            call(io.BytesIO(data), max_pixels=64 * 48 - 1)
    assert probe_video(io.BytesIO(data), max_pixels=64 * 48).width == 64


def test_duration_limit(clip: bytes) -> None:
    with pytest.raises(VideoRefused, match="limit"):
        probe_video(io.BytesIO(clip), max_duration=1.5)


def test_no_video_stream() -> None:
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        container.add_stream("aac", rate=8000)
    with pytest.raises(VideoRefused):
        probe_video(io.BytesIO(buffer.getvalue()))


@pytest.mark.parametrize("data", [truncated(mp4()), truncated(webm(), 0.3), garbage(), b"",
                                  b"hello world\n" * 50], ids=["mp4", "webm", "garbage",
                                                               "empty", "text"])
def test_corrupt_input_is_refused_with_a_reason(data: bytes) -> None:
    for call in (probe_video, extract_poster):
        with pytest.raises(VideoRefused) as caught:
            call(io.BytesIO(data))
        assert str(caught.value)


def test_container_outside_the_allow_list_is_refused() -> None:
    with pytest.raises(VideoRefused, match="accepted"):
        probe_video(io.BytesIO(video_bytes("flv", "flv")))
    with pytest.raises(VideoRefused, match="accepted"):
        probe_video(io.BytesIO(webm()), formats=("mov",))


def test_storage_errors_are_not_turned_into_refusals(clip: bytes) -> None:
    class Flaky(io.BytesIO):
        """Gives the first 256 bytes, then fails as a dropped S3 connection does."""

        def read(self, size: int | None = -1) -> bytes:
            if self.tell() >= 256:
                raise ConnectionError("storage went away")
            return super().read(256 - self.tell())

    with pytest.raises(ConnectionError):
        probe_video(Flaky(clip))
    with pytest.raises(ConnectionError):
        extract_poster(Flaky(clip))


# --- playlists never reach other files or the network ------------------------------------
# Each playlist below is one FFmpeg follows on its own (the control proves it, and that
# the watches would see it); through the engine it must be refused with nothing opened.

class OpenWatch:
    """inotify on a few files: proves whether anything opened them."""

    IN_OPEN, IN_NONBLOCK = 0x20, 0o4000

    def __init__(self, *paths: Path) -> None:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        self.fd = libc.inotify_init1(self.IN_NONBLOCK)
        assert self.fd >= 0
        for path in paths:
            assert libc.inotify_add_watch(self.fd, os.fsencode(path), self.IN_OPEN) >= 0

    def opened(self) -> bool:
        try:
            return bool(os.read(self.fd, 4096))
        except BlockingIOError:
            return False

    def close(self) -> None:
        os.close(self.fd)


class Listener:
    """A local port that counts connections and hangs up at once (so nothing waits)."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.connections = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            self.connections += 1
            connection.close()

    def close(self) -> None:
        self.server.shutdown(socket.SHUT_RDWR)
        self.server.close()
        self.thread.join(timeout=5)


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.close()


def _playlist(tmp_path: Path, kind: str, port: int, clip: bytes) -> Path:
    (tmp_path / "segment.mp4").write_bytes(clip)  # valid videos: only a refusal stops them
    (tmp_path / "secret.mp4").write_bytes(clip)
    if kind == "hls":
        playlist = tmp_path / "playlist.m3u8"
        playlist.write_text(
            "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n"
            f"#EXTINF:2,\nfile://{tmp_path / 'secret.mp4'}\n"
            f"#EXTINF:2,\nhttp://127.0.0.1:{port}/segment.ts\n#EXT-X-ENDLIST\n")
    else:
        playlist = tmp_path / "list.ffconcat"
        playlist.write_text("ffconcat version 1.0\nfile segment.mp4\nfile secret.mp4\n")
    return playlist


def _sources(playlist: Path, stack: ExitStack) -> list[Source]:
    """The playlist as a path, a string, a named file object and an anonymous one."""
    return [playlist, str(playlist), stack.enter_context(playlist.open("rb")),
            io.BytesIO(playlist.read_bytes())]


@pytest.mark.skipif(sys.platform != "linux", reason="inotify proves the absence of opens")
@pytest.mark.parametrize("kind", ["hls", "concat"])
def test_playlists_are_refused_before_anything_is_opened(tmp_path: Path, listener: Listener,
                                                         clip: bytes, kind: str) -> None:
    playlist = _playlist(tmp_path, kind, listener.port, clip)
    watch = OpenWatch(tmp_path / "segment.mp4", tmp_path / "secret.mp4")
    try:
        with ExitStack() as stack:
            for source in _sources(playlist, stack):
                for call in (probe_video, extract_poster):
                    with pytest.raises(VideoRefused) as caught:
                        call(source)
                    # Named, the playlist is sniffed as one and its demuxer refused;
                    # anonymous, FFmpeg does not take it for a playlist at all.
                    assert "accepted" in str(caught.value) or isinstance(source, io.BytesIO)
        assert not watch.opened(), "a file named by the playlist was opened"
        assert listener.connections == 0, "a URL named by the playlist was fetched"

        # The control: FFmpeg left to itself follows the playlist to the files and, given
        # a file object (no protocol to inherit a whitelist from), to the URLs.
        with playlist.open("rb") as file, av.open(file, "r") as container:
            for _ in container.demux():
                pass
        assert watch.opened()
        if kind == "hls":
            assert listener.connections > 0
    finally:
        watch.close()


def test_playlist_naming_etc_passwd_and_a_url_is_refused(tmp_path: Path,
                                                         listener: Listener) -> None:
    playlist = tmp_path / "playlist.m3u8"
    playlist.write_text("#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\nfile:///etc/passwd\n"
                        f"#EXTINF:2,\nhttp://127.0.0.1:{listener.port}/x.ts\n#EXT-X-ENDLIST\n")
    with ExitStack() as stack:
        for source in _sources(playlist, stack):
            with pytest.raises(VideoRefused):
                probe_video(source)
    assert listener.connections == 0
