"""ai_media.embed_media with the tiny CLIP model: items posted without an embedding get
one computed from their URL (served here on 127.0.0.1, allowed explicitly), dead URLs are
recorded, and loopback without the allow-list is refused (SSRF)."""

from __future__ import annotations

import io
import socket
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from rest_framework.test import APIClient

from ai_media import embedding as embedding_module
from ai_media.embedding import embed_media
from ai_media.models import Media, MediaEmbedding
from apps.processing import embeddings
from apps.processing.engines.clip import embed_images, open_image
from apps.processing.errors import TransientError
from tests.ai_media.factories import ImageServer, item, picture, upsert, vec

pytestmark = pytest.mark.django_db

LOOPBACK = {"FETCH_ALLOWED_NETWORKS": ["127.0.0.0/8"], "FETCH_TIMEOUT": 3}


@pytest.fixture
def server() -> Iterator[ImageServer]:
    running = ImageServer().start()
    yield running
    running.stop()


@pytest.fixture
def loopback_allowed(settings: Any) -> None:
    settings.PROCESSING = dict(LOOPBACK)


def expected_vector(data: bytes) -> np.ndarray:
    image = open_image(io.BytesIO(data), size=224)
    return embed_images(embeddings.current_embedder(), [image])[0]


def stored(media_id: str) -> np.ndarray:
    return np.asarray(MediaEmbedding.objects.get(media_id=media_id).embedding, dtype=np.float32)


def error_of(media_id: str) -> str:
    return Media.objects.get(pk=media_id).embedding_error


def test_posted_items_get_embeddings_from_their_urls(
        writer: APIClient, clip_on: Any, loopback_allowed: None, server: ImageServer,
        django_capture_on_commit_callbacks: Any) -> None:
    png, jpeg, thumb = picture(1), picture(2, fmt="JPEG"), picture(3)
    server.files.update({"/a.png": ("image/png", png), "/b.jpg": ("image/jpeg", jpeg),
                         "/v-thumb.png": ("image/png", thumb)})
    items = [
        item("png", media_url=server.url("/a.png")),
        item("jpeg", media_url=server.url("/b.jpg")),
        item("video", media_type="video", media_url=server.url("/v.mp4"),
             thumbnail_url=server.url("/v-thumb.png")),  # a video: its thumbnail
        item("gone", media_url=server.url("/missing.png")),  # a 404
        item("html", media_url=server.url("/page")),  # not an image type
        item("corrupt", media_url=server.url("/corrupt.png")),
        item("no-thumb", media_type="video", media_url=server.url("/v2.mp4")),
        item("given", media_url=server.url("/never.png"), embedding=vec(1)),
    ]
    server.files["/page"] = ("text/html", b"<html></html>")
    server.files["/corrupt.png"] = ("image/png", png[:200])
    with django_capture_on_commit_callbacks(execute=True):
        body = writer.post("/api/media", items, format="json").json()
    assert body["inserted"] == 8 and body["errors"] == []
    np.testing.assert_allclose(stored("png"), expected_vector(png), atol=1e-5)
    np.testing.assert_allclose(stored("jpeg"), expected_vector(jpeg), atol=1e-5)
    np.testing.assert_allclose(stored("video"), expected_vector(thumb), atol=1e-5)
    assert np.linalg.norm(stored("png")) == pytest.approx(1.0, abs=1e-5)
    np.testing.assert_array_equal(stored("given"), vec(1))  # sent: never recomputed
    assert "/never.png" not in server.hits and "/v.mp4" not in server.hits
    assert set(MediaEmbedding.objects.values_list("media_id", flat=True)) == {
        "png", "jpeg", "video", "given"}
    assert error_of("png") == "" and error_of("video") == ""
    assert "404" in error_of("gone")
    assert error_of("html") and error_of("corrupt").startswith("corrupt or truncated image")
    assert error_of("no-thumb") == "a video needs a thumbnail_url to be embedded"


def test_similar_works_on_computed_embeddings(
        writer: APIClient, reader: APIClient, clip_on: Any, loopback_allowed: None,
        server: ImageServer, django_capture_on_commit_callbacks: Any) -> None:
    for n in range(3):
        server.files[f"/{n}.png"] = ("image/png", picture(10 + n))
    with django_capture_on_commit_callbacks(execute=True):
        writer.post("/api/media", [item(f"p{n}", media_url=server.url(f"/{n}.png"))
                                   for n in range(3)], format="json")
    data = reader.get("/api/similar/p0").json()["data"]
    assert sorted(d["id"] for d in data) == ["p1", "p2"]


