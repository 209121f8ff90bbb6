"""The author's files module: uploads, folders, processing, scanning, storage accounting.

Spec: author_media.md.
"""
from django.apps import AppConfig

FACTS_STEP = "author_media.file_facts"


class AuthorMediaConfig(AppConfig):
    name = "author_media"
    verbose_name = "Author media"
    # The shape of every error this app returns (apps/core/dialects.py).
    error_dialect = "problem"
    # Paths this app owns, so errors for unknown URLs under them use its dialect too.
    url_prefixes = ("/v1",)

    def ready(self) -> None:
        from apps.processing import registry
        from apps.processing.signals import file_transitioned
        from apps.storage import quota
        from apps.storage.signals import bytes_served, usage_changed
        from author_media import services, sync, usage
        from author_media.conf import QUOTA_BUCKET, author_media_settings

        # The ledger enforces the tier's storage limit at upload time, variants included
        # (services.prepare_quota gives it the user's limit); StorageUsage mirrors it.
        quota.register_bucket(
            QUOTA_BUCKET, count_variants=True,
            default_limit=lambda: usage.tier_limits(
                str(author_media_settings.DEFAULT_TIER))["storage"])
        registry.register_step(FACTS_STEP, sync.copy_file_facts)
        registry.register_media_model(
            "author_media.MediaFile", file_field="stored_file",
            steps=(*author_media_settings.STEPS, FACTS_STEP),
            retention_days=int(author_media_settings.RETENTION_DAYS),
            purge=services.media_file_purge)
        file_transitioned.connect(sync.on_transition, dispatch_uid="author_media.transition")
        usage_changed.connect(sync.on_usage_changed, dispatch_uid="author_media.usage")
        bytes_served.connect(sync.on_bytes_served, dispatch_uid="author_media.bandwidth")
