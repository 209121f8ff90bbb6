"""Settings of the storage app: ``settings.STORAGE`` overrides these defaults."""

from apps.core.conf import AppSettings

DEFAULTS = {
    # Lifetime of signed URLs, in seconds.
    "SIGNED_URL_TTL": 3600,
    # Hard ceiling for one stored file, in bytes (callers may pass a lower max_size).
    "MAX_UPLOAD_SIZE": 5 * 1024**3,
    # Chunk size of streamed reads and writes.
    "CHUNK_SIZE": 1024 * 1024,
    # Default per-owner quota when the ledger has no explicit limit.
    "DEFAULT_QUOTA_BYTES": 1024**3,
    # How long an unconsumed quota reservation holds bytes before the sweeper frees it.
    "RESERVATION_TTL": 3600,
    # How long bytes being written may stay unrecorded before the sweeper deletes them as
    # the orphans of a crashed write (longer than the slowest upload may stream).
    "ORPHAN_TTL": 6 * 3600,
    # Kinds that put() accepts when the caller does not narrow them.
    "ALLOWED_KINDS": ("image", "video", "gif", "document", "other"),
}

storage_settings = AppSettings("STORAGE", DEFAULTS)