def test_a_loopback_url_is_refused_without_the_allow_list(
        writer: APIClient, clip_on: Any, server: ImageServer,
        django_capture_on_commit_callbacks: Any) -> None:
    server.files["/a.png"] = ("image/png", picture(1))
    urls = [server.url("/a.png"), server.url("/a.png").replace("127.0.0.1", "localhost"),
            server.url("/a.png").replace("127.0.0.1", "2130706433")]
    with django_capture_on_commit_callbacks(execute=True):
        body = writer.post("/api/media", [item(f"s{n}", media_url=url)
                                          for n, url in enumerate(urls)], format="json").json()
    assert body["inserted"] == 3
    assert server.hits == []  # the server was never reached
    assert not MediaEmbedding.objects.exists()
    for n in range(3):
        reason = error_of(f"s{n}")
        assert reason == "This URL points to an address that is not allowed."
        assert "127" not in reason and "localhost" not in reason


def test_a_recorded_error_is_not_retried_until_the_item_changes(
        writer: APIClient, clip_on: Any, loopback_allowed: None, server: ImageServer,
        django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        writer.post("/api/media", [item("x", media_url=server.url("/late.png"))], format="json")
    assert "404" in error_of("x") and server.hits == ["/late.png"]
    server.files["/late.png"] = ("image/png", picture(4))
    assert embed_media(media_ids=["x"]) == {"status": "ok", "embedded": 0, "failed": 0}
    assert server.hits == ["/late.png"]  # not fetched again
    with django_capture_on_commit_callbacks(execute=True):  # re-posted: tried again
        writer.post("/api/media", [item("x", media_url=server.url("/late.png"))], format="json")
    assert error_of("x") == ""
    np.testing.assert_allclose(stored("x"), expected_vector(picture(4)), atol=1e-5)
    assert embed_media(media_ids=["x"]) == {"status": "ok", "embedded": 0, "failed": 0}


def test_the_task_directly(clip_on: Any, loopback_allowed: None, server: ImageServer) -> None:
    server.files["/a.png"] = ("image/png", picture(1))
    upsert([item("a", media_url=server.url("/a.png")), item("b", media_url=server.url("/b.png")),
            item("has", embedding=vec(2))])
    result = embed_media(media_ids=["a", "b", "has", "unknown"])
    assert result == {"status": "ok", "embedded": 1, "failed": 1}
    np.testing.assert_array_equal(stored("has"), vec(2))
    np.testing.assert_allclose(stored("a"), expected_vector(picture(1)), atol=1e-5)


def test_disabled_without_a_model(server: ImageServer, loopback_allowed: None) -> None:
    server.files["/a.png"] = ("image/png", picture(1))
    upsert([item("a", media_url=server.url("/a.png"))])
    assert embed_media(media_ids=["a"]) == {"status": "disabled"}
    assert server.hits == [] and error_of("a") == ""


def test_an_unreachable_server_is_transient_not_recorded(clip_on: Any,
                                                         loopback_allowed: None) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    upsert([item("a", media_url=f"http://127.0.0.1:{port}/a.png")])  # nothing listens there
    with pytest.raises(TransientError):
        embed_media(media_ids=["a"])
    assert error_of("a") == "" and not MediaEmbedding.objects.exists()


def test_an_item_changed_meanwhile_is_not_given_the_old_vector(
        clip_on: Any, loopback_allowed: None, server: ImageServer,
        monkeypatch: pytest.MonkeyPatch) -> None:
    server.files["/a.png"] = ("image/png", picture(1))
    upsert([item("a", media_url=server.url("/a.png"))])
    real = embedding_module._load

    def load_then_change(url: str, size: int) -> Any:
        image = real(url, size)
        Media.objects.filter(pk="a").update(media_url="https://cdn.example.com/new.png")
        return image

    monkeypatch.setattr(embedding_module, "_load", load_then_change)
    assert embed_media(media_ids=["a"]) == {"status": "ok", "embedded": 0, "failed": 0}
    assert not MediaEmbedding.objects.exists()


@pytest.mark.parametrize("field", ["media_url", "thumbnail_url"])
def test_an_error_is_not_recorded_on_an_item_changed_meanwhile(
        clip_on: Any, loopback_allowed: None, server: ImageServer,
        monkeypatch: pytest.MonkeyPatch, field: str) -> None:
    """A re-post during the fetch clears the error and queues a new try: the old URL's
    failure must not land on the new URL (it would never be retried)."""
    upsert([item("v", media_type="video", media_url=server.url("/v.mp4"),
                 thumbnail_url=server.url("/dead.png"))])
    real = embedding_module._load

    def change_then_load(url: str, size: int) -> Any:
        Media.objects.filter(pk="v").update(**{field: server.url("/new")})
        return real(url, size)

    monkeypatch.setattr(embedding_module, "_load", change_then_load)
    assert embed_media(media_ids=["v"]) == {"status": "ok", "embedded": 0, "failed": 1}
    assert server.hits == ["/dead.png"] and error_of("v") == ""
