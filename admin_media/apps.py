from django.apps import AppConfig


class AdminMediaConfig(AppConfig):
    name = "admin_media"
    verbose_name = "Admin media"
    # The shape of every error this app returns (apps/core/dialects.py).
    error_dialect = "envelope"
    # Paths this app owns, so errors for unknown URLs under them use its dialect too.
    url_prefixes = ("/api/admin/media",)
    # The spec is Chinese: its messages unless the caller asks for English
    # (apps/core/languages.py).
    default_language = "zh-hans"
