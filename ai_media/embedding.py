"""Embeddings for items imported without one: fetched from their URL, embedded by CLIP.

``POST /api/media`` items that carry no ``clip_embedding`` are queued (after commit) to
``ai_media.embed_media`` on the ``embeddings`` queue when a CLIP model is configured;
the task downloads the image (a video's ``thumbnail_url``) through the platform's
SSRF-safe fetcher — a user-supplied URL never reaches the operator's network — decodes
it with the CLIP preprocessing and writes the vector. A URL that cannot be fetched or
decoded is recorded in ``media.embedding_error`` and not retried until the item changes;
network timeouts are retried with backoff.
"""

from __future__ import annotations

import io
import logging
from typing import Any

from django.db import transaction

from ai_media.models import Media, MediaEmbedding, MediaType
from apps.processing.conf import processing_settings
from apps.processing.dispatch import send_on_commit
from apps.processing.embeddings import ClipDisabled, clip_enabled, current_embedder
from apps.processing.engines.clip import ImageRejected, embed_images, open_image
from apps.processing.engines.fetch import FetchError, fetch
from apps.processing.errors import TransientError
from apps.processing.taskbase import platform_task

logger = logging.getLogger(__name__)

IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp", "image/avif")
ENQUEUE_CHUNK = 32


def enqueue_media_embeddings(media_ids: list[str]) -> int:
    """Queue embedding of ``media_ids`` once the current transaction commits; 0 when CLIP
    is not configured (the items stay without an embedding: similar returns [] for them)."""
    if not clip_enabled() or not media_ids:
        return 0
    chunks = [media_ids[i:i + ENQUEUE_CHUNK] for i in range(0, len(media_ids), ENQUEUE_CHUNK)]
    for chunk in chunks:
        send_on_commit(embed_media, kwargs={"media_ids": chunk}, queue="embeddings")
    return len(media_ids)


def _source_url(media: Media) -> str | None:
    if media.media_type == MediaType.VIDEO:
        return media.thumbnail_url
    return media.media_url


def _load(url: str, size: int) -> Any:
    result = fetch(url, allowed_content_types=IMAGE_TYPES)
    return open_image(io.BytesIO(result.body), size=size,
                      formats=list(processing_settings.IMAGE_FORMATS),
                      max_pixels=int(processing_settings.MAX_IMAGE_PIXELS))


@platform_task("ai_media.embed_media")
def embed_media(*, media_ids: list[str]) -> dict[str, Any]:
    """Embed those of ``media_ids`` that still have no embedding and no recorded error."""
    try:
        embedder = current_embedder()
    except ClipDisabled:
        return {"status": "disabled"}
    todo = list(Media.objects.filter(pk__in=media_ids, embedding__isnull=True,
                                     embedding_error=""))
    done, failed = 0, 0
    size = int(embedder.preprocess_config.size)
    for media in todo:
        url = _source_url(media)
        try:
            if not url:
                raise ImageRejected("a video needs a thumbnail_url to be embedded")
            image = _load(url, size)
        except FetchError as exc:
            if exc.retryable:
                raise TransientError(f"fetching {media.pk}: {exc.message}") from exc
            _record_error(media, exc.message)
            failed += 1
            continue
        except ImageRejected as exc:
            _record_error(media, str(exc))
            failed += 1
            continue
        vector = embed_images(embedder, [image])[0]
        with transaction.atomic():
            if Media.objects.select_for_update().filter(pk=media.pk, media_url=media.media_url,
                                                        thumbnail_url=media.thumbnail_url
                                                        ).exists():
                MediaEmbedding.objects.update_or_create(media_id=media.pk,
                                                        defaults={"embedding": vector})
                done += 1
    return {"status": "ok", "embedded": done, "failed": failed}


def _record_error(media: Media, reason: str) -> None:
    logger.info("no embedding for media %s: %s", media.pk, reason)
    Media.objects.filter(pk=media.pk, media_url=media.media_url,
                         thumbnail_url=media.thumbnail_url).update(embedding_error=reason[:500])
