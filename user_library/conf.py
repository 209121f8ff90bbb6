"""Settings of user_library: ``settings.USER_LIBRARY`` overrides these defaults."""

from apps.core.conf import AppSettings

DEFAULTS = {
    # Storage each user may fill with library items unless an operator sets a limit on
    # the user's "library" quota ledger in the admin (bytes).
    "QUOTA_BYTES": 1024**3,
    # Largest single item (bytes): images and videos alike.
    "MAX_FILE_BYTES": 500 * 1024**2,
    # Lifetime of the signed URLs every item carries (seconds).
    "SIGNED_URL_TTL": 3600,
    # The processing variant specs whose WebP renderings are offered as thumbnail_url
    # and preview_url (apps/processing VARIANT_SPECS).
    "THUMBNAIL_SPEC": "thumb-256",
    "PREVIEW_SPEC": "preview-1024",
    "VARIANT_FORMAT": "webp",
    # Pipeline steps of library files (after the virus scan). ``embed`` queues the CLIP
    # embedding that ``GET /api/library/<id>/similar`` compares (a no-op, recorded as
    # "disabled", when no CLIP model is configured).
    "STEPS": ("probe", "metadata", "variants", "embed"),
}

user_library_settings = AppSettings("USER_LIBRARY", DEFAULTS)

QUOTA_BUCKET = "library"  # the users' quota ledgers this app charges (apps/storage/quota.py)
BATCH_MAX_IDS = 20  # the spec: at most 20 items per batch delete
LIST_DEFAULT_LIMIT, LIST_MAX_LIMIT = 20, 100
SIMILAR_DEFAULT_LIMIT, SIMILAR_MAX_LIMIT = 12, 50
