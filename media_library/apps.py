from django.apps import AppConfig


class MediaLibraryConfig(AppConfig):
    name = "media_library"
    verbose_name = "Workspace media library"
    # The shape of every error this app returns (apps/core/dialects.py).
    error_dialect = "nest"
    # Paths this app owns, so errors for unknown URLs under them use its dialect too.
    url_prefixes = ("/workspaces/*/media-library",)
