"""The embed service, its task and the CLIP health check, over a tiny real model and real
PostgreSQL + pgvector."""

from __future__ import annotations

import io
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from PIL import Image

from apps.core.health import DISABLED, OK, UNAVAILABLE, run_checks
from apps.processing import embeddings
from apps.processing.embeddings import (
    ClipDisabled,
    embed_files,
    embed_stored_files,
    embed_text,
    enqueue_backfill,
    enqueue_embedding,
    pending_ids,
)
from apps.processing.engines import clip
from apps.processing.engines.clip import ClipModelError, embed_images, open_image
from apps.processing.health import check_clip
from apps.processing.models import Embedding
from apps.storage.blobs import blob_store
from apps.storage.models import ScanStatus, StoredFile
from tests.apps.processing.clip_model import TinyClip, build_tiny_clip

pytestmark = pytest.mark.django_db

INSERT = 'INSERT INTO "processing_embedding"'


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> TinyClip:
    return build_tiny_clip(tmp_path_factory.mktemp("models") / "ViT-tiny__test")


@pytest.fixture(autouse=True)
def _fresh_embedders() -> Any:
    clip.clear_embedders()
    yield
    clip.clear_embedders()


@pytest.fixture
def clip_on(settings: Any, tiny: TinyClip, tmp_path: Path) -> TinyClip:
    settings.CLIP_MODEL_DIR = str(tiny.root)
    settings.VAR_DIR = tmp_path / "var"
    settings.PROCESSING = {"CLIP_BATCH_SIZE": 3}
    return tiny


def picture(seed: int, size: tuple[int, int] = (320, 240), fmt: str = "PNG") -> bytes:
    rng = np.random.default_rng(seed)
    grid = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
    image = Image.fromarray(grid).resize(size, Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def stored_image(user: Any, data: bytes, *, name: str = "x.png",
                 scan: str = ScanStatus.CLEAN) -> StoredFile:
    stored = blob_store.put(data, owner=user, name=name)
    StoredFile.objects.filter(pk=stored.pk).update(scan_status=scan)
    stored.refresh_from_db()
    return stored


def expected_vector(data: bytes) -> np.ndarray:
    engine = embeddings.current_embedder()
    image = open_image(io.BytesIO(data), size=224)
    return embed_images(engine, [image])[0]


# -- the service ----------------------------------------------------------------------

@pytest.mark.parametrize(("write_rows", "upserts"), [
    (None, 1),  # the default (32): all 7 in one upsert
    (1, 3),  # never less than a batch: one upsert per batch of 3
    (4, 2),  # 6 pending after the second batch, then the last one
])
def test_writes_an_embedding_per_clean_image_in_batches(clip_on: TinyClip, user: Any,
                                                        settings: Any, write_rows: int | None,
                                                        upserts: int) -> None:
    if write_rows is not None:
        settings.PROCESSING = {**settings.PROCESSING, "CLIP_WRITE_ROWS": write_rows}
    datas = [picture(i, fmt="JPEG" if i % 2 else "PNG") for i in range(7)]
    files = [stored_image(user, d, name=f"p{i}.{'jpg' if i % 2 else 'png'}")
             for i, d in enumerate(datas)]
    with CaptureQueriesContext(connection) as queries:
        report = embed_stored_files([f.pk for f in files])
    assert report.status == OK and report.model == "ViT-tiny__test"
    assert report.embedded == [str(f.pk) for f in files] and report.skipped == {}
    assert report.batches == 3  # 7 files in batches of 3
    assert sum(q["sql"].startswith(INSERT) for q in queries.captured_queries) == upserts
    # one SELECT of the rows, then per upsert one locking SELECT and one INSERT
    assert sum(q["sql"].startswith("SELECT") for q in queries.captured_queries) == 1 + upserts
    for stored, data in zip(files, datas, strict=True):
        row = Embedding.objects.get(stored_file=stored)
        vector = np.asarray(row.vector, dtype=np.float32)
        assert row.model == "ViT-tiny__test" and vector.shape == (512,)
        assert np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-5)
        np.testing.assert_allclose(vector, expected_vector(data), atol=1e-5)


