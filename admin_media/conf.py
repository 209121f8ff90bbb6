"""Settings of admin_media: ``settings.ADMIN_MEDIA`` overrides these defaults."""

from apps.core.conf import AppSettings

DEFAULTS = {
    # Largest upload through POST /api/admin/media (bytes).
    "MAX_FILE_BYTES": 2 * 1024**3,
    # Storage the console's uploads may fill per staff user unless an operator sets a
    # limit on the user's "admin_media" quota ledger (bytes).
    "QUOTA_BYTES": 1024**4,
    # Lifetime of the signed storage URL a media's stable file link redirects to (s).
    "SIGNED_URL_TTL": 3600,
    # Pipeline steps of uploaded files (after the virus scan); the app appends its own
    # "admin_media.media_facts", which copies the probe's facts into the media's meta.
    "STEPS": ("probe", "metadata", "variants"),
}

admin_media_settings = AppSettings("ADMIN_MEDIA", DEFAULTS)

QUOTA_BUCKET = "admin_media"
FACTS_STEP = "admin_media.media_facts"
