"""The user's library of generated images and videos (spec user_library.md)."""
from django.apps import AppConfig


class UserLibraryConfig(AppConfig):
    name = "user_library"
    verbose_name = "User library"
    # The shape of every error this app returns (apps/core/dialects.py).
    error_dialect = "success"
    # Paths this app owns, so errors for unknown URLs under them use its dialect too.
    url_prefixes = ("/api/library",)

    def ready(self) -> None:
        from apps.processing import registry
        from apps.storage import quota
        from user_library.conf import QUOTA_BUCKET, user_library_settings

        quota.register_bucket(QUOTA_BUCKET,
                              default_limit=lambda: int(user_library_settings.QUOTA_BYTES))
        registry.register_media_model("user_library.LibraryItem", file_field="stored_file",
                                      steps=tuple(user_library_settings.STEPS))