def test_skips_what_is_not_a_clean_decodable_image(clip_on: TinyClip, user: Any) -> None:
    good = stored_image(user, picture(1))
    pending = stored_image(user, picture(2), scan=ScanStatus.PENDING)
    infected = stored_image(user, picture(3), scan=ScanStatus.INFECTED)
    quarantined = stored_image(user, picture(4))
    StoredFile.objects.filter(pk=quarantined.pk).update(is_quarantined=True)
    document = blob_store.put(b"%PDF-1.4\n%%EOF\n", owner=user, name="d.pdf")
    StoredFile.objects.filter(pk=document.pk).update(scan_status=ScanStatus.CLEAN)
    corrupt = stored_image(user, picture(5)[:300], name="broken.png")
    vanished = stored_image(user, picture(6))
    blob_store.storage.delete(vanished.key)
    report = embed_stored_files([good.pk, pending.pk, infected.pk, quarantined.pk, document.pk,
                                 corrupt.pk, vanished.pk, "not-a-uuid",
                                 "0190aaaa-0000-7000-8000-000000000000"])
    assert report.embedded == [str(good.pk)]
    skipped = report.skipped
    assert skipped[str(pending.pk)] == "not clean (scan PENDING)"
    assert skipped[str(infected.pk)] == "not clean (scan INFECTED)"
    assert skipped[str(quarantined.pk)] == "not clean (scan CLEAN)"
    assert skipped[str(document.pk)] == "not an image (document)"
    assert skipped[str(corrupt.pk)].startswith("corrupt or truncated image")
    assert skipped[str(vanished.pk)]  # BlobNotFound, with its reason
    assert skipped["not-a-uuid"] == "not a file id"
    assert skipped["0190aaaa-0000-7000-8000-000000000000"] == "gone"
    assert list(Embedding.objects.values_list("stored_file_id", flat=True)) == [good.pk]


def test_a_rerun_is_a_no_op_and_a_new_model_recomputes(clip_on: TinyClip, user: Any,
                                                       settings: Any) -> None:
    files = [stored_image(user, picture(i)) for i in range(4)]
    ids = [str(f.pk) for f in files]
    assert embed_stored_files(ids).embedded == ids
    before = dict(Embedding.objects.values_list("stored_file_id", "created_at"))
    with CaptureQueriesContext(connection) as queries:
        again = embed_stored_files(ids + ids)
    assert again.embedded == [] and again.batches == 0
    assert set(again.skipped.values()) == {"already embedded"}
    assert len(queries.captured_queries) == 1
    assert dict(Embedding.objects.values_list("stored_file_id", "created_at")) == before
    settings.PROCESSING = {**settings.PROCESSING, "CLIP_MODEL_NAME": "ViT-B-32__other"}
    assert pending_ids() == ids
    assert embed_stored_files(ids).embedded == ids
    assert set(Embedding.objects.values_list("model", flat=True)) == {"ViT-B-32__other"}
    assert Embedding.objects.count() == 4 and pending_ids() == []


def test_a_file_deleted_before_the_write_is_dropped_not_fatal(clip_on: TinyClip,
                                                              user: Any) -> None:
    keep, gone = stored_image(user, picture(1)), stored_image(user, picture(2))
    engine = embeddings.current_embedder()

    class DeletingDuringInference:
        """The real engine; the file goes while its batch is being inferred."""

        model_name, dim = engine.model_name, engine.dim
        preprocess_config = engine.preprocess_config

        def embed_pixels(self, pixels: np.ndarray) -> np.ndarray:
            StoredFile.objects.filter(pk=gone.pk).delete()
            return engine.embed_pixels(pixels)

    report = embed_stored_files([keep.pk, gone.pk], embedder=DeletingDuringInference())  # type: ignore[arg-type]
    assert report.embedded == [str(keep.pk)] and report.skipped == {str(gone.pk): "gone"}
    assert list(Embedding.objects.values_list("stored_file_id", flat=True)) == [keep.pk]


