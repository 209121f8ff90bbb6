"""Saved links get their preview from the worker, through the SSRF-safe fetcher."""

from __future__ import annotations

from typing import Any

import pytest
from celery.exceptions import Retry

from apps.processing.previews import enqueue_link_preview
from apps.processing.tasks import link_preview
from tests.apps.processing.engines.test_fetch import LocalServer, dribble, page
from tests.apps.processing.engines.test_fetch import server as server  # the fixture
from tests.testapp.models import Link

pytestmark = pytest.mark.django_db

HTML = (b'<html><head><title>Fallback</title><meta property="og:title" content="A story">'
        b'<meta property="og:image" content="/img/cover.png"></head><body></body></html>')


def test_preview_is_written_onto_the_row(server: LocalServer, settings: Any,
                                         django_capture_on_commit_callbacks: Any) -> None:
    settings.PROCESSING = {"FETCH_ALLOWED_NETWORKS": ["127.0.0.0/8"]}
    server.routes["/story"] = page(HTML)
    link = Link.objects.create(url=server.url("/story"))
    with django_capture_on_commit_callbacks(execute=True):
        enqueue_link_preview(label="testapp.Link", pk=link.pk)
    link.refresh_from_db()
    assert link.preview is not None
    assert link.preview["status"] == "ok" and link.preview["title"] == "A story"
    assert link.preview["image"] == server.url("/img/cover.png")
    assert link.preview["fetched_at"]


def test_loopback_is_refused_and_recorded_without_detail(server: LocalServer) -> None:
    server.routes["/story"] = page(HTML)
    link = Link.objects.create(url=server.url("/story"))
    assert link_preview(label="testapp.Link", pk=str(link.pk)) == "error"
    link.refresh_from_db()
    assert link.preview["code"] == "fetch_refused"
    assert "127.0.0.1" not in link.preview["message"]
    assert server.requests == []  # nothing reached the server


def test_timeouts_are_retried(server: LocalServer, settings: Any) -> None:
    settings.PROCESSING = {"FETCH_ALLOWED_NETWORKS": ["127.0.0.0/8"], "FETCH_TIMEOUT": 0.5}
    server.routes["/slow"] = dribble(b"HTTP/1.1 200 OK\r\n", b"X", 0.2, seconds=2)
    link = Link.objects.create(url=server.url("/slow"))
    with pytest.raises(Retry):
        link_preview.apply(kwargs={"label": "testapp.Link", "pk": str(link.pk)})
    link.refresh_from_db()
    assert link.preview is None


def test_deleted_row_is_skipped() -> None:
    link = Link.objects.create(url="https://example.com/")
    pk = str(link.pk)
    link.delete()
    assert link_preview(label="testapp.Link", pk=pk) == "gone"
