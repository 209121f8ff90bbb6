"""A read-once stream wrapper that hashes, counts and limits as bytes go by.

The blob store hands this object to Django's storage ``save``; the storage pulls chunks
from it and writes them out, and by the time the last chunk is written the SHA-256 and
the size are known. Nothing is buffered beyond one chunk plus the sniffed head, and a
stream that grows past ``max_size`` fails at that byte, not after it has been stored.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable, Iterator
from typing import Any, Protocol


class _Readable(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...


class TooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"stream exceeds {limit} bytes")
        self.limit = limit


class _IterReader:
    """Adapts an iterable of byte chunks to read(n)."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._it: Iterator[bytes] = iter(chunks)
        self._buf = b""

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buf) < size:
            try:
                self._buf += next(self._it)
            except StopIteration:
                break
        if size < 0:
            out, self._buf = self._buf, b""
        else:
            out, self._buf = self._buf[:size], self._buf[size:]
        return out


class HashingReader(io.RawIOBase):
    def __init__(self, source: _Readable | Iterable[bytes] | bytes, *, max_size: int,
                 chunk_size: int = 1024 * 1024) -> None:
        super().__init__()
        if isinstance(source, (bytes, bytearray)):
            source = io.BytesIO(source)
        self._source: _Readable = source if hasattr(source, "read") else _IterReader(source)  # type: ignore[assignment]
        self.max_size = max_size
        self.chunk_size = chunk_size
        self.size = 0
        self._hash = hashlib.sha256()
        self._head = b""
        self._head_pos = 0
        self.content_type: str | None = None  # read by S3Storage for the object's type
        self.name: str | None = None

    # -- what the blob store asks ---------------------------------------------------
    def peek_head(self, n: int) -> bytes:
        """Read ahead up to n bytes for sniffing; they are replayed by read()."""
        while len(self._head) < n:
            chunk = self._source.read(n - len(self._head))
            if not chunk:
                break
            self._head += chunk
        return self._head

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()

    # -- io.RawIOBase ---------------------------------------------------------------
    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            return self._read_all()
        data = b""
        if self._head_pos < len(self._head):
            data = self._head[self._head_pos:self._head_pos + size]
            self._head_pos += len(data)
            if self._head_pos >= len(self._head):
                self._head = b""
                self._head_pos = 0
        # Fill the request up to size (or EOF): a short read, from the replayed head or a
        # socket, would make boto3 take the stream for a small one and read all of it
        # into memory, or send multipart parts under S3's 5 MiB minimum.
        parts = [data] if data else []
        missing = size - len(data)
        while missing > 0:
            chunk = self._source.read(missing)
            if not chunk:
                break
            parts.append(chunk)
            missing -= len(chunk)
        return self._account(b"".join(parts))

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def _read_all(self) -> bytes:
        parts = []
        while chunk := self.read(self.chunk_size):
            parts.append(chunk)
        return b"".join(parts)

    def _account(self, data: bytes) -> bytes:
        if data:
            self.size += len(data)
            if self.size > self.max_size:
                raise TooLarge(self.max_size)
            self._hash.update(data)
        return data

    def chunks(self, chunk_size: int | None = None) -> Iterator[bytes]:
        while chunk := self.read(chunk_size or self.chunk_size):
            yield chunk
