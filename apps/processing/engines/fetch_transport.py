"""One HTTP/1.1 exchange with an already vetted address: connecting (TLS included),
sending the request, and reading a body under the deadline and the size cap.

Kept apart from the fetcher's entry point (:mod:`apps.processing.engines.fetch`) and
from address vetting because it is the only part that talks to sockets: every read
waits at most until the shared deadline, and the body is capped on its decompressed
bytes.
"""

from __future__ import annotations

import functools
import http.client
import io
import socket
import ssl
import zlib
from typing import Any

from apps.processing.engines.fetch_addresses import IPAddress, _remaining, _Target
from apps.processing.engines.fetch_errors import (
    FetchFailed,
    FetchTooLarge,
    FetchUnsupportedContent,
)
from apps.processing.engines.fetch_policy import FetchPolicy

_CHUNK = 64 * 1024


# --- connection -----------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _default_ssl_context() -> ssl.SSLContext:
    return ssl.create_default_context()


class _DeadlineReader(io.RawIOBase):
    """A socket's reading side where each read may only wait until the shared
    deadline: a server dribbling headers or body one byte at a time still stops."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        super().__init__()
        self._sock = sock
        self._deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        self._sock.settimeout(_remaining(self._deadline))
        return self._sock.recv_into(buffer)


class _DeadlineSocket:
    """What ``http.client.HTTPResponse`` needs of a socket: ``makefile('rb')``."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self._sock = sock
        self._deadline = deadline

    def makefile(self, mode: str) -> io.BufferedReader:
        return io.BufferedReader(_DeadlineReader(self._sock, self._deadline))


def _connect(target: _Target, addresses: list[IPAddress], policy: FetchPolicy,
             deadline: float) -> socket.socket:
    """Connect to the first vetted address that answers (never to the name)."""
    failure: OSError | None = None
    for ip in addresses:
        family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.settimeout(_remaining(deadline))
            sock.connect((str(ip), target.port))
        except TimeoutError:
            sock.close()
            raise
        except OSError as exc:
            sock.close()
            failure = exc
            continue
        if target.scheme != "https":
            return sock
        context = policy.ssl_context or _default_ssl_context()
        try:
            sock.settimeout(_remaining(deadline))
            return context.wrap_socket(sock, server_hostname=target.host)
        except BaseException:
            sock.close()
            raise
    raise FetchFailed("The server could not be reached.", detail=f"{target.host}: {failure}")


def _request(target: _Target, policy: FetchPolicy, accept: str) -> bytes:
    lines = [
        f"GET {target.request_target} HTTP/1.1",
        f"Host: {target.host_header}",
        f"User-Agent: {policy.user_agent}",
        f"Accept: {accept}",
        "Accept-Encoding: gzip, deflate",
        "Connection: close",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii", "strict")


# --- body -----------------------------------------------------------------------------


class _Decoder:
    """Content-Encoding decoding that never produces more than ``limit`` bytes in all."""

    def __init__(self, encoding: str, limit: int) -> None:
        self.encoding = encoding
        self.limit = limit
        self.produced = 0
        self.fed = False
        self._zlib: Any = None
        if encoding in ("gzip", "x-gzip"):
            self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)

    def _output(self, data: bytes) -> bytes:
        self.produced += len(data)
        if self.produced > self.limit:
            raise FetchTooLarge(detail=f"over {self.limit} bytes decoded")
        return data

    def feed(self, chunk: bytes) -> bytes:
        self.fed = self.fed or bool(chunk)
        if self.encoding == "identity":
            return self._output(chunk)
        if self._zlib is None:  # deflate: zlib-wrapped per the RFC, raw by some servers
            raw = not (len(chunk) >= 2 and chunk[0] & 0x0F == 8
                       and (chunk[0] << 8 | chunk[1]) % 31 == 0)
            self._zlib = zlib.decompressobj(-zlib.MAX_WBITS if raw else zlib.MAX_WBITS)
        out = bytearray()
        while chunk:
            if self._zlib.eof:
                if self.encoding == "deflate" or not chunk.startswith(b"\x1f\x8b"):
                    break  # trailing bytes after the stream: ignored, as browsers do
                self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)  # next gzip member
            budget = self.limit - self.produced - len(out)
            try:
                # budget + 1: producing more than the budget is the signal to stop.
                out += self._zlib.decompress(chunk, budget + 1)
            except zlib.error as exc:
                raise FetchFailed("The response is corrupt.", detail=str(exc)) from exc
            if len(out) > budget:
                raise FetchTooLarge(detail=f"over {self.limit} bytes decoded")
            chunk = self._zlib.unused_data if self._zlib.eof else b""
        return self._output(bytes(out))

    def finish(self) -> None:
        """A compressed stream that stops before its end is a truncated body."""
        if self.fed and self._zlib is not None and not self._zlib.eof:
            raise FetchFailed("The response is corrupt.", detail="truncated stream")


def _content_length(response: http.client.HTTPResponse) -> int | None:
    if "chunked" in (response.getheader("Transfer-Encoding") or "").lower():
        return None
    try:
        value = int(response.getheader("Content-Length") or "")
    except ValueError:
        return None
    return value if value >= 0 else None


def _read_body(response: http.client.HTTPResponse, policy: FetchPolicy) -> bytes:
    encoding = (response.getheader("Content-Encoding") or "identity").strip().lower()
    if encoding not in ("identity", "gzip", "x-gzip", "deflate"):
        raise FetchUnsupportedContent("The server sent an unsupported content encoding.",
                                      detail=encoding)
    expected = _content_length(response)
    if expected is not None and expected > policy.max_bytes:
        raise FetchTooLarge(detail=f"Content-Length {expected}")
    decoder = _Decoder(encoding, policy.max_bytes)
    body = bytearray()
    received = 0
    while chunk := response.read1(_CHUNK):
        received += len(chunk)
        if received > policy.max_bytes:
            raise FetchTooLarge(detail=f"over {policy.max_bytes} bytes received")
        body += decoder.feed(chunk)
    if expected is not None and received < expected:
        raise FetchFailed("The response was cut short.", detail=f"{received}/{expected}")
    decoder.finish()
    return bytes(body)
