"""The workspace media library: categories, items, templates, snippets, links, recycle bin.

Spec: media_library.md.
"""
from django.apps import AppConfig

BINNED_MODELS = ("MediaItem", "Template", "TextSnippet", "SavedLink")
FACTS_STEP = "media_library.item_facts"


class MediaLibraryConfig(AppConfig):
    name = "media_library"
    verbose_name = "Workspace media library"
    # The shape of every error this app returns (apps/core/dialects.py).
    error_dialect = "nest"
    # Paths this app owns, so errors for unknown URLs under them use its dialect too.
    url_prefixes = ("/workspaces/*/media-library",)

    def ready(self) -> None:
        from apps.processing import registry
        from apps.storage import quota
        from media_library.conf import QUOTA_BUCKET, media_library_settings
        from media_library.uploads import copy_probed_facts

        quota.register_bucket(QUOTA_BUCKET,
                              default_limit=lambda: int(media_library_settings.QUOTA_BYTES))
        retention = int(media_library_settings.RETENTION_DAYS)
        # uploaded items get the probe's facts once it has run (whatever STEPS says)
        registry.register_step(FACTS_STEP, copy_probed_facts)
        steps = (*media_library_settings.STEPS, FACTS_STEP)
        # The daily purge (apps.processing.tasks.purge_recycle_bin) finds binned rows
        # through these; an uploaded item's file goes with it (tombstoned, so a failed
        # storage delete is retried without keeping the row).
        for name in BINNED_MODELS:
            registry.register_media_model(
                f"media_library.{name}", file_field="stored_file" if name == "MediaItem" else "",
                steps=steps, retention_days=retention)
        registry.register_link_model("media_library.SavedLink")