@pytest.mark.parametrize("threads", [1, 2, 4])
def test_decode_threads_change_nothing_but_speed(clip_on: TinyClip, user: Any, settings: Any,
                                                 threads: int) -> None:
    settings.PROCESSING = {**settings.PROCESSING, "CLIP_DECODE_THREADS": threads}
    datas = [picture(i) for i in range(7)]
    files = [stored_image(user, d) for d in datas]
    corrupt = stored_image(user, picture(9)[:300])
    report = embed_stored_files([f.pk for f in files[:4]] + [corrupt.pk]
                                + [f.pk for f in files[4:]])
    assert report.embedded == [str(f.pk) for f in files] and report.batches == 3
    assert list(report.skipped) == [str(corrupt.pk)]
    for stored, data in zip(files, datas, strict=True):
        vector = np.asarray(Embedding.objects.get(stored_file=stored).vector)
        np.testing.assert_allclose(vector, expected_vector(data), atol=1e-5)


def test_decoding_runs_between_encoder_runs_on_every_decode_thread(
        clip_on: TinyClip, user: Any, settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Batch 1, two decode threads: four images decode (on both threads) while no run is
    going, then four runs, then the fifth image; never a decode during a run."""
    settings.PROCESSING = {**settings.PROCESSING, "CLIP_BATCH_SIZE": 1,
                           "CLIP_DECODE_THREADS": 2}
    files = [stored_image(user, picture(i)) for i in range(5)]
    engine = embeddings.current_embedder()
    events: list[tuple[str, str]] = []
    running = threading.Event()
    real_decode = embeddings._decode

    def decode(stored: StoredFile, embedder: Any) -> Any:
        assert not running.is_set(), "decoded during an encoder run"
        result = real_decode(stored, embedder)
        time.sleep(0.02)  # long enough for the other thread to take the next image
        events.append(("decode", threading.current_thread().name))
        return result

    class Recording:
        model_name, dim = engine.model_name, engine.dim
        preprocess_config = engine.preprocess_config

        def embed_pixels(self, pixels: np.ndarray) -> np.ndarray:
            running.set()
            try:
                time.sleep(0.02)  # a decode running now would see the flag
                return engine.embed_pixels(pixels)
            finally:
                running.clear()
                events.append(("run", threading.current_thread().name))

    monkeypatch.setattr(embeddings, "_decode", decode)
    report = embed_stored_files([f.pk for f in files], embedder=Recording())  # type: ignore[arg-type]
    assert report.embedded == [str(f.pk) for f in files] and report.batches == 5
    assert [kind for kind, _ in events] == ["decode"] * 4 + ["run"] * 4 + ["decode", "run"]
    assert len({name for kind, name in events[:4]}) == 2  # both threads decoded


def test_vectors_computed_before_a_model_failure_are_written(clip_on: TinyClip,
                                                             user: Any) -> None:
    files = [stored_image(user, picture(i)) for i in range(5)]
    engine = embeddings.current_embedder()
    calls = []

    class FailingSecondRun:
        model_name, dim = engine.model_name, engine.dim
        preprocess_config = engine.preprocess_config

        def embed_pixels(self, pixels: np.ndarray) -> np.ndarray:
            calls.append(len(pixels))
            if len(calls) == 2:
                raise ClipModelError("encoder output is (1, 7), expected [N, 512]")
            return engine.embed_pixels(pixels)

    report = embed_stored_files([f.pk for f in files], embedder=FailingSecondRun())  # type: ignore[arg-type]
    assert report.status == "unavailable" and "expected [N, 512]" in report.detail
    assert report.embedded == [str(f.pk) for f in files[:3]]  # the first batch of 3
    assert set(Embedding.objects.values_list("stored_file_id", flat=True)) == {
        f.pk for f in files[:3]}


def test_a_storage_outage_propagates_so_the_task_retries(clip_on: TinyClip, user: Any,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    files = [stored_image(user, picture(i)) for i in range(5)]

    def outage(stored: StoredFile, embedder: Any) -> np.ndarray:
        raise ConnectionError("storage unreachable")

    monkeypatch.setattr(embeddings, "load_pixels", outage)
    with pytest.raises(ConnectionError):
        embed_stored_files([f.pk for f in files])
    assert ConnectionError in embed_files.autoretry_for
    assert not Embedding.objects.exists()


def test_disabled_without_a_model_dir(settings: Any, user: Any,
                                      django_capture_on_commit_callbacks: Any) -> None:
    settings.CLIP_MODEL_DIR = ""
    stored = stored_image(user, picture(1))
    report = embed_stored_files([stored.pk])
    assert (report.status, report.detail) == ("disabled", "CLIP_MODEL_DIR not set")
    assert embed_files(stored_file_ids=[str(stored.pk)])["status"] == "disabled"
    with django_capture_on_commit_callbacks() as callbacks:
        assert enqueue_embedding([stored.pk]) == 0
        assert enqueue_backfill() == 0
    assert callbacks == []
    assert not Embedding.objects.exists()
    with pytest.raises(ClipDisabled):
        embed_text("a cat")


def test_a_broken_model_dir_is_unavailable_not_a_crash(settings: Any, user: Any,
                                                       tmp_path: Path) -> None:
    model = build_tiny_clip(tmp_path / "m")
    settings.CLIP_MODEL_DIR = str(model.root)
    (model.root / "visual" / "model.onnx").write_bytes(b"garbage")
    stored = stored_image(user, picture(1))
    report = embed_stored_files([stored.pk])
    assert report.status == "unavailable" and "cannot load" in report.detail
    (model.root / "textual" / "tokenizer.json").unlink()
    clip.clear_embedders()
    report = embed_stored_files([stored.pk])
    assert report.status == "unavailable" and "textual/tokenizer.json" in report.detail
    assert not Embedding.objects.exists()


def test_a_model_of_another_width_is_refused(settings: Any, user: Any, tmp_path: Path) -> None:
    settings.CLIP_MODEL_DIR = str(build_tiny_clip(tmp_path / "m", embed_dim=256).root)
    report = embed_stored_files([stored_image(user, picture(1)).pk])
    assert report.status == "unavailable" and "256 dimensions" in report.detail
    assert check_clip().status == UNAVAILABLE


# -- the task and queueing ------------------------------------------------------------

def test_enqueue_sends_chunks_on_commit_and_the_task_embeds(
        clip_on: TinyClip, user: Any, settings: Any,
        django_capture_on_commit_callbacks: Any) -> None:
    settings.PROCESSING = {**settings.PROCESSING, "CLIP_ENQUEUE_CHUNK": 2}
    files = [stored_image(user, picture(i)) for i in range(5)]
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert enqueue_embedding([f.pk for f in files] + [files[0].pk]) == 3
        assert not Embedding.objects.exists()  # nothing before the commit
    assert len(callbacks) == 3
    assert Embedding.objects.count() == 5
    result = embed_files(stored_file_ids=[str(files[0].pk)])
    assert result["status"] == "ok" and result["skipped"] == {str(files[0].pk): "already embedded"}


def test_the_task_takes_keyword_arguments_only() -> None:
    with pytest.raises(TypeError, match="keyword arguments only"):
        embed_files(["x"])
    assert embed_files.name == "processing.embed"


def test_backfill_queues_the_clean_images_without_an_embedding(
        clip_on: TinyClip, user: Any, django_capture_on_commit_callbacks: Any) -> None:
    done, todo = stored_image(user, picture(1)), stored_image(user, picture(2))
    stored_image(user, picture(3), scan=ScanStatus.PENDING)
    embed_stored_files([done.pk])
    assert pending_ids() == [str(todo.pk)]
    with django_capture_on_commit_callbacks(execute=True):
        assert enqueue_backfill() == 1
    assert pending_ids() == []


# -- text -----------------------------------------------------------------------------

def test_embed_text_matches_the_engine(clip_on: TinyClip) -> None:
    vector = embed_text("a photo of a cat")
    assert vector.shape == (512,) and vector.dtype == np.float32
    assert np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-5)
    engine = embeddings.current_embedder()
    np.testing.assert_allclose(vector, engine.embed_texts(["a photo of a cat"])[0], atol=1e-6)
    assert embeddings.embed_texts(["a", "b"]).shape == (2, 512)


def test_text_search_finds_by_cosine_with_pgvector(clip_on: TinyClip, user: Any) -> None:
    """End to end: a query vector ranks stored embeddings through the HNSW cosine opclass."""
    from pgvector.django import CosineDistance

    files = [stored_image(user, picture(i)) for i in range(3)]
    embed_stored_files([f.pk for f in files])
    query = Embedding.objects.get(stored_file=files[1]).vector
    nearest = (Embedding.objects.order_by(CosineDistance("vector", query))
               .values_list("stored_file_id", flat=True).first())
    assert nearest == files[1].pk
    assert Embedding.objects.order_by(CosineDistance("vector", embed_text("a cat"))).count() == 3


# -- health ---------------------------------------------------------------------------

def test_health_says_disabled_unavailable_or_ok(settings: Any, tiny: TinyClip, tmp_path: Path,
                                                client: Client) -> None:
    settings.CLIP_MODEL_DIR = ""
    assert check_clip().status == DISABLED
    assert client.get("/healthz").json()["checks"]["clip"]["status"] == DISABLED
    settings.CLIP_MODEL_DIR = str(tmp_path / "nowhere")
    result = check_clip()
    assert result.status == UNAVAILABLE and "does not exist" in result.detail
    incomplete = build_tiny_clip(tmp_path / "incomplete")
    (incomplete.root / "textual" / "tokenizer.json").unlink()
    settings.CLIP_MODEL_DIR = str(incomplete.root)
    result = check_clip()
    assert result.status == UNAVAILABLE and "textual/tokenizer.json" in result.detail
    settings.CLIP_MODEL_DIR = str(tmp_path)
    (tmp_path / "clip-vit-b32.onnx").write_bytes(b"not really a model")  # the old guess
    assert check_clip().status == UNAVAILABLE
    settings.CLIP_MODEL_DIR = str(tiny.root)
    assert check_clip() == check_clip().__class__(OK, "ViT-tiny__test")
    assert run_checks().results["clip"].status == OK
    body = client.get("/healthz").json()
    assert body["checks"]["clip"] == {"status": "ok", "detail": "ViT-tiny__test"}
    assert clip.loaded_embedder(str(tiny.root)) is None  # nothing was loaded for it


def test_health_notices_a_model_file_replaced_by_garbage(settings: Any, tmp_path: Path) -> None:
    model = build_tiny_clip(tmp_path / "m")
    settings.CLIP_MODEL_DIR = str(model.root)
    assert check_clip().status == OK
    (model.root / "visual" / "model.onnx").write_bytes(b"garbage, and of another size")
    result = check_clip()
    assert result.status == UNAVAILABLE and "does not look like an ONNX model" in result.detail


def test_health_of_the_open_clip_backend_names_what_is_missing(settings: Any,
                                                              tmp_path: Path) -> None:
    import importlib.util

    settings.CLIP_MODEL_DIR = str(tmp_path)
    settings.PROCESSING = {"CLIP_BACKEND": "open_clip"}
    result = check_clip()
    if importlib.util.find_spec("open_clip") is None:
        assert result.status == UNAVAILABLE and "not installed" in result.detail
    else:  # pragma: no cover - GPU installs
        assert result.status == OK
