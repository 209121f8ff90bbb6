"""Settings of media_library: ``settings.MEDIA_LIBRARY`` overrides these defaults."""

from apps.core.conf import AppSettings

DEFAULTS = {
    # Days an object stays in the recycle bin before the daily purge (03:00) deletes it.
    "RETENTION_DAYS": 30,
    # Storage a workspace may fill with uploaded items unless an operator sets a limit
    # on its "media_library" quota ledger (bytes; charged to the workspace's ledger).
    "QUOTA_BYTES": 5 * 1024**3,
    # Largest single upload (bytes).
    "MAX_FILE_BYTES": 200 * 1024**2,
    # Lifetime of the signed URLs of uploaded files (seconds).
    "SIGNED_URL_TTL": 3600,
    "THUMBNAIL_SPEC": "thumb-256",
    "VARIANT_FORMAT": "webp",
    # Pipeline steps of uploaded files (after the virus scan); the app appends its own
    # "media_library.item_facts", which copies the probe's facts onto the item.
    "STEPS": ("probe", "metadata", "variants"),
}

media_library_settings = AppSettings("MEDIA_LIBRARY", DEFAULTS)

QUOTA_BUCKET = "media_library"
LIST_DEFAULT_LIMIT, LIST_MAX_LIMIT = 50, 100
RECENT_DEFAULT_LIMIT = 20
BULK_MAX_IDS = 100
