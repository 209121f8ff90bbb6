"""A tiny HTTP server on 127.0.0.1 serving fixed bodies by path, for tests of code that
fetches URLs (the SSRF-safe fetcher refuses it unless a test allows 127.0.0.0/8)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class StaticServer:
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # path -> (type, body)
    hits: list[str] = field(default_factory=list)  # paths asked for, in order
    httpd: ThreadingHTTPServer | None = None

    def url(self, path: str) -> str:
        assert self.httpd is not None
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def lookup(self, path: str) -> tuple[str, bytes] | None:
        return self.files.get(path)

    def start(self) -> StaticServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                server.hits.append(self.path)
                found = server.lookup(self.path)
                content_type, body = found or ("text/plain", b"not found")
                self.send_response(200 if found is not None else 404)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body)
                self.close_connection = True

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.block_on_close = False
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.01},
                         daemon=True).start()
        return self

    def stop(self) -> None:
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
