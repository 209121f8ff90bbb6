from django.apps import AppConfig


class AuthorMediaConfig(AppConfig):
    name = "author_media"
    verbose_name = "Author media"
    # The shape of every error this app returns (apps/core/dialects.py).
    error_dialect = "problem"
    # Paths this app owns, so errors for unknown URLs under them use its dialect too.
    url_prefixes = ("/v1",)
