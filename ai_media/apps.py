from django.apps import AppConfig


class AiMediaConfig(AppConfig):
    name = "ai_media"
    verbose_name = "AI media"
    # The shape of every error this app returns (apps/core/dialects.py).
    error_dialect = "error"
    # Paths this app owns, so errors for unknown URLs under them use its dialect too.
    url_prefixes = ("/api/feed", "/api/media", "/api/similar", "/api/search", "/api/tag-categories")
