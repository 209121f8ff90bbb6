"""Videos and SVGs through the whole pipeline: probe, poster, sanitising, serving."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from PIL import Image

from apps.processing import scanning
from apps.processing.tasks import run_pipeline
from apps.storage.blobs import blob_store
from apps.storage.errors import BlobNotFound
from apps.storage.models import ProcessingState, StoredFile
from tests.apps.processing import videos

pytestmark = pytest.mark.django_db

SVG = (b'<svg xmlns="http://www.w3.org/2000/svg" width="40" height="30" onload="alert(1)">'
       b'<script>alert(2)</script><rect width="40" height="30" fill="red"/></svg>')


def processed(data: bytes, user: Any, name: str, **meta: Any) -> StoredFile:
    stored = blob_store.put(data, owner=user, name=name, meta=meta)
    assert scanning.scan_file(stored) == "CLEAN"
    run_pipeline(stored_file_id=str(stored.pk))
    return StoredFile.objects.get(pk=stored.pk)


def open_variant(stored: StoredFile, spec: str, fmt: str) -> Image.Image:
    variant = stored.variants.get(spec=spec, format=fmt)
    with blob_store.open(variant) as handle:
        image = Image.open(handle)
        image.load()
    return image


def test_video_is_probed_and_gets_a_poster_and_thumbnails(user: Any) -> None:
    stored = processed(videos.mp4(), user, "clip.mp4")
    assert stored.processing_state == ProcessingState.READY, stored.processing_error
    assert (stored.width, stored.height) == (64, 48)
    assert stored.duration == pytest.approx(2.0, abs=0.15)
    assert stored.meta["codec"] == "h264" and stored.meta["frame_rate"] == pytest.approx(10)
    assert {(v.spec, v.format) for v in stored.variants.all()} >= {
        ("poster", "jpeg"), ("thumb-256", "webp"), ("preview-1024", "webp")}
    poster = open_variant(stored, "poster", "jpeg")
    assert poster.size == (64, 48)
    red, green, blue = poster.convert("RGB").getpixel((32, 40))  # the first non-black frame
    assert red > 150 and green < 80 and blue < 80
    assert stored.dominant_color.startswith("#") and stored.blurhash


def test_poster_at_a_chosen_time(user: Any) -> None:
    stored = processed(videos.mp4(), user, "clip.mp4", poster_ms=1800)
    red, _, blue = open_variant(stored, "poster", "jpeg").convert("RGB").getpixel((32, 40))
    assert blue > 150 and red < 80


def test_truncated_video_fails_with_a_reason(user: Any) -> None:
    stored = processed(videos.truncated(videos.mp4(), keep=0.2), user, "cut.mp4")
    assert stored.processing_state == ProcessingState.FAILED
    assert stored.processing_error.startswith("probe:")
    assert not stored.variants.exists()


def test_svg_is_sanitised_served_with_its_csp_and_never_rasterised(user: Any) -> None:
    stored = processed(SVG, user, "logo.svg")
    assert stored.processing_state == ProcessingState.READY, stored.processing_error
    with blob_store.open(stored) as handle:
        body = handle.read()
    assert b"<script" not in body and b"onload" not in body and b"<rect" in body
    assert (stored.width, stored.height) == (40, 30)
    assert stored.meta["rewritten"][0]["reason"] == "svg sanitised"
    assert not stored.variants.exists()
    response = Client().get(blob_store.signed_url(stored))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert response["X-Content-Type-Options"] == "nosniff"
    csp = response["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "sandbox" in csp and "script" not in csp


def test_unsanitised_svg_is_never_served(user: Any) -> None:
    stored = blob_store.put(SVG, owner=user, name="logo.svg")
    scanning.scan_file(stored)
    with pytest.raises(BlobNotFound):  # clean by the scanner, but not yet sanitised
        blob_store.signed_url(StoredFile.objects.get(pk=stored.pk))


def test_svg_with_an_entity_fails_and_stays_unserved(user: Any) -> None:
    bomb = (b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaaaaaaaa">]>'
            b'<svg xmlns="http://www.w3.org/2000/svg">&a;</svg>')
    stored = processed(bomb, user, "bomb.svg")
    assert stored.processing_state == ProcessingState.FAILED
    assert stored.processing_error.startswith("sanitize:")
    with pytest.raises(BlobNotFound):
        blob_store.signed_url(stored)


def test_images_are_embedded_after_processing(user: Any, settings: Any, tmp_path: Any,
                                              django_capture_on_commit_callbacks: Any) -> None:
    from apps.processing.models import Embedding
    from tests.apps.processing.clip_model import build_tiny_clip
    from tests.apps.processing.images import image_bytes

    settings.CLIP_MODEL_DIR = str(build_tiny_clip(tmp_path / "clip").root)
    with django_capture_on_commit_callbacks(execute=True):
        stored = processed(image_bytes("JPEG", (300, 200)), user, "a.jpg")
    assert stored.processing_state == ProcessingState.READY
    embedding = Embedding.objects.get(stored_file=stored)
    assert len(embedding.vector) == 512
    assert abs(sum(float(x) ** 2 for x in embedding.vector) - 1.0) < 1e-3


def test_without_a_model_the_embed_step_is_disabled_not_failed(user: Any, settings: Any) -> None:
    from apps.processing.models import Embedding
    from tests.apps.processing.images import image_bytes

    settings.CLIP_MODEL_DIR = ""
    stored = processed(image_bytes("PNG"), user, "a.png")
    assert stored.processing_state == ProcessingState.READY
    assert stored.meta["embedding"] == "disabled" and "embed" in stored.meta["steps_done"]
    assert not Embedding.objects.filter(stored_file=stored).exists()
