"""CLIP embeddings of stored images: the batched service, its task, and text embedding.

The worker on the ``embeddings`` queue runs ``processing.embed`` with a list of file
ids; :func:`embed_stored_files` loads those rows in one query, keeps the clean images
not yet embedded by the current model (so a re-run, or a redelivered message, does
nothing), decodes and preprocesses each (a corrupt one is skipped with its reason, never
failing the others; ``CLIP_DECODE_THREADS`` threads decode together between encoder
runs), runs the encoder on batches of ``CLIP_BATCH_SIZE`` and writes the vectors
``CLIP_WRITE_ROWS`` at a time (at least a batch) with one ``INSERT ... ON CONFLICT DO
UPDATE`` (after one locking SELECT that drops files deleted meanwhile). With no
``CLIP_MODEL_DIR`` the service reports ``disabled`` and writes nothing; a configured but
broken model folder reports ``unavailable`` with the reason (logged as an error: it needs
an operator, not a retry). Text queries are embedded by the same engine
(:func:`embed_text`).
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from apps.processing.conf import processing_settings
from apps.processing.dispatch import send_on_commit
from apps.processing.engines.clip import (
    ClipEmbedder,
    ClipModelError,
    EngineOptions,
    FloatArray,
    ImageRejected,
    get_embedder,
    inspect_model_dir,
    open_image,
    preprocess,
)
from apps.processing.models import EMBEDDING_DIMENSIONS, Embedding
from apps.processing.taskbase import platform_task
from apps.storage.blobs import blob_store
from apps.storage.errors import BlobNotFound
from apps.storage.models import MediaKind, ScanStatus, StoredFile

logger = logging.getLogger(__name__)

OK, DISABLED, UNAVAILABLE = "ok", "disabled", "unavailable"
EMBEDDABLE_KINDS = (MediaKind.IMAGE, MediaKind.GIF)

T = TypeVar("T")


class ClipDisabled(Exception):
    """CLIP_MODEL_DIR is not set: text search by CLIP is off on this install."""


# -- settings and the engine ---------------------------------------------------------

def clip_setting(key: str) -> Any:
    """A ``CLIP_*`` knob: ``settings.PROCESSING[key]``, else conf.py's default."""
    return getattr(processing_settings, key)


def clip_enabled() -> bool:
    return bool(settings.CLIP_MODEL_DIR)


def engine_options() -> EngineOptions:
    cache = str(clip_setting("CLIP_CACHE_DIR") or "")
    return EngineOptions(
        batch_size=int(clip_setting("CLIP_BATCH_SIZE")),
        threads=int(clip_setting("CLIP_THREADS")),
        quantized=bool(clip_setting("CLIP_QUANTIZED")),
        cache_dir=Path(cache) if cache else Path(settings.VAR_DIR) / "clip",
        model_name=str(clip_setting("CLIP_MODEL_NAME") or ""),
    )


def current_embedder() -> ClipEmbedder:
    """The process's embedder for the current settings (configs read, sessions lazy).

    Raises ClipDisabled when CLIP is not configured, ClipModelError when the folder is
    incomplete or inconsistent.
    """
    if not clip_enabled():
        raise ClipDisabled("CLIP_MODEL_DIR is not set")
    return get_embedder(
        str(settings.CLIP_MODEL_DIR), engine_options(),
        backend=str(clip_setting("CLIP_BACKEND")),
        open_clip_arch=str(clip_setting("CLIP_OPEN_CLIP_ARCH")),
        open_clip_pretrained=str(clip_setting("CLIP_OPEN_CLIP_PRETRAINED")),
        device=str(clip_setting("CLIP_DEVICE")),
    )


