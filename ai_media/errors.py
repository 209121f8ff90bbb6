"""Errors of the ai_media API (rendered ``{"error": "…"}``)."""

from apps.core.errors import DomainError, NotFoundError


class MediaNotFound(NotFoundError):
    default_message = "Media not found"


class SemanticSearchUnavailable(DomainError):
    status_code = 503
    code = "semantic_search_unavailable"
    default_message = "Semantic search is not available: no CLIP model is configured"
