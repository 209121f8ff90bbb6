"""A clamd client over its socket protocol (``zINSTREAM``), streaming in chunks.

clamd is the real ClamAV daemon (TCP or a Unix socket). Files are streamed to it in
chunks, never loaded whole; its StreamMaxLength must be at least the largest file, or
it answers "INSTREAM size limit exceeded" (reported as an error, not as clean).
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlparse


class ClamdError(Exception):
    pass


@dataclass(frozen=True)
class ScanVerdict:
    clean: bool
    signature: str = ""
    raw: str = ""


def parse_address(address: str) -> tuple[int, str | tuple[str, int]]:
    """``tcp://host:port``, ``host:port`` or ``unix:///path`` → (family, address)."""
    if address.startswith("unix://"):
        return socket.AF_UNIX, address[len("unix://"):]
    if address.startswith("/"):
        return socket.AF_UNIX, address
    parsed = urlparse(address if "://" in address else f"tcp://{address}")
    if not parsed.hostname or not parsed.port:
        raise ValueError(f"clamd address must be tcp://host:port or unix:///path: {address!r}")
    return socket.AF_INET, (parsed.hostname, parsed.port)


class ClamdClient:
    def __init__(self, address: str, *, timeout: float = 60.0) -> None:
        self.family, self.address = parse_address(address)
        self.timeout = timeout

    def _connect(self) -> socket.socket:
        sock = socket.socket(self.family, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.address)
        except OSError:
            sock.close()
            raise
        return sock

    def _command(self, command: bytes) -> str:
        with self._connect() as sock:
            sock.sendall(b"z" + command + b"\0")
            return self._reply(sock)

    @staticmethod
    def _reply(sock: socket.socket) -> str:
        parts = []
        while True:
            data = sock.recv(4096)
            if not data:
                break
            parts.append(data)
            if data.endswith(b"\0"):
                break
        return b"".join(parts).rstrip(b"\0").decode("utf-8", "replace").strip()

    def ping(self) -> bool:
        return self._command(b"PING") == "PONG"

    def version(self) -> str:
        return self._command(b"VERSION")

    def scan_stream(self, chunks: Iterable[bytes], chunk_size: int = 256 * 1024) -> ScanVerdict:
        """Stream ``chunks`` to clamd; OSError when it cannot be reached, ClamdError when it
        answers with an error (e.g. the stream is over its StreamMaxLength)."""
        with self._connect() as sock:
            sock.sendall(b"zINSTREAM\0")
            try:
                for chunk in chunks:
                    for start in range(0, len(chunk), chunk_size):
                        piece = chunk[start:start + chunk_size]  # one send: no Nagle stall
                        sock.sendall(struct.pack(">I", len(piece)) + piece)
                sock.sendall(struct.pack(">I", 0))
            except (BrokenPipeError, ConnectionResetError):
                # clamd stops reading and answers when a limit is crossed: read why.
                reply = self._reply(sock)
                if not reply:
                    raise
                raise ClamdError(reply) from None
            reply = self._reply(sock)
        # "stream: OK" | "stream: <Signature> FOUND" | "<message> ERROR"
        if reply.endswith("ERROR"):
            raise ClamdError(reply)
        if reply.endswith("FOUND"):
            signature = reply.split(":", 1)[-1].strip()[: -len("FOUND")].strip()
            return ScanVerdict(clean=False, signature=signature, raw=reply)
        if reply.endswith("OK"):
            return ScanVerdict(clean=True, raw=reply)
        raise ClamdError(f"unexpected clamd reply: {reply!r}")