def clip_status() -> tuple[str, str]:
    """(ok|disabled|unavailable, detail) without loading a model: for /healthz."""
    if not clip_enabled():
        return DISABLED, "CLIP_MODEL_DIR not set"
    backend = str(clip_setting("CLIP_BACKEND"))
    if backend == "open_clip":
        import importlib.util

        missing = [m for m in ("torch", "open_clip") if importlib.util.find_spec(m) is None]
        if missing:
            return UNAVAILABLE, f"open_clip backend: {', '.join(missing)} not installed"
        arch, tag = clip_setting("CLIP_OPEN_CLIP_ARCH"), clip_setting("CLIP_OPEN_CLIP_PRETRAINED")
        return OK, f"{arch}__{tag} (open_clip)"
    if backend != "onnx":
        return UNAVAILABLE, f"unknown CLIP_BACKEND {backend!r}"
    try:
        summary = inspect_model_dir(settings.CLIP_MODEL_DIR, engine_options())
    except ClipModelError as exc:
        return UNAVAILABLE, str(exc)[:300]
    if summary.dim != EMBEDDING_DIMENSIONS:
        return UNAVAILABLE, (f"{summary.name} embeds in {summary.dim} dimensions; the "
                             f"embedding table holds {EMBEDDING_DIMENSIONS}")
    return OK, summary.name


def embed_texts(texts: Sequence[str]) -> FloatArray:
    """[N, 512] L2-normalised float32 text embeddings; raises ClipDisabled/ClipModelError."""
    return current_embedder().embed_texts(list(texts))


def embed_text(text: str) -> FloatArray:
    """A search query as a 512-d unit vector, comparable (cosine) with image embeddings."""
    return embed_texts([text])[0]


# -- the service ----------------------------------------------------------------------

@dataclass
class EmbedReport:
    """What one call did: ``status`` ok/disabled/unavailable, ids embedded, ids skipped."""

    status: str
    model: str = ""
    detail: str = ""
    embedded: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # id -> why
    batches: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"status": self.status, "model": self.model, "detail": self.detail,
                "embedded": list(self.embedded), "skipped": dict(self.skipped),
                "batches": self.batches}


def embed_stored_files(ids: Iterable[str | uuid.UUID], *,
                       embedder: ClipEmbedder | None = None) -> EmbedReport:
    """Embed the clean images among ``ids`` that the current model has not embedded yet.

    ``embedder`` is for callers that hold one (the bench); by default it is the
    process's, from settings. Storage and database outages propagate (the task retries,
    and recomputes the vectors not written yet, at most ``CLIP_WRITE_ROWS``); a bad image
    is skipped with its reason; a bad model folder ends ``unavailable``, after writing
    the vectors computed before.
    """
    if embedder is None:
        if not clip_enabled():
            return EmbedReport(DISABLED, detail="CLIP_MODEL_DIR not set")
        try:
            embedder = current_embedder()
        except ClipModelError as exc:
            logger.error("CLIP model unavailable: %s", exc)
            return EmbedReport(UNAVAILABLE, detail=str(exc)[:500])
    if embedder.dim != EMBEDDING_DIMENSIONS:
        return EmbedReport(UNAVAILABLE, model=embedder.model_name,
                           detail=f"model embeds in {embedder.dim} dimensions, the table "
                                  f"holds {EMBEDDING_DIMENSIONS}")
    report = EmbedReport(OK, model=embedder.model_name)
    files = _select(ids, embedder.model_name, report)
    pending: list[tuple[StoredFile, np.ndarray]] = []
    try:
        size = max(1, int(clip_setting("CLIP_BATCH_SIZE")))
        rows = max(size, int(clip_setting("CLIP_WRITE_ROWS")))
        for decoded in _decoded_batches(files, size, embedder):
            pending.extend(_embed_batch(decoded, embedder, report))
            if len(pending) >= rows:
                _flush(pending, embedder.model_name, report)
    except ClipModelError as exc:  # a session that does not load or answers wrongly
        logger.error("CLIP model unavailable: %s", exc)
        report.status, report.detail = UNAVAILABLE, str(exc)[:500]
    _flush(pending, embedder.model_name, report)
    return report


