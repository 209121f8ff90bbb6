"""Settings of author_media: ``settings.AUTHOR_MEDIA`` overrides these defaults."""

from apps.core.conf import AppSettings

GIB = 1024**3
MIB = 1024**2

DEFAULTS = {
    # Storage tiers: the limits a user's StorageUsage starts with (bytes). An operator
    # may change one user's limits in the admin (the row's tier becomes "custom").
    "TIERS": {
        "free": {"storage": 1 * GIB, "bandwidth": 10 * GIB},
        "pro": {"storage": 50 * GIB, "bandwidth": 500 * GIB},
        "business": {"storage": 500 * GIB, "bandwidth": 5000 * GIB},
    },
    "DEFAULT_TIER": "free",
    # Days a soft-deleted file keeps its bytes (and its quota) before the nightly purge
    # (processing.purge_recycle_bin) deletes it for good.
    "RETENTION_DAYS": 30,
    # A warning time is set when usage crosses this share of its limit (and cleared
    # when it falls below again).
    "WARNING_RATIO": 0.8,
    # Largest file through POST /v1/media/upload (one request); larger files go through
    # multipart or tus, up to MAX_FILE_BYTES.
    "MAX_DIRECT_UPLOAD_BYTES": 512 * MIB,
    "MAX_FILE_BYTES": 5 * GIB,
    # How long a presigned/multipart/tus upload may stay unfinished before its quota
    # reservation is released and its parts deleted (seconds).
    "UPLOAD_SESSION_TTL": 24 * 3600,
    # Lifetime of presigned upload URLs and of signed download URLs (seconds).
    "PRESIGNED_TTL": 3600,
    "SIGNED_URL_TTL": 3600,
    # Multipart: part sizes (S3's rules: at least 5 MiB except the last; at most 10,000).
    "MIN_PART_BYTES": 5 * MIB,
    "MAX_PARTS": 10_000,
    # The variants shown as thumbnailUrl and placeholderUrl.
    "THUMBNAIL_SPEC": "thumb-256",
    "PLACEHOLDER_SPEC": "preview-1024",
    "VARIANT_FORMAT": "webp",
    # Where presigned (local storage), multipart (local storage) and tus uploads wait
    # until they are complete: a local directory shared by the web processes and the
    # worker; empty means <VAR_DIR>/uploads.
    "UPLOAD_STAGING_DIR": "",
    # Pipeline steps after the virus scan.
    "STEPS": ("probe", "sanitize", "metadata", "variants"),
}

author_media_settings = AppSettings("AUTHOR_MEDIA", DEFAULTS)

QUOTA_BUCKET = "author_media"
# Kinds of files an author may store: media, documents and downloadable files (epub,
# zip). Active content that a browser would run is refused whatever the kind.
REFUSED_TYPES = ("text/html", "application/xml", "application/javascript")
REFUSED_EXTENSIONS = (".html", ".htm", ".xhtml", ".shtml", ".js", ".mjs", ".cjs", ".xml",
                      ".xsl", ".php", ".hta")
