"""The admin media console API (spec admin_media.md)."""
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

    def ready(self) -> None:
        from admin_media.conf import FACTS_STEP, QUOTA_BUCKET, admin_media_settings
        from admin_media.ingest import copy_probed_facts
        from apps.processing import registry
        from apps.storage import quota

        quota.register_bucket(QUOTA_BUCKET,
                              default_limit=lambda: int(admin_media_settings.QUOTA_BYTES))
        registry.register_step(FACTS_STEP, copy_probed_facts)
        # soft deletes keep the file (the spec): no recycle-bin retention, no purge
        registry.register_media_model("admin_media.Media", file_field="stored_file",
                                      steps=(*admin_media_settings.STEPS, FACTS_STEP))