def _parse_ids(ids: Iterable[str | uuid.UUID], report: EmbedReport) -> list[uuid.UUID]:
    parsed: dict[uuid.UUID, None] = {}
    for raw in ids:
        try:
            parsed[raw if isinstance(raw, uuid.UUID) else uuid.UUID(str(raw))] = None
        except ValueError:
            report.skipped[str(raw)] = "not a file id"
    return list(parsed)


def _select(ids: Iterable[str | uuid.UUID], model: str, report: EmbedReport
            ) -> list[StoredFile]:
    """One query: the rows, with the model of any embedding they have; sort out the rest."""
    wanted = _parse_ids(ids, report)
    rows = {row.pk: row for row in StoredFile.objects.filter(pk__in=wanted)
            .only("id", "key", "kind", "scan_status", "is_quarantined")
            .annotate(embedded_by=F("embedding__model"))}
    keep: list[StoredFile] = []
    for pk in wanted:
        row = rows.get(pk)
        why = _why_not(row, model)
        if why:
            report.skipped[str(pk)] = why
        elif row is not None:
            keep.append(row)
    return keep


def _why_not(row: StoredFile | None, model: str) -> str:
    if row is None:
        return "gone"
    if row.kind not in EMBEDDABLE_KINDS:
        return f"not an image ({row.kind})"
    if row.scan_status != ScanStatus.CLEAN or row.is_quarantined:
        return f"not clean (scan {row.scan_status})"
    if getattr(row, "embedded_by", None) == model:
        return "already embedded"
    return ""


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def load_pixels(stored: StoredFile, embedder: ClipEmbedder) -> np.ndarray:
    """Decode (JPEG in draft mode) and preprocess one stored image; ImageRejected if bad."""
    config = embedder.preprocess_config
    with blob_store.open(stored) as handle:
        image = open_image(handle, size=config.size, draft=bool(clip_setting("CLIP_JPEG_DRAFT")),
                           formats=tuple(processing_settings.IMAGE_FORMATS),
                           max_pixels=int(processing_settings.MAX_IMAGE_PIXELS))
        try:
            return preprocess(image, config)
        except (OSError, ValueError, MemoryError) as exc:
            raise ImageRejected(f"cannot convert the image: {exc}") from None
        finally:
            image.close()


Decoded = tuple[StoredFile, np.ndarray | None, str]  # (file, pixels or None, why not)


def _decode(stored: StoredFile, embedder: ClipEmbedder) -> Decoded:
    try:
        return stored, load_pixels(stored, embedder), ""
    except (ImageRejected, BlobNotFound) as exc:
        return stored, None, str(exc) or type(exc).__name__


def _decoded_batches(files: Sequence[StoredFile], size: int, embedder: ClipEmbedder
                     ) -> Iterator[list[Decoded]]:
    """Each batch decoded and preprocessed, on ``CLIP_DECODE_THREADS`` threads at once.

    Decoding is single-threaded work (Pillow and NumPy release the GIL) and inference
    keeps every core busy, so decoding *during* a run only slows the run down by about as
    much: a preempted intra-op thread stalls the other at the next barrier. The images are
    decoded between runs instead, by every decode thread together, in groups of whole
    batches of at least two images a thread (so batch 1 decodes in parallel too); ONNX
    Runtime's threads stop spinning when a run returns, which leaves the cores free.
    Storage errors surface here, in the caller's thread, so the task still retries them.
    """
    workers = int(clip_setting("CLIP_DECODE_THREADS"))
    if workers <= 1:
        for batch in _chunks(files, size):
            yield [_decode(stored, embedder) for stored in batch]
        return
    group = size * -(-2 * workers // size)
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="clip-decode")
    try:
        for start in range(0, len(files), group):
            decoded = list(pool.map(functools.partial(_decode, embedder=embedder),
                                    files[start:start + group]))
            yield from (list(batch) for batch in _chunks(decoded, size))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _embed_batch(decoded: list[Decoded], embedder: ClipEmbedder, report: EmbedReport
                 ) -> list[tuple[StoredFile, np.ndarray]]:
    """Run one batch through the encoder: (file, vector) of each image that decoded."""
    pixels, ready = [], []
    for stored, array, reason in decoded:
        if array is None:
            logger.warning("not embedding %s: %s", stored.pk, reason)
            report.skipped[str(stored.pk)] = reason
            continue
        pixels.append(array)
        ready.append(stored)
    if not ready:
        return []
    vectors = embedder.embed_pixels(np.stack(pixels))
    report.batches += 1
    return list(zip(ready, vectors, strict=True))


