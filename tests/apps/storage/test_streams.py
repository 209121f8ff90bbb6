"""HashingReader: hashes, counts and limits a read-once stream; replays the sniffed head."""

from __future__ import annotations

import hashlib
import io
import os

import pytest

from apps.storage.streams import HashingReader, TooLarge

DATA = os.urandom(100_000)


def sources(data: bytes) -> dict[str, object]:
    return {"bytes": data, "file": io.BytesIO(data),
            "iterable": (data[i:i + 777] for i in range(0, len(data), 777))}


@pytest.mark.parametrize("kind", ["bytes", "file", "iterable"])
def test_hash_and_size_of_what_was_read(kind: str) -> None:
    reader = HashingReader(sources(DATA)[kind], max_size=len(DATA))  # type: ignore[arg-type]
    assert reader.peek_head(8192) == DATA[:8192]
    assert b"".join(reader.chunks(4096)) == DATA
    assert reader.size == len(DATA)
    assert reader.sha256 == hashlib.sha256(DATA).hexdigest()


def test_peeked_head_is_replayed_once_and_not_counted_twice() -> None:
    reader = HashingReader(io.BytesIO(DATA), max_size=len(DATA))
    reader.peek_head(1000)
    assert reader.peek_head(1000) == DATA[:1000]  # asking again reads nothing more
    assert reader.size == 0
    out = reader.read(10) + reader.read(5000) + reader.read()
    assert out == DATA
    assert reader.size == len(DATA)
    assert reader.sha256 == hashlib.sha256(DATA).hexdigest()


def test_read_after_peek_fills_the_requested_size() -> None:
    """A short read would make boto3 think the stream is small and buffer all of it."""
    reader = HashingReader((DATA[i:i + 1000] for i in range(0, len(DATA), 1000)),
                           max_size=len(DATA))
    reader.peek_head(8192)
    assert len(reader.read(50_000)) == 50_000
    assert len(reader.read(50_000)) == 50_000
    assert reader.read(50_000) == b""


def test_peek_of_a_short_stream_returns_all_of_it() -> None:
    reader = HashingReader(b"tiny", max_size=10)
    assert reader.peek_head(8192) == b"tiny"
    assert reader.read(8192) == b"tiny"
    assert reader.read(8192) == b""


def test_exactly_max_size_passes_one_more_byte_fails() -> None:
    assert b"".join(HashingReader(DATA, max_size=len(DATA)).chunks()) == DATA
    reader = HashingReader(DATA + b"!", max_size=len(DATA))
    with pytest.raises(TooLarge) as caught:
        b"".join(reader.chunks(1024))
    assert caught.value.limit == len(DATA)
    assert reader.size == len(DATA) + 1  # stopped at the chunk that crossed the limit


def test_limit_applies_to_the_replayed_head_too() -> None:
    reader = HashingReader(DATA, max_size=100)
    reader.peek_head(8192)
    with pytest.raises(TooLarge):
        reader.read(8192)


def test_over_limit_stream_is_not_read_further() -> None:
    pulled = []

    def endless() -> object:
        while True:
            pulled.append(1)
            yield b"x" * 1000

    reader = HashingReader(endless(), max_size=10_000)  # type: ignore[arg-type]
    with pytest.raises(TooLarge):
        for _ in reader.chunks(1000):
            pass
    assert len(pulled) == 11


def test_readinto_and_io_protocol() -> None:
    reader = HashingReader(DATA, max_size=len(DATA))
    assert reader.readable() and not reader.seekable()
    buffer = bytearray(300)
    assert reader.readinto(buffer) == 300
    assert bytes(buffer) == DATA[:300]
    assert reader.read(None) == DATA[300:]
