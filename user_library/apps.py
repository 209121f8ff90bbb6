from django.apps import AppConfig


class UserLibraryConfig(AppConfig):
    name = "user_library"
    verbose_name = "User library"
    # The shape of every error this app returns (apps/core/dialects.py).
    error_dialect = "success"
    # Paths this app owns, so errors for unknown URLs under them use its dialect too.
    url_prefixes = ("/api/library",)