def _flush(pending: list[tuple[StoredFile, np.ndarray]], model: str,
           report: EmbedReport) -> None:
    """Write the pending rows (one upsert) and empty the list."""
    if not pending:
        return
    files = [stored for stored, _ in pending]
    written = _write(files, np.stack([vector for _, vector in pending]), model)
    pending.clear()
    for stored in files:
        if stored.pk in written:
            report.embedded.append(str(stored.pk))
        else:
            report.skipped[str(stored.pk)] = "gone"


def _write(files: Sequence[StoredFile], vectors: np.ndarray, model: str) -> set[uuid.UUID]:
    """Upsert a batch's rows in one INSERT; return the ids written.

    The foreign key to StoredFile is checked at commit (Django makes it deferrable), so a
    file deleted while its image was decoded would fail the whole batch then. Instead the
    live rows are locked first (``FOR NO KEY UPDATE``, in pk order: no deadlock between
    two workers, no delete until the commit) and only theirs are written.
    """
    now = timezone.now()
    with transaction.atomic():
        alive = set(StoredFile.objects.select_for_update(no_key=True)
                    .filter(pk__in=[stored.pk for stored in files]).order_by("pk")
                    .values_list("pk", flat=True))
        rows = [Embedding(stored_file_id=stored.pk, model=model, vector=vector, created_at=now)
                for stored, vector in zip(files, vectors, strict=True) if stored.pk in alive]
        if rows:
            Embedding.objects.bulk_create(
                rows, update_conflicts=True, unique_fields=["stored_file"],
                update_fields=["model", "vector", "created_at"])
    return {row.stored_file_id for row in rows}


# -- the task and how to queue it ----------------------------------------------------

@platform_task("processing.embed")
def embed_files(*, stored_file_ids: list[str]) -> dict[str, Any]:
    """Worker side (queue ``embeddings``): embed these files; idempotent."""
    report = embed_stored_files(stored_file_ids)
    if report.status != OK:
        logger.info("processing.embed: %s (%s)", report.status, report.detail)
    return report.as_dict()


def enqueue_embedding(ids: Iterable[str | uuid.UUID]) -> int:
    """Queue ``processing.embed`` for ``ids``, ``CLIP_ENQUEUE_CHUNK`` per message, once the
    current transaction commits. Returns the number of messages; 0 when CLIP is off.
    """
    if not clip_enabled():
        return 0
    unique = list(dict.fromkeys(str(i) for i in ids))
    chunks = list(_chunks(unique, max(1, int(clip_setting("CLIP_ENQUEUE_CHUNK")))))
    for chunk in chunks:
        send_on_commit(embed_files, kwargs={"stored_file_ids": list(chunk)})
    return len(chunks)


def pending_ids(limit: int = 1000) -> list[str]:
    """Clean images with no embedding from the current model (new model, late config)."""
    model = current_embedder().model_name
    rows = (StoredFile.objects.filter(scan_status=ScanStatus.CLEAN, is_quarantined=False,
                                      kind__in=EMBEDDABLE_KINDS)
            .exclude(embedding__model=model).order_by("created_at")
            .values_list("pk", flat=True)[:limit])
    return [str(pk) for pk in rows]


def enqueue_backfill(limit: int = 1000) -> int:
    """Queue up to ``limit`` pending files (see :func:`pending_ids`); 0 when CLIP is off."""
    if not clip_enabled():
        return 0
    return enqueue_embedding(pending_ids(limit))
