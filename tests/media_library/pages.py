"""HTML pages on 127.0.0.1 for the link-preview tests (settings.PROCESSING
["FETCH_ALLOWED_NETWORKS"] must allow 127.0.0.0/8 for the fetcher to reach them)."""

from __future__ import annotations

from dataclasses import dataclass, field

from tests.local_http import StaticServer


@dataclass
class PageServer(StaticServer):
    pages: dict[str, bytes] = field(default_factory=dict)  # path -> HTML

    @property
    def requests(self) -> list[str]:
        return self.hits

    def lookup(self, path: str) -> tuple[str, bytes] | None:
        body = self.pages.get(path)
        return None if body is None else ("text/html; charset=utf-8", body)
