"""Settings of the accounts app: ``settings.ACCOUNTS`` overrides these defaults."""

from apps.core.conf import AppSettings

DEFAULTS = {
    # Self-service sign-up at POST /api/auth/register/.
    "REGISTRATION_OPEN": True,
    # Visible part of an API key ("mpk_<prefix>_<secret>") and the secret's entropy.
    "API_KEY_PREFIX_LENGTH": 8,
    "API_KEY_SECRET_BYTES": 32,
    # last_used_at is written at most this often per key, to keep reads write-free.
    "API_KEY_TOUCH_INTERVAL": 60,
    # Username of the staff principal that API_SECRET_KEY authenticates as.
    "API_SECRET_USERNAME": "api-secret-key",
}

accounts_settings = AppSettings("ACCOUNTS", DEFAULTS)
