"""Celery tasks of ai_media (imported by the worker's autodiscovery)."""

from ai_media.embedding import embed_media

__all__ = ["embed_media"]
